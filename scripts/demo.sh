#!/usr/bin/env bash
# The main job on the built-in default workload: quantize a synthetic LLaMA-2-7B decoder layer
# (202 M weights) with FineQ-R and with RTN INT8, summarise the FineQ .q file, compile it for the
# FineQ preset at 2048 tokens (prefill), then simulate the layer on the FineQ array and on the
# INT8 baseline (fast engine, JSON reports and a Perfetto trace), the built-in default layer on
# the cycle-accurate SystemC model, and the accuracy of FineQ-R and RTN INT4 on the official
# stories260K on real text, with a prompt's continuation as text.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build; run from the repository root)
set -euo pipefail
build=${1:-build}
out="$build/demo"
mkdir -p "$out"
"$build/bin/quantize" --synthetic llama2-7b --seed 1 --method fineq --out "$out/llama7b.q"
"$build/bin/inspect" "$out/llama7b.q"
"$build/bin/compile" --arch configs/fineq.yaml --layer "$out/llama7b.q" --tokens 2048 --out "$out/llama7b"
"$build/bin/simulate" --arch configs/fineq.yaml --layer "$out/llama7b.q" --tokens 2048 \
  --json "$out/llama7b-fineq.json" --trace "$out/llama7b-fineq.trace.json" --trace-limit 200000
"$build/bin/quantize" --synthetic llama2-7b --seed 1 --method rtn --bits 8 --out "$out/llama7b-int8.q" >/dev/null
"$build/bin/simulate" --arch configs/int8.yaml --layer "$out/llama7b-int8.q" --tokens 2048 \
  --json "$out/llama7b-int8.json"
"$build/bin/simulate" --arch configs/fineq.yaml --engine systemc --json "$out/default-systemc.json"
# Accuracy side of the comparison: FineQ-R and RTN INT4 on the official stories260K and real text
# (docs/accuracy.md), and what FineQ-R does to the story the model tells.
models=${FQ_MODELS_DIR:-../shared/models}
data=${FQ_DATA_DIR:-../shared/data}
ckpt="$models/tinyllamas/stories260K.bin" tok="$models/tinyllamas/tok512.bin"
text="$data/tinystories-valid-excerpt.txt"
if [ -f "$ckpt" ] && [ -f "$tok" ] && [ -f "$text" ]; then
  for m in "fineq" "rtn --bits 4"; do
    # shellcheck disable=SC2086
    "$build/bin/evaluate" --checkpoint "$ckpt" --tokenizer "$tok" --text "$text" --chunks 50 --method $m
  done
  "$build/bin/evaluate" --checkpoint "$ckpt" --tokenizer "$tok" --prompt "Once upon a time" --generate 48 --method fineq
else
  echo "demo: $ckpt, $tok or $text not found: accuracy step skipped"
fi
