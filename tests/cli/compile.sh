#!/usr/bin/env bash
# compile as a user runs it: a FineQ-R and an INT4 layer on their presets, --explain, --set, and
# impossible requests (one message, non-zero exit, neither .tir nor .mem left behind).
# Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 src=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
expect_error() {  # NAME PATTERN -- CMD...: non-zero exit, one-line message, no outputs
  local name=$1 pattern=$2; shift 3
  "$@" >"$work/stdout" 2>"$work/stderr"
  local rc=$?
  check "$name: non-zero exit" test $rc -ne 0
  check "$name: message" grep -qE -e "$pattern" "$work/stderr"
  check "$name: one line" test "$(wc -l <"$work/stderr")" -eq 1
  check "$name: no .tir/.mem/.tmp left" test -z "$(ls "$work" | grep -E '\.(tir|mem|tmp)$')"
  grep -qE -e "$pattern" "$work/stderr" || cat "$work/stderr"
}

"$bin/quantize" --synthetic gemm:N=70,K=100 --seed 2 --method fineq --out "$work/f.q" >/dev/null
"$bin/quantize" --synthetic gemm:N=70,K=100 --seed 2 --method rtn --bits 4 --out "$work/i4.q" >/dev/null

"$bin/compile" --arch "$src/configs/fineq.yaml" --layer "$work/f.q" --tokens 16 --out "$work/f" --explain >"$work/out.txt"
check "fineq compile: exit 0" test $? -eq 0
check "fineq compile: .tir and .mem written" test -s "$work/f.tir" -a -s "$work/f.mem"
check "--explain marks the winner" grep -q '<- chosen' "$work/out.txt"
check "summary names the GEMM" grep -qE '^gemm +16 +70 +100 +fineq_r' "$work/out.txt"
check ".tir header" grep -q '^fqtir 1$' "$work/f.tir"

"$bin/compile" --arch "$src/configs/int4.yaml" --layer "$work/i4.q" --tokens 1 --out "$work/i4" >/dev/null
check "int4 compile: exit 0" test $? -eq 0
"$bin/compile" --arch "$src/configs/int8.yaml" --set pe.weight_bits=4 --set dataflow=os --layer "$work/i4.q" \
  --tokens 5 --out "$work/os" >/dev/null
check "--set to an output-stationary INT4 array: exit 0" test -s "$work/os.tir"
rm -f "$work"/*.tir "$work"/*.mem

expect_error "format the PE cannot run" "temporal PEs run fineq_r" -- \
  "$bin/compile" --arch "$src/configs/fineq.yaml" --layer "$work/i4.q" --tokens 4 --out "$work/x"
expect_error "buffers too small" "buffers.weight_bytes" -- \
  "$bin/compile" --arch "$src/configs/fineq.yaml" --set buffers.weight_bytes=8 --layer "$work/f.q" --tokens 4 --out "$work/x"
expect_error "unknown --set key" "unknown key 'array.row'" -- \
  "$bin/compile" --arch "$src/configs/fineq.yaml" --set array.row=8 --layer "$work/f.q" --tokens 4 --out "$work/x"
expect_error "bad token count" "tokens" -- \
  "$bin/compile" --arch "$src/configs/fineq.yaml" --layer "$work/f.q" --tokens 0 --out "$work/x"
expect_error "missing layer file" "nope.q" -- \
  "$bin/compile" --arch "$src/configs/fineq.yaml" --layer "$work/nope.q" --tokens 4 --out "$work/x"
expect_error "unknown option" "unknown option --explian|explian" -- \
  "$bin/compile" --arch "$src/configs/fineq.yaml" --layer "$work/f.q" --tokens 4 --explian --out "$work/x"

echo "compile: $failures failed checks"
[ $failures -eq 0 ]
