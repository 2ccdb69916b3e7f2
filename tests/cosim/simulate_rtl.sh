#!/usr/bin/env bash
# simulate --engine rtl (the runner of the ctest fixture rtl_runner.fineq, FQSIM_RTL_CACHE): the report's cycles
# equal the fast engine's, total and per GEMM; the parts the RTL does not produce are listed as
# absent, not zero. Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 src=$3
source "$(dirname "$0")/../support/cli.sh"
py=/usr/bin/python3
args=(--arch "$src/configs/fineq.yaml" --set buffers.weight_bytes=256 --set buffers.act_bytes=256
      --set buffers.out_bytes=1024 --set buffers.scale_bytes=128 --set array.rows=6 --set array.cols=4
      --set dram.bytes_per_cycle=4 --set dram.latency_cycles=7 --gemm 5,7,20 --seed 3)
"$bin/simulate" "${args[@]}" --json "$work/fast.json" >/dev/null
check "fast: exit 0" test $? -eq 0
"$bin/simulate" "${args[@]}" --engine rtl --json "$work/rtl.json" >"$work/rtl.txt"
check "rtl: exit 0" test $? -eq 0
check "rtl = fast: total and per-GEMM cycles" test "$($py -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(a['total_cycles'] == b['total_cycles'] > 0 and [g['cycles'] for g in a['gemms']] == [g['cycles'] for g in b['gemms']])" "$work/fast.json" "$work/rtl.json")" = True
check "rtl: energy and stalls absent, listed" test "$($py -c "import json,sys; a=json.load(open(sys.argv[1])); print(a['engine'], 'energy_pj' in a, 'stall_cycles' in a['absent'])" "$work/rtl.json")" = "rtl False True"
expect_error "rtl: no trace" "needs|only the done cycle" "$work/t.json" -- "$bin/simulate" "${args[@]}" --engine rtl --trace "$work/t.json"
[ "$failures" -eq 0 ]
