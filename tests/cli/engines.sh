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
"$bin/cosim" --arch "$src/configs/fineq.yaml" --gemm 5,7,20 --engines golden,fast,systemc >"$work/cosim.txt"
check "cosim golden,fast,systemc: PASS" grep -q '^PASS: golden,fast,systemc agree' "$work/cosim.txt"
[ "$failures" -eq 0 ]
