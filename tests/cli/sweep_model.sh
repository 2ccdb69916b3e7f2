#!/usr/bin/env bash
# sweep --model as a user runs it: the co-design sweep of quantizer keys beside architecture keys
# on the real stories260K and TinyStories text: per-point perplexity and per-token figures, points
# whose codes the PEs cannot run as invalid rows, resuming, the Pareto plot, and bad input.
# Args: BIN_DIR MODELS_DIR SOURCE_DIR DATA_DIR.
set -uo pipefail
bin=$1 models=$2 src=$3 data=$4
source "$(dirname "$0")/../support/cli.sh"
ckpt="$models/tinyllamas/stories260K.bin" tok="$models/tinyllamas/tok512.bin" text="$data/tinystories-valid-excerpt.txt"
for f in "$ckpt" "$tok" "$text"; do
  if [ ! -f "$f" ]; then echo "SKIP: $f not found: sweep --model needs the real model, tokenizer and text"; exit 77; fi
done
py=/usr/bin/python3
cd "$work"
common=(--model "$ckpt" --tokenizer "$tok" --text "$text" --chunks 4 --prompt-length 8 --generate 4)
"$bin/sweep" "${common[@]}" --arch "$src/configs/fineq.yaml" --set quant.method=fineq --set quant.policy=ratio,mse \
  --set array.rows=18,33 --out f.csv >f.txt 2>&1
check "fineq: exit 0" test $? -eq 0
check "fineq: header" test "$(head -1 f.csv)" = "quant.policy,array.rows,status,reason,perplexity,bits_per_weight,prefill_cycles_per_token,prefill_pj_per_token,decode_cycles_per_token,decode_s_per_token,decode_tokens_per_s,decode_pj_per_token,area_um2"
check "fineq: rows, perplexity per quantizer, cycles per arch" $py - f.csv <<'PY'
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
assert [(x["quant.policy"], x["array.rows"]) for x in r] == [("ratio", "18"), ("ratio", "33"), ("mse", "18"), ("mse", "33")]
assert all(x["status"] == "ok" for x in r)
# Perplexity depends on the quantizer only, area on the array only.
assert r[0]["perplexity"] == r[1]["perplexity"] and r[2]["perplexity"] == r[3]["perplexity"]
assert r[0]["perplexity"] != r[2]["perplexity"]
assert r[0]["area_um2"] == r[2]["area_um2"] and float(r[0]["area_um2"]) < float(r[1]["area_um2"])
# FineQ-R at about 2.95 bits; a perplexity in the model's range; decode slower than a prefill token.
assert all(2.9 < float(x["bits_per_weight"]) < 3.0 and 3 < float(x["perplexity"]) < 200 for x in r)
assert all(float(x["decode_cycles_per_token"]) > float(x["prefill_cycles_per_token"]) for x in r)
assert all(abs(float(x["decode_tokens_per_s"]) * float(x["decode_s_per_token"]) - 1) < 1e-6 for x in r)
PY
check "fineq: the Pareto plot and its labelled front" test -s f-pareto.png -a -s f-pareto.dat -a -s f.gp
check "fineq: front points carry their configuration" grep -q '"quant.policy=' f-pareto.dat
cp f.csv before.csv
"$bin/sweep" "${common[@]}" --arch "$src/configs/fineq.yaml" --set quant.method=fineq --set quant.policy=ratio,mse \
  --set array.rows=18,33 --out f.csv --no-plots >resume.txt 2>&1
check "resume: nothing to run" grep -q "4 already in f.csv, 0 to run" resume.txt
check "resume: same rows" cmp -s f.csv before.csv
# Codes the PEs cannot run are rows with the reason, not gaps.
"$bin/sweep" "${common[@]}" --arch "$src/configs/int8.yaml" --set quant.method=rtn --set quant.bits=8,4 \
  --set pe.weight_bits=8,4 --out i.csv --no-plots >i.txt 2>&1
check "int: exit 0" test $? -eq 0
check "int: matching widths run, the others are invalid" $py - i.csv <<'PY'
import csv, sys
r = {(x["quant.bits"], x["pe.weight_bits"]): x for x in csv.DictReader(open(sys.argv[1]))}
assert r[("8", "8")]["status"] == "ok" and r[("4", "4")]["status"] == "ok"
assert r[("8", "4")]["status"] == "invalid" and "int8 codes do not run" in r[("8", "4")]["reason"]
assert float(r[("8", "8")]["perplexity"]) < float(r[("4", "4")]["perplexity"])
PY
expect_error "misspelt quantizer option" "thresold" x.csv -- "$bin/sweep" "${common[@]}" --arch "$src/configs/fineq.yaml" \
  --set quant.method=fineq --set quant.thresold=2,3 --out x.csv
expect_error "no quant.method" "needs quant.method" x.csv -- "$bin/sweep" "${common[@]}" --arch "$src/configs/fineq.yaml" \
  --set array.rows=18,33 --out x.csv
expect_error "a layer option" "not an option of sweep --model" x.csv -- "$bin/sweep" "${common[@]}" \
  --arch "$src/configs/fineq.yaml" --set quant.method=fineq --set array.rows=18,33 --layer l.q --out x.csv
echo "sweep_model: $failures failed checks"
[ $failures -eq 0 ]
