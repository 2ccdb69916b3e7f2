#!/usr/bin/env bash
# quantize and inspect as a user runs them: real checkpoint, synthetic layers, and bad input
# (one clear message, non-zero exit, no output file). Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 models=$2
source "$(dirname "$0")/../support/cli.sh"
# expect_error NAME PATTERN OUTFILE -- CMD...: non-zero exit, stderr matches, OUTFILE absent

# --- synthetic layers -------------------------------------------------------------------------
"$bin/quantize" --synthetic gemm:N=30,K=100 --seed 3 --method rtn --bits 4 --out "$work/g4.q" >"$work/q.txt"
check "rtn int4 synthetic: exit 0" test $? -eq 0
"$bin/inspect" "$work/g4.q" >"$work/i.txt"
check "inspect names the format" grep -q int4 "$work/i.txt"
"$bin/inspect" "$work/g4.q" --codes gemm >"$work/codes.txt"
check "--codes prints one line per row" test "$(wc -l <"$work/codes.txt")" -eq 30
check "--codes line format (K=100 int4: 50 bytes)" \
  test "$(grep -cE '^[0-9]+ 0x[0-9a-f]{4} [0-9a-f]{100}$' "$work/codes.txt")" -eq 30

# --- bad input ----------------------------------------------------------------------------------
expect_error "unknown method" "unknown quantization method 'fineqq'" "$work/x.q" -- \
  "$bin/quantize" --synthetic gemm:N=3,K=3 --method fineqq --out "$work/x.q"
expect_error "misspelt method option" "thresold" "$work/x.q" -- \
  "$bin/quantize" --synthetic gemm:N=3,K=3 --method fineq --thresold 4 --out "$work/x.q"
expect_error "bad policy" "policy" "$work/x.q" -- \
  "$bin/quantize" --synthetic gemm:N=3,K=3 --method fineq --policy best --out "$work/x.q"
expect_error "bad synthetic spec" "gemm:N=3" "$work/x.q" -- \
  "$bin/quantize" --synthetic gemm:N=3 --method fineq --out "$work/x.q"
expect_error "gptq without a model to calibrate on" "gptq needs a llama2.c checkpoint" "$work/x.q" -- \
  "$bin/quantize" --synthetic gemm:N=3,K=3 --method gptq --out "$work/x.q"
expect_error "bfp bits" "'bits' must be 8, 6 or 4" "$work/x.q" -- \
  "$bin/quantize" --synthetic gemm:N=3,K=3 --method bfp --bits 5 --out "$work/x.q"
"$bin/quantize" --synthetic gemm:N=8,K=64 --method mxfp4 --out "$work/mx.q" >"$work/q.txt"
check "mxfp4 synthetic: 4.25 bits per weight" grep -q '4.2500 bits per weight' "$work/q.txt"
check "inspect names the mxfp4 format" grep -q mxfp4 <("$bin/inspect" "$work/mx.q")

# A safetensors file with a NaN weight: header {"w": F32 [2, 3]}, the NaN at row 1, column 2.
header='{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}'
{
  printf "\\x$(printf %02x ${#header})\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
  printf '%s' "$header"
  printf '\x00\x00\x80\x3f%.0s' 1 2 3 4 5
  printf '\x00\x00\xc0\x7f'
} >"$work/nan.safetensors"
expect_error "NaN weight" "w.*row 1.*col(umn)? 2" "$work/x.q" -- \
  "$bin/quantize" --checkpoint "$work/nan.safetensors" --method fineq --out "$work/x.q"

