#!/usr/bin/env bash
# simulate as a user runs it: the built-in default, a .q layer on both engines (identical
# reports), --gemm, --topology (SCALE-Sim's CSV), --set, JSON and trace outputs, and bad input
# (one message, non-zero exit, no report file left behind).
# Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 src=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
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
  check "$name: no report left" test ! -e "$work/bad.json"
  grep -qE -e "$pattern" "$work/stderr" || cat "$work/stderr"
}
json() {  # FILE EXPR: prints a value of the JSON report
  $py -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"
}

"$bin/simulate" --arch "$src/configs/fineq.yaml" >"$work/default.txt"
check "default workload: exit 0" test $? -eq 0
check "default workload: stories260K-shaped GEMMs" grep -qE '^layers\.0\.w2 +16 +64 +172 +fineq_r' "$work/default.txt"
check "default workload: total line" grep -qE '^total ' "$work/default.txt"
check "default workload: energy and area" grep -qE '^energy .*J' "$work/default.txt"

"$bin/quantize" --synthetic gemm:N=70,K=100 --seed 2 --method fineq --out "$work/f.q" >/dev/null
"$bin/simulate" --arch "$src/configs/fineq.yaml" --layer "$work/f.q" --tokens 9 --json "$work/fast.json" \
  --trace "$work/trace.json" >/dev/null
check "layer, fast: exit 0" test $? -eq 0
# The beat-window histogram: every preload is a tile and every matmul an op of one bin, and the
# compiled program has exactly those ops (compile writes the same program simulate runs).
"$bin/compile" --arch "$src/configs/fineq.yaml" --layer "$work/f.q" --tokens 9 --out "$work/f" >/dev/null
check "window histogram: tiles = preloads" test "$(json "$work/fast.json" "sum(b['tiles'] for b in r['window_histogram'])")" -eq "$(grep -c ' preload ' "$work/f.tir")"
check "window histogram: matmuls = matmul ops" test "$(json "$work/fast.json" "sum(b['matmuls'] for b in r['window_histogram'])")" -eq "$(grep -c ' matmul ' "$work/f.tir")"
check "window histogram: W within 1..4, pulses per PE-beat within (0, 4]" test "$(json "$work/fast.json" "all(1 <= b['w'] <= 4 for b in r['window_histogram']) and 0 < r['pulses_per_pe_beat'] <= 4")" = True
check "pulses per PE-beat = pe_pulses / pe_beats" test "$(json "$work/fast.json" "abs(r['pulses_per_pe_beat'] - r['actions']['pe_pulses'] / r['actions']['pe_beats']) < 1e-12")" = True
"$bin/simulate" --arch "$src/configs/fineq.yaml" --layer "$work/f.q" --tokens 9 --engine systemc \
  --json "$work/sc.json" >/dev/null
check "layer, systemc: exit 0" test $? -eq 0
check "fast and SystemC: same total cycles" test "$(json "$work/fast.json" "r['total_cycles']")" = \
  "$(json "$work/sc.json" "r['total_cycles']")"
check "fast and SystemC: same actions" test "$(json "$work/fast.json" "r['actions']")" = \
  "$(json "$work/sc.json" "r['actions']")"
check "JSON: schema and per-GEMM fields" test "$(json "$work/fast.json" \
  "r['schema'], sorted(k for k in r['gemms'][0] if k in ('name','M','N','K','cycles','energy_pj','area_um2')), r['gemms'][0]['M'], r['gemms'][0]['N'], r['gemms'][0]['K']")" = \
  "fqsim.report/1 ['K', 'M', 'N', 'area_um2', 'cycles', 'energy_pj', 'name'] 9 70 100"
check "JSON: energy total = sum of breakdown" test "$(json "$work/fast.json" \
  "abs(r['energy_pj']['total'] - sum(r['energy_pj']['breakdown'].values())) < 1e-6 * r['energy_pj']['total']")" = True
check "JSON: every entry has a source; the PE array's is synthesis" test "$(json "$work/fast.json" \
  "all(v['source'] in ('synthesis', 'table', 'scaled', 'derived') for k in ('energy_pj', 'area_um2') for v in r[k]['sources'].values()) and r['area_um2']['sources']['pe_array']['source'] == 'synthesis'")" = True
check "trace: Chrome trace events" test "$(json "$work/trace.json" \
  "len([e for e in r['traceEvents'] if e['ph'] == 'X']) > 5")" = True

"$bin/simulate" --arch "$src/configs/int8.yaml" --set timing=scalesim --set array.rows=16 --set array.cols=8 \
  --set dataflow=os --gemm 64,64,64 --json "$work/ss.json" >"$work/ss.txt"
check "--gemm with --set: exit 0" test $? -eq 0
check "scalesim: SCALE-Sim's 2751 cycles for OS 64^3 on 16x8" grep -q 'SCALE-Sim convention (last cycle, 0-based): 2751 cycles' "$work/ss.txt"
check "scalesim: reported_cycles in JSON" test "$(json "$work/ss.json" "r['reported_cycles']")" = 2751

printf 'Layer, M, N, K,\nfc1, 32, 64, 48,\nfc2, 16, 24, 64,\n' >"$work/topo.csv"
"$bin/simulate" --arch "$src/configs/int8.yaml" --topology "$work/topo.csv" >"$work/topo.txt"
check "--topology: exit 0" test $? -eq 0
check "--topology: both rows" test "$(grep -cE '^fc[12] ' "$work/topo.txt")" -eq 2

printf 'fc1, 32, 64, 48\n' >"$work/nocomma.csv"
expect_error "topology row without the trailing comma" "line 1: the row must end with a comma" -- \
  "$bin/simulate" --arch "$src/configs/int8.yaml" --topology "$work/nocomma.csv" --json "$work/bad.json"
expect_error "scalesim on temporal PEs" "scalesim .* needs pe.kind: mac" -- \
  "$bin/simulate" --arch "$src/configs/fineq.yaml" --set timing=scalesim --json "$work/bad.json"
expect_error "unknown engine" "--engine 'verilog'" -- \
  "$bin/simulate" --arch "$src/configs/fineq.yaml" --engine verilog --json "$work/bad.json"
expect_error "unknown --set key" "unknown key 'array.colz'" -- \
  "$bin/simulate" --arch "$src/configs/fineq.yaml" --set array.colz=4 --json "$work/bad.json"
expect_error "bad --gemm" "expected M,N,K" -- \
  "$bin/simulate" --arch "$src/configs/int8.yaml" --gemm 4,5 --json "$work/bad.json"
expect_error "format the PE cannot run" "fineq_r" -- \
  "$bin/simulate" --arch "$src/configs/int4.yaml" --layer "$work/f.q" --json "$work/bad.json"
expect_error "two workloads" "one of --layer, --gemm and --topology" -- \
  "$bin/simulate" --arch "$src/configs/int4.yaml" --layer "$work/f.q" --gemm 1,2,3 --json "$work/bad.json"
head -c 100 "$work/f.q" >"$work/trunc.q"
expect_error "truncated .q" "trunc.q" -- \
  "$bin/simulate" --arch "$src/configs/fineq.yaml" --layer "$work/trunc.q" --json "$work/bad.json"

echo "simulate: $failures failed checks"
[ $failures -eq 0 ]
