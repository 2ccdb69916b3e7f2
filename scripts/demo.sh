#!/usr/bin/env bash
# The main job on the built-in default workload: quantize a synthetic LLaMA-2-7B decoder layer
# (202 M weights) with FineQ-R, summarise the .q file, and compile the layer for the FineQ preset
# at 2048 tokens (prefill), printing the mapping of every GEMM.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build; run from the repository root)
set -euo pipefail
build=${1:-build}
out="$build/demo"
mkdir -p "$out"
"$build/bin/quantize" --synthetic llama2-7b --seed 1 --method fineq --out "$out/llama7b.q"
"$build/bin/inspect" "$out/llama7b.q"
"$build/bin/compile" --arch configs/fineq.yaml --layer "$out/llama7b.q" --tokens 2048 --out "$out/llama7b"