# --- the real checkpoint ------------------------------------------------------------------------
ckpt="$models/tinyllamas/stories260K.bin"
if [ -f "$ckpt" ]; then
  "$bin/quantize" --checkpoint "$ckpt" --method fineq --out "$work/s.q" >"$work/q.txt"
  check "stories260K fineq: exit 0" test $? -eq 0
  check "stories260K: 35 linear layers reported" test "$(grep -c '^layers\.' "$work/q.txt")" -eq 35
  "$bin/inspect" "$work/s.q" >"$work/i.txt"
  check "inspect lists 35 tensors" test "$(grep -c '^layers\.' "$work/i.txt")" -eq 35
  "$bin/inspect" "$work/s.q" --codes layers.0.w2 >"$work/codes.txt"
  check "--codes w2: 64 rows of 58 clusters (K=172)" \
    test "$(grep -cE '^[0-9]+ 0x[0-9a-f]{4} [0-9a-f]{116}$' "$work/codes.txt")" -eq 64
  "$bin/quantize" --checkpoint "$ckpt" --tensors 'layers.*.wq' --method fineq --policy mse --out "$work/wq.q" >/dev/null
  check "--tensors selects 5 tensors" test "$("$bin/inspect" "$work/wq.q" | grep -c '^layers\.')" -eq 5

  calib="--calibration 2 --calibration-length 64"
  for m in "gptq --bits 3 $calib" "quantease --bits 4 --sweeps 5 $calib" "fineq-gptq $calib" \
    "fineq-quantease --sweeps 3 $calib" "quarot --weights rtn" "bfp --bits 4"; do
    name=${m%% --calibration*}
    "$bin/quantize" --checkpoint "$ckpt" --tensors 'layers.1.w*' --method $m --out "$work/m.q" >"$work/q.txt"
    check "stories260K $name: 7 linears of layer 1" test "$(grep -c '^layers\.1\.w' "$work/q.txt")" -eq 7
    check "stories260K $name: inspect reads it" test "$("$bin/inspect" "$work/m.q" | grep -c '^layers\.')" -eq 7
    case $m in quarot*) check "quarot records its rotation" grep -q 'rotation_seed=0' "$work/q.txt" ;; esac
  done
  expect_error "gptq on a norm" "not a decoder linear" "$work/x.q" -- \
    "$bin/quantize" --checkpoint "$ckpt" --tensors 'layers.0.*' --method gptq --out "$work/x.q"
  data=${4:-$models/../data}
  if [ -f "$data/tinystories-valid-excerpt.txt" ] && [ -f "$models/tinyllamas/tok512.bin" ]; then
    "$bin/quantize" --checkpoint "$ckpt" --tensors 'layers.2.w*' --method gptq --bits 3 --calibration 6 \
      --tokenizer "$models/tinyllamas/tok512.bin" --text "$data/tinystories-valid-excerpt.txt" --out "$work/t.q" >"$work/q.txt"
    check "gptq calibrated on text: names the chunks" grep -q '^calibrating on chunks 4294-4299 of .*tinystories-valid-excerpt.txt ([0-9]* tokens)$' "$work/q.txt"
    check "gptq calibrated on text: 7 linears" test "$("$bin/inspect" "$work/t.q" | grep -c '^layers\.2\.')" -eq 7
    expect_error "text without a tokenizer" "text and --tokenizer go together" "$work/x.q" -- \
      "$bin/quantize" --checkpoint "$ckpt" --method gptq --text "$data/tinystories-valid-excerpt.txt" --out "$work/x.q"
  fi
  expect_error "calibration for a method without it" "calibration, --text and --tokenizer apply to gptq" "$work/x.q" -- \
    "$bin/quantize" --checkpoint "$ckpt" --method rtn --calibration 4 --out "$work/x.q"

  head -c 500000 "$ckpt" >"$work/trunc.bin"
  expect_error "truncated checkpoint" "trunc.bin.*1056540|trunc.bin.*500000" "$work/x.q" -- \
    "$bin/quantize" --checkpoint "$work/trunc.bin" --method fineq --out "$work/x.q"

  size=$(stat -c %s "$work/s.q")
  head -c $((size / 2)) "$work/s.q" >"$work/trunc.q"
  expect_error "truncated .q" "trunc.q" "$work/none" -- "$bin/inspect" "$work/trunc.q"
  cp "$work/s.q" "$work/flip.q"
  printf '\xff' | dd of="$work/flip.q" bs=1 seek=$((size - 100)) conv=notrunc status=none
  expect_error "corrupted .q" "flip.q.*offset" "$work/none" -- "$bin/inspect" "$work/flip.q" --codes layers.4.w3
  expect_error "unknown tensor" "layers.9.wq" "$work/none" -- "$bin/inspect" "$work/s.q" --codes layers.9.wq
else
  echo "SKIP: $ckpt not found: the real-checkpoint cases did not run"
  [ $failures -eq 0 ] && exit 77
fi

echo "quantize_inspect: $failures failed checks"
[ $failures -eq 0 ]
