#!/usr/bin/env bash
# Randomised co-simulation: random GEMM shapes and seeds on small arrays whose buffers are small
# enough to force single slots and stalls, every PE kind. A failure prints the seed; the printed
# cosim command reproduces it. Args: BIN_DIR MODELS_DIR SOURCE_DIR [SEEDS].
set -uo pipefail
bin=$1 src=$3 seeds=${4:-12}
small="--set buffers.weight_bytes=256 --set buffers.act_bytes=256 --set buffers.out_bytes=1024 --set buffers.scale_bytes=128"
archs=(
  "fineq.yaml --set array.rows=6 --set array.cols=4 --set dram.bytes_per_cycle=4 --set dram.latency_cycles=7"
  "fineq.yaml --set array.rows=3 --set array.cols=5 --set pe.window=fixed --set dram.latency_cycles=0"
  "int8.yaml --set array.rows=4 --set array.cols=5 --set dram.bytes_per_cycle=8 --set dram.latency_cycles=3"
  "int4.yaml --set pe.weight_bits=3 --set array.rows=8 --set array.cols=3 --set dram.bytes_per_cycle=2"
)
failures=0
for a in "${archs[@]}"; do
  for seed in $(seq 1 "$seeds"); do
    m=$(( (seed * 7) % 13 + 1 )) n=$(( (seed * 5) % 11 + 2 )) k=$(( (seed * 11) % 29 + 1 ))
    cmd="$bin/cosim --arch $src/configs/$a $small --gemm $m,$n,$k --seed $seed"
    if out=$($cmd 2>&1); then
      echo "PASS seed $seed $a M=$m N=$n K=$k"
    else
      echo "FAIL seed $seed: $cmd"; echo "$out"; failures=$((failures + 1))
    fi
  done
done
echo "random programs: $failures failed"
[ $failures -eq 0 ]
