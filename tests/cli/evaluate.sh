#!/usr/bin/env bash
# evaluate as a user runs it on the real stories260K checkpoint, and bad input (one clear message,
# non-zero exit, no output file). Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 models=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
expect_error() {  # expect_error NAME PATTERN OUTFILE -- CMD...
  local name=$1 pattern=$2 out=$3; shift 4
  "$@" >"$work/stdout" 2>"$work/stderr"
  local rc=$?
  check "$name: non-zero exit" test $rc -ne 0
  check "$name: message" grep -qE "$pattern" "$work/stderr"
  check "$name: one line" test "$(wc -l <"$work/stderr")" -eq 1
  check "$name: no output file" test ! -e "$out"
  [ $rc -ne 0 ] && grep -qE "$pattern" "$work/stderr" || cat "$work/stderr"
}

ckpt="$models/stories260K.bin"
if [ ! -f "$ckpt" ]; then
  echo "SKIP: $ckpt not found: evaluate needs the real checkpoint"
  exit 77
fi

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
head -c 300000 "$ckpt" >"$work/trunc.bin"
expect_error "truncated checkpoint" "trunc.bin" "$work/x.csv" -- \
  "$bin/evaluate" --checkpoint "$work/trunc.bin" --method rtn --out "$work/x"

echo "evaluate: $failures failed checks"
[ $failures -eq 0 ]
