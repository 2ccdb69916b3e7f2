# Sourced by the shell tests (tests/cli, tests/fuzz): a scratch folder $work removed on exit;
# check NAME CMD... prints ok/FAIL and counts failures in $failures; expect_error NAME PATTERN
# OUTFILE -- CMD... requires a non-zero exit, a one-line message matching PATTERN and no OUTFILE.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
expect_error() {
  local name=$1 pattern=$2 out=$3; shift 4
  "$@" >"$work/stdout" 2>"$work/stderr"
  local rc=$?
  check "$name: non-zero exit" test $rc -ne 0
  check "$name: message" grep -qE -e "$pattern" "$work/stderr"
  check "$name: one line" test "$(wc -l <"$work/stderr")" -eq 1
  check "$name: no output file" test ! -e "$out"
  [ $rc -ne 0 ] && grep -qE -e "$pattern" "$work/stderr" || cat "$work/stderr"
}
