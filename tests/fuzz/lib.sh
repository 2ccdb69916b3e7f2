# Sourced by tests/fuzz/*.sh: a scratch folder removed on exit, and check NAME CMD... which prints
# ok/FAIL and counts failures (the tests/cli convention).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
