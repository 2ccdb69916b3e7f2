#!/usr/bin/env bash
# The co-simulation corpus: every linear layer of stories260K (real weights) at 1 and 16 tokens on
# the FineQ preset (tile and fixed window), the INT8 and INT4 baselines and the bit-serial preset; golden, fast, SystemC
# and RTL must agree (bytes, per-op cycles, action counts). Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 models=$2 src=$3
ckpt="$models/tinyllamas/stories260K.bin"
if [ ! -f "$ckpt" ]; then echo "SKIP: $ckpt not found (configure with -DFQ_MODELS_DIR=...)"; exit 77; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/quantize" --checkpoint "$ckpt" --method fineq --out "$work/fineq.q" >/dev/null || exit 1
"$bin/quantize" --checkpoint "$ckpt" --method rtn --bits 8 --out "$work/int8.q" >/dev/null || exit 1
"$bin/quantize" --checkpoint "$ckpt" --method rtn --bits 4 --out "$work/int4.q" >/dev/null || exit 1
failures=0
for tokens in 1 16; do
  for cfg in "fineq.yaml fineq.q" "fineq.yaml fineq.q --set pe.window=fixed" "int8.yaml int8.q" "int4.yaml int4.q" "bitserial.yaml fineq.q"; do
    set -- $cfg
    arch=$1 layer=$2; shift 2
    if "$bin/cosim" --arch "$src/configs/$arch" --layer "$work/$layer" --tokens $tokens "$@" >"$work/out.txt" 2>&1; then
      echo "PASS $arch $* M=$tokens: $(grep -E '^  rtl' "$work/out.txt" | tr -s ' ')"
    else
      echo "FAIL $arch $* M=$tokens"; cat "$work/out.txt"; failures=$((failures + 1))
    fi
  done
done
echo "stories corpus: $failures failed"
[ $failures -eq 0 ]
