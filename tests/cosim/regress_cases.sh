#!/usr/bin/env bash
# tests/regress/: every divergence ever fixed, kept as a minimal case that must pass forever.
# Each case folder holds `args` (cosim arguments; configs/ paths relative to the source tree) and a
# README.md saying what diverged and why. Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 src=$3
failures=0 cases=0
for dir in "$src"/tests/regress/*/; do
  cases=$((cases + 1))
  args=$(sed "s|configs/|$src/configs/|g" "$dir/args")
  if out=$("$bin/cosim" $args 2>&1); then
    echo "PASS $(basename "$dir")"
  else
    echo "FAIL $(basename "$dir"): cosim $args"; echo "$out"; failures=$((failures + 1))
  fi
done
echo "regression cases: $cases, $failures failed"
[ $cases -gt 0 ] && [ $failures -eq 0 ]
