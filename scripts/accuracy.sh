#!/usr/bin/env bash
# Regenerates the measured part of docs/accuracy.md: `evaluate --all` on the official stories260K
# and real TinyStories text (200 chunks, calibration on the last 128) writes
# docs/accuracy/results{.csv,-layers.csv,.json,.gp,.svg}, and `evaluate --all` on sequences
# sampled from the FP32 model writes docs/accuracy/sampled{.csv,-layers.csv,.gp,.svg}; the tables
# between the "evaluate:begin"/"evaluate:end" and "sampled:begin"/"sampled:end" markers of
# docs/accuracy.md are replaced by the new ones.
# Usage: scripts/accuracy.sh [BUILD_DIR] [MODELS_DIR] [DATA_DIR]   (defaults: build,
# ../shared/models, ../shared/data; run from the repository root). About 4 minutes on 2 cores.
set -euo pipefail
build=${1:-build}
models=${2:-../shared/models}
data=${3:-../shared/data}
out=docs/accuracy
mkdir -p "$out"
ckpt="$models/tinyllamas/stories260K.bin"
"$build/bin/evaluate" --checkpoint "$ckpt" --tokenizer "$models/tinyllamas/tok512.bin" \
  --text "$data/tinystories-valid-excerpt.txt" --chunks 200 --calibration 128 --all \
  --out "$out/results" --json "$out/results.json"
"$build/bin/evaluate" --checkpoint "$ckpt" --all --out "$out/sampled"
replace() {  # replace MARKER TABLE
  rm -f docs/accuracy.md.tmp
  awk -v table="$2" -v begin="<!-- $1:begin -->" -v end="<!-- $1:end -->" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }
  ' docs/accuracy.md > docs/accuracy.md.tmp
  mv docs/accuracy.md.tmp docs/accuracy.md
  rm "$2"
}
replace evaluate "$out/results.md"
replace sampled "$out/sampled.md"
echo "updated docs/accuracy.md and $out/"
