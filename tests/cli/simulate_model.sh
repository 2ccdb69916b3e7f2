#!/usr/bin/env bash
# simulate --model as a user runs it: a prompt through the simulated accelerator on the real
# stories260K and its tokenizer (fast and SystemC, a .q file instead of --method), the JSON report,
# and bad input (one clear message, non-zero exit, no output file). Args: BIN_DIR MODELS_DIR.
set -uo pipefail
bin=$1 models=$2
source "$(dirname "$0")/../support/cli.sh"

ckpt="$models/tinyllamas/stories260K.bin" tok="$models/tinyllamas/tok512.bin"
if [ ! -f "$ckpt" ] || [ ! -f "$tok" ]; then
  echo "SKIP: $ckpt or $tok not found: simulate --model needs the real checkpoint and tokenizer"
  exit 77
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3

"$bin/simulate" --model "$ckpt" --tokenizer "$tok" --arch "$src/configs/fineq.yaml" --method fineq \
  --prompt "Once upon a time, there was a little girl" --generate 12 --engine systemc --json "$work/r.json" >"$work/out.txt"
check "systemc: exit 0" test $? -eq 0
check "text: tokens equal the golden path" grep -q 'tokens equal, logits identical bit for bit' "$work/out.txt"
check "text: the generated text" grep -q '^text: ' "$work/out.txt"
check "text: decode per token" grep -qE '^decode: 11 tokens, [0-9.]+ cycles/token' "$work/out.txt"
check "text: the dequantized comparison" grep -q 'dequantized-weight FP32 inference' "$work/out.txt"
check "json: schema, tokens, text" $py - "$work/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"] == "fqsim.model-report/1", r["schema"]
assert r["prompt_tokens"][:6] == [1, 403, 407, 261, 378, 432], r["prompt_tokens"]
assert r["generated_tokens"] == r["golden_tokens"] and len(r["generated_tokens"]) == 12
assert r["logits_identical"] is True and r["engine"] == "systemc"
assert r["prefill"]["tokens"] == len(r["prompt_tokens"]) and r["decode"]["tokens"] == 11
assert len(r["generated_text"]) > 0
steps = r["decode"]["steps"]
assert all(b["cycles"] > a["cycles"] for a, b in zip(steps, steps[1:])), "decode latency grows with the context"
assert len(r["by_layer"]) == 5 and len(r["by_linear"]) == 7
PY

# The same codes from a .q file, on the fast engine: the same tokens.
"$bin/quantize" --checkpoint "$ckpt" --method fineq --out "$work/s.q" >/dev/null
"$bin/simulate" --model "$ckpt" --tokenizer "$tok" --arch "$src/configs/fineq.yaml" --layer "$work/s.q" \
  --prompt "Once upon a time, there was a little girl" --generate 12 --json "$work/q.json" >/dev/null
check "--layer: exit 0" test $? -eq 0
check "--layer: same tokens and cycles as --method" $py - "$work/r.json" "$work/q.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["generated_tokens"] == b["generated_tokens"]
assert a["prefill"]["cycles"] == b["prefill"]["cycles"]
assert [s["cycles"] for s in a["decode"]["steps"]] == [s["cycles"] for s in b["decode"]["steps"]]
PY
"$bin/simulate" --model "$ckpt" --arch "$src/configs/int4.yaml" --method rtn --bits 4 --prompt-tokens 1,403,407 \
  --generate 4 --no-compare >"$work/int4.txt"
check "int4 with --prompt-tokens: exit 0" test $? -eq 0
check "int4: no comparison with --no-compare" bash -c "! grep -q 'dequantized-weight' '$work/int4.txt'"

"$bin/simulate" --model "$ckpt" --tokenizer "$tok" --arch "$src/configs/fineq.yaml" --method fineq \
  --prompt "Once upon a time, there was a little girl" --generate 12 --classifier accel --json "$work/c.json" >/dev/null
check "--classifier accel: exit 0" test $? -eq 0
check "--classifier accel: golden tokens, the classifier's cycles in every pass" $py - "$work/r.json" "$work/c.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert b["generated_tokens"] == b["golden_tokens"]
assert a["classifier"] == {"where": "host"} and b["classifier"]["where"] == "accel"
assert b["classifier"]["format"] == "fineq_r"
c = b["prefill"]["classifier_cycles"]
assert c > 0 and all(s["classifier_cycles"] == c for s in b["decode"]["steps"])
assert b["prefill"]["cycles"] == a["prefill"]["cycles"] + c
PY

out="$work/bad.json"
fineq=(--model "$ckpt" --arch "$src/configs/fineq.yaml")
expect_error "prompt without tokenizer" 'needs --tokenizer' "$out" -- "$bin/simulate" "${fineq[@]}" --method fineq --prompt hi --generate 4 --json "$out"
expect_error "method and layer" 'exactly one of --method' "$out" -- "$bin/simulate" "${fineq[@]}" --method fineq --layer "$work/s.q" --prompt-tokens 1 --generate 4 --json "$out"
expect_error "generate 1" "generate" "$out" -- "$bin/simulate" "${fineq[@]}" --method fineq --prompt-tokens 1 --generate 1 --json "$out"
expect_error "misspelt quantizer option" 'thresold' "$out" -- "$bin/simulate" "${fineq[@]}" --method fineq --thresold 3 --prompt-tokens 1 --generate 4 --json "$out"
expect_error "token id outside the vocabulary" 'id 600 is outside' "$out" -- "$bin/simulate" "${fineq[@]}" --method fineq --prompt-tokens 1,600 --generate 4 --json "$out"
expect_error "FineQ codes on a MAC array" 'layers.0.wq' "$out" -- "$bin/simulate" --model "$ckpt" --arch "$src/configs/int8.yaml" --method fineq --prompt-tokens 1 --generate 2 --json "$out"
expect_error "bad classifier place" "classifier 'gpu'" "$out" -- "$bin/simulate" "${fineq[@]}" --method fineq --prompt-tokens 1 --generate 2 --classifier gpu --json "$out"
expect_error "classifier codes missing from the .q" "no tensor 'output'" "$out" -- "$bin/simulate" "${fineq[@]}" --layer "$work/s.q" --prompt-tokens 1 --generate 2 --classifier accel --json "$out"
expect_error "bad engine" "engine 'verilog'" "$out" -- "$bin/simulate" "${fineq[@]}" --method fineq --prompt-tokens 1 --generate 2 --engine verilog --json "$out"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
