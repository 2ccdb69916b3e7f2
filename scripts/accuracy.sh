#!/usr/bin/env bash
# Regenerates the measured part of docs/accuracy.md: `evaluate --all` on stories260K writes
# docs/accuracy/results{.csv,-layers.csv,.md,.gp,.svg}, and the table between the
# "evaluate:begin" and "evaluate:end" markers of docs/accuracy.md is replaced by the new one.
# Usage: scripts/accuracy.sh [BUILD_DIR] [MODELS_DIR]   (defaults: build, ../shared/models; run
# from the repository root). Takes about 2 minutes on 2 cores.
set -euo pipefail
build=${1:-build}
models=${2:-../shared/models}
out=docs/accuracy
mkdir -p "$out"
"$build/bin/evaluate" --checkpoint "$models/tinyllamas/stories260K.bin" --all --out "$out/results"
rm -f docs/accuracy.md.tmp
awk -v table="$out/results.md" '
  /<!-- evaluate:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
  /<!-- evaluate:end -->/ { skip = 0 }
  !skip { print }
' docs/accuracy.md > docs/accuracy.md.tmp
mv docs/accuracy.md.tmp docs/accuracy.md
rm "$out/results.md"
echo "updated docs/accuracy.md and $out/"
