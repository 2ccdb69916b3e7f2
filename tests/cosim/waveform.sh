#!/usr/bin/env bash
# `cosim --wave`: the RTL engine builds a traced runner for a run that asks for a waveform (the
# untraced runners of the other tests cannot write one) and the FST file it writes opens as FST:
# its first block is a header block (type 0) of 329 bytes (FST's fixed header length, gtkwave's
# fstapi.c). The co-simulation still agrees. Args: BIN_DIR MODELS_DIR SOURCE_DIR [DATA_DIR].
set -euo pipefail
bin=$1 src=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin/cosim" --arch "$src/configs/test/cosim_m4x5.yaml" --gemm 3,7,9 --seed 2 --engines golden,rtl --wave "$out/w.fst"
[ -s "$out/w.fst" ] || { echo "waveform: no FST file written"; exit 1; }
header=$(od -An -tx1 -N9 "$out/w.fst" | tr -d ' \n')
[ "$header" = "000000000000000149" ] || { echo "waveform: $out/w.fst does not start with an FST header block ($header)"; exit 1; }
echo "waveform: $(stat -c %s "$out/w.fst") bytes of FST"
