#!/usr/bin/env bash
# simulate --engine NAME through the engine registry: systemc gives the fast engine's report on
# the default workload; unknown and untimed engines, and the rtl engine on an arch it does not
# implement, fail with one message. Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 src=$3
source "$(dirname "$0")/../support/cli.sh"
py=/usr/bin/python3
"$bin/simulate" --arch "$src/configs/fineq.yaml" --json "$work/fast.json" >"$work/fast.txt"
check "default, fast: exit 0" test $? -eq 0
"$bin/simulate" --arch "$src/configs/fineq.yaml" --engine systemc --json "$work/sc.json" >"$work/sc.txt"
check "default, systemc: exit 0" test $? -eq 0
check "systemc = fast: JSON report but the engine" test "$($py -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); a.pop('engine'); b.pop('engine'); print(a == b)" "$work/fast.json" "$work/sc.json")" = True
check "systemc = fast: text report but the engine and timing lines" \
  diff <(sed -e 's/engine fast/engine X/' -e '/^time:/d' -e '/^wrote/d' "$work/fast.txt") \
       <(sed -e 's/engine systemc/engine X/' -e '/^time:/d' -e '/^wrote/d' "$work/sc.txt")
expect_error "unknown engine" "^simulate: error: --engine 'verilog': unknown engine \(registered: fast, golden, rtl, systemc\)$" "$work/bad.json" -- \
  "$bin/simulate" --arch "$src/configs/fineq.yaml" --engine verilog --json "$work/bad.json"
expect_error "golden computes no cycles" "--engine golden: the golden engine computes no cycles" "$work/bad.json" -- \
  "$bin/simulate" --arch "$src/configs/fineq.yaml" --engine golden --json "$work/bad.json"
expect_error "rtl refuses output stationary" "--engine rtl: the RTL implements the weight-stationary dataflow only" "$work/bad.json" -- \
  "$bin/simulate" --arch "$src/configs/int8.yaml" --set dataflow=os --engine rtl --json "$work/bad.json"
expect_error "rtl refuses scalesim" "--engine rtl: timing: scalesim is a modelling convention with no RTL" "$work/bad.json" -- \
  "$bin/simulate" --arch "$src/configs/int8.yaml" --set timing=scalesim --engine rtl --json "$work/bad.json"
expect_error "cosim unknown engine" "--engines 'golden,bogus': unknown engine 'bogus' \(registered: fast, golden, rtl, systemc\)" "$work/bad.json" -- \
  "$bin/cosim" --arch "$src/configs/fineq.yaml" --engines golden,bogus --json "$work/bad.json"
expect_error "cosim --build-jobs without rtl" "--wave, --rtl-define, --rtl-cache and --build-jobs need the rtl engine" "$work/bad.json" -- \
  "$bin/cosim" --arch "$src/configs/fineq.yaml" --engines golden,fast --build-jobs 2 --json "$work/bad.json"
expect_error "cosim --build-jobs 0 (the program named once)" "^cosim: error: option 'build-jobs' = 0 is outside \[1, 256\]$" "$work/bad.json" -- \
  "$bin/cosim" --arch "$src/configs/fineq.yaml" --build-only --build-jobs 0 --json "$work/bad.json"
"$bin/cosim" --arch "$src/configs/fineq.yaml" --gemm 5,7,20 --engines golden,fast,systemc >"$work/cosim.txt"
check "cosim golden,fast,systemc: PASS" grep -q '^PASS: golden,fast,systemc agree' "$work/cosim.txt"
# compare and sweep: systemc writes the fast engine's CSV byte for byte; rtl (no action counts) is refused.
"$bin/compare" --arch "$src/configs/fineq.yaml" --arch "$src/configs/int8.yaml" --gemm 16,64,64 --out "$work/cf" >/dev/null 2>&1
"$bin/compare" --arch "$src/configs/fineq.yaml" --arch "$src/configs/int8.yaml" --gemm 16,64,64 --engine systemc --out "$work/cs" >/dev/null 2>&1
check "compare --engine systemc = fast" cmp "$work/cf.csv" "$work/cs.csv"
expect_error "compare --engine rtl" "--engine rtl: the rtl engine gives only the done cycle of each op .*energy columns" "$work/cr.csv" -- \
  "$bin/compare" --arch "$src/configs/fineq.yaml" --arch "$src/configs/int8.yaml" --engine rtl --out "$work/cr"
sw=(--arch "$src/configs/fineq.yaml" --gemm 16,64,64 --set array.rows=9,18 --set array.cols=8,16 --no-plots)
"$bin/sweep" "${sw[@]}" --out "$work/sf.csv" >/dev/null 2>&1
"$bin/sweep" "${sw[@]}" --engine systemc --out "$work/ss.csv" >/dev/null 2>&1
check "sweep --engine systemc = fast" cmp "$work/sf.csv" "$work/ss.csv"
expect_error "sweep unknown engine" "--engine 'nope': unknown engine \(registered: fast, golden, rtl, systemc\)" "$work/sn.csv" -- \
  "$bin/sweep" "${sw[@]}" --engine nope --out "$work/sn.csv"
[ "$failures" -eq 0 ]
