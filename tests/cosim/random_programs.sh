#!/usr/bin/env bash
# Randomised co-simulation: random GEMM shapes and seeds on small arrays whose buffers are small
# enough to force single slots and stalls, every PE kind. A failure prints the seed; the printed
# cosim command reproduces it. Args: BIN_DIR MODELS_DIR SOURCE_DIR [DATA_DIR [SEEDS]] (ctest passes
# the data folder fourth, as to every cosim script).
set -uo pipefail
bin=$1 src=$3 seeds=${5:-12}
case $seeds in '' | *[!0-9]*) echo "random_programs: SEEDS '$seeds' is not a count"; exit 1 ;; esac
# The archs are the presets configs/test/cosim_*.yaml (the ctest fixtures rtl_runner.cosim_* build their runners).
archs=("$src"/configs/test/cosim_*.yaml)
[ -f "${archs[0]}" ] || { echo "no configs/test/cosim_*.yaml in $src"; exit 1; }
failures=0
for a in "${archs[@]}"; do
  for seed in $(seq 1 "$seeds"); do
    m=$(( (seed * 7) % 13 + 1 )) n=$(( (seed * 5) % 11 + 2 )) k=$(( (seed * 11) % 29 + 1 ))
    cmd="$bin/cosim --arch $a --gemm $m,$n,$k --seed $seed"
    if out=$($cmd 2>&1); then
      echo "PASS seed $seed $(basename "$a" .yaml) M=$m N=$n K=$k"
    else
      echo "FAIL seed $seed: $cmd"; echo "$out"; failures=$((failures + 1))
    fi
  done
done
runs=$(( ${#archs[@]} * seeds ))
echo "random programs: $runs runs, $failures failed"
[ $runs -gt 0 ] && [ $failures -eq 0 ]
