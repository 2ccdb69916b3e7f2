#!/usr/bin/env bash
# evaluate as a user runs it on the official stories260K with its tokenizer and real text, and bad
# input (one clear message, non-zero exit, no output file). Args: BIN_DIR MODELS_DIR SOURCE_DIR DATA_DIR.
set -uo pipefail
bin=$1 models=$2 data=${4:-$2/../data}
source "$(dirname "$0")/../support/cli.sh"

ckpt="$models/tinyllamas/stories260K.bin"
if [ ! -f "$ckpt" ]; then
  echo "SKIP: $ckpt not found: evaluate needs the real checkpoint"
  exit 77
fi

tok="$models/tinyllamas/tok512.bin" text="$data/tinystories-valid-excerpt.txt"
if [ ! -f "$tok" ] || [ ! -f "$text" ]; then
  echo "SKIP: $tok or $text not found: evaluate's text mode needs them"
  exit 77
fi

# Real text: perplexity under the protocol of docs/accuracy.md, JSON per method.
"$bin/evaluate" --checkpoint "$ckpt" --tokenizer "$tok" --text "$text" --chunks 20 --calibration 8 \
  --method gptq --bits 4 --json "$work/t.json" >"$work/t.txt"
check "text: exit 0" test $? -eq 0
check "text: names evaluation and calibration chunks" grep -q 'chunks 0-19 of 4300 .*calibration on chunks 4292-4299' "$work/t.txt"
check "json: schema and two methods" test "$(/usr/bin/python3 -c "import json,sys; j=json.load(open('$work/t.json')); print(j['schema'], len(j['methods']))")" = "fqsim.accuracy/1 2"
check "json: perplexity, predicted_tokens, chunks" /usr/bin/python3 -c "
import json; m = json.load(open('$work/t.json'))['methods']
assert m[0]['method'] == 'fp32' and m[0]['perplexity'] == m[0]['perplexity_fp32'] and m[0]['kl'] == 0
assert m[1]['label'] == 'gptq w4' and m[1]['perplexity'] > m[0]['perplexity'] and m[1]['kl'] > 0
assert m[0]['predicted_tokens'] == m[1]['predicted_tokens'] > 1000 and m[1]['chunks'] == 20"

# A prompt's greedy continuation as text, FP32 (llama2.c's reference story) and quantized.
"$bin/evaluate" --checkpoint "$ckpt" --tokenizer "$tok" --prompt "Once upon a time" --generate 24 --method rtn --bits 8 >"$work/g.txt"
check "prompt: exit 0" test $? -eq 0
check "prompt: ids with BOS" grep -q '^prompt: 5 tokens: 1 403 407 261 378$' "$work/g.txt"
check "prompt: FP32 text" grep -q '^Once upon a time, there was a little girl named Lily. She loved to play outside' "$work/g.txt"
check "prompt: quantized model's text" grep -q '^rtn w8 (8.212 bits/weight) (24 tokens):' "$work/g.txt"
printf 'Once upon a time' >"$work/p.txt"
check "tokenize: ids of a file" test "$("$bin/tokenize" --tokenizer "$tok" "$work/p.txt" | tr '\n' ' ')" = "1 403 407 261 378 "
check "tokenize: decode round trip" test "$("$bin/tokenize" --tokenizer "$tok" "$work/p.txt" | "$bin/tokenize" --tokenizer "$tok" --decode)" = "Once upon a time"

small="--sequences 3 --length 48 --calibration 2"
"$bin/evaluate" --checkpoint "$ckpt" --method quarot --weights rtn $small --out "$work/q" >"$work/out.txt"
check "quarot: exit 0" test $? -eq 0
check "quarot: a row for FP32 and one for W4A4KV4" grep -q 'quarot w4a4kv4 (rtn)' "$work/out.txt"
check "quarot: activations and KV cache named" grep -q 'int4/token c0.9 *int4 asym g8 c0.95' "$work/out.txt"
check "csv: header and two rows" test "$(wc -l <"$work/q.csv")" -eq 3
check "csv: FP32 perplexity equals the reference column" \
  test "$(awk -F, 'NR == 2 { print ($7 == $8) }' "$work/q.csv")" -eq 1
check "layers csv: 35 linears per method" test "$(grep -c ',layers\.' "$work/q-layers.csv")" -eq 70
check "markdown table" grep -q '^| quarot w4a4kv4 (rtn) | 4.212 |' "$work/q.md"
check "gnuplot script" grep -q "plot 'q.csv'" "$work/q.gp"
if command -v gnuplot >/dev/null; then check "plot rendered" grep -q '<svg' "$work/q.svg"; fi

"$bin/evaluate" --checkpoint "$ckpt" --method gptq --bits 3 $small >"$work/g.txt"
check "gptq w3 row" grep -q '^gptq w3 ' "$work/g.txt"

expect_error "unknown method" "unknown method 'awq'" "$work/x.csv" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --method awq --out "$work/x"
expect_error "misspelt option" "bitz" "$work/x.csv" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --method rtn --bitz 4 $small --out "$work/x"
expect_error "method and --all" "exactly one of --method NAME and --all" "$work/x.csv" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --method rtn --all --out "$work/x"
expect_error "sequence longer than the model's context" "length 600 exceeds the model's seq_len 512" "$work/x.csv" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --method rtn --length 600 --out "$work/x"
expect_error "text without a tokenizer" "need --tokenizer" "$work/x.json" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --text "$text" --method rtn --json "$work/x.json"
expect_error "overlapping calibration" "would overlap" "$work/x.json" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --tokenizer "$tok" --text "$text" --chunks 4290 --calibration 20 --method rtn --json "$work/x.json"
expect_error "sampled-mode option with --text" "length applies to model-sampled" "$work/x.json" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --tokenizer "$tok" --text "$text" --length 64 --method rtn --json "$work/x.json"
head -c 3000 "$tok" >"$work/tok.bin"
expect_error "truncated tokenizer" "tok.bin: offset [0-9]+: token [0-9]+" "$work/x.json" -- \
  "$bin/evaluate" --checkpoint "$ckpt" --tokenizer "$work/tok.bin" --text "$text" --method rtn --json "$work/x.json"
expect_error "tokenize: not an id" "word 2 'x' is not a token id" "$work/none" -- \
  bash -c "echo '1 x' | '$bin/tokenize' --tokenizer '$tok' --decode"
head -c 300000 "$ckpt" >"$work/trunc.bin"
expect_error "truncated checkpoint" "trunc.bin" "$work/x.csv" -- \
  "$bin/evaluate" --checkpoint "$work/trunc.bin" --method rtn --out "$work/x"

echo "evaluate: $failures failed checks"
[ $failures -eq 0 ]
