#!/usr/bin/env bash
# The main job on the built-in default workload: quantize a synthetic LLaMA-2-7B decoder layer
# (202 M weights) with FineQ-R, then summarise the resulting .q file.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
out="$build/demo"
mkdir -p "$out"
"$build/bin/quantize" --synthetic llama2-7b --seed 1 --method fineq --out "$out/llama7b.q"
"$build/bin/inspect" "$out/llama7b.q"
