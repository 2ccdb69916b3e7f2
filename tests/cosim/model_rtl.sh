#!/usr/bin/env bash
# A few tokens of stories260K through the Verilog (simulate --model --engine rtl): every linear of
# every pass runs on the Verilated fq_top, its outputs must equal the golden integer GEMM and its
# per-op cycles the timing contract; tokens and logits equal the golden integer path; the cycles
# equal the fast engine's. Args: BIN_DIR MODELS_DIR SOURCE_DIR. The runner for configs/fineq.yaml
# is built by the ctest fixture rtl_runner.fineq (else here, in minutes).
set -uo pipefail
bin=$1 models=$2 src=$3
ckpt="$models/tinyllamas/stories260K.bin"
if [ ! -f "$ckpt" ]; then echo "SKIP: $ckpt not found (configure with -DFQ_MODELS_DIR=...)"; exit 77; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=(--model "$ckpt" --arch "$src/configs/fineq.yaml" --method fineq --prompt-tokens 1,403,407 --generate 3 --no-compare)
"$bin/simulate" "${run[@]}" --engine rtl --json "$work/rtl.json" >"$work/rtl.txt" 2>&1 || { cat "$work/rtl.txt"; exit 1; }
"$bin/simulate" "${run[@]}" --engine fast --json "$work/fast.json" >/dev/null || exit 1
cat "$work/rtl.txt"
/usr/bin/python3 - "$work/rtl.json" "$work/fast.json" <<'PY'
import json, sys
rtl, fast = (json.load(open(p)) for p in sys.argv[1:])
assert rtl["engine"] == "rtl" and rtl["generated_tokens"] == rtl["golden_tokens"] == fast["generated_tokens"]
assert rtl["programs"]["engine_runs"] == 3 * 35, rtl["programs"]
assert rtl["prefill"]["cycles"] == fast["prefill"]["cycles"]
assert [s["cycles"] for s in rtl["decode"]["steps"]] == [s["cycles"] for s in fast["decode"]["steps"]]
print("rtl model run: tokens", rtl["generated_tokens"], "equal the golden path and the fast engine's cycles")
PY
