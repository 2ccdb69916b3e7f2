#!/usr/bin/env bash
# Every RTL module synthesizes with yosys (`synth`) at small parameter sets; prints the cell count.
# Args: RTL_DIR.
set -uo pipefail
rtl=$1
failures=0
synth() {  # TOP CHPARAMS
  local top=$1 params=$2
  local script="read_verilog $rtl/fq_cluster_decoder.v $rtl/fq_pe_temporal.v $rtl/fq_pe_mac.v $rtl/fq_array.v"
  [ -n "$params" ] && script="$script; chparam $params $top"
  script="$script; synth -top $top; stat"
  if out=$(yosys -q -p "$script" 2>&1) && cells=$(yosys -p "$script" 2>&1 | grep -E '^ +Number of cells:' | tail -1); then
    echo "ok   synth $top $params:$cells"
  else
    echo "FAIL synth $top $params"; echo "$out" | tail -20; failures=$((failures + 1))
  fi
}
synth fq_cluster_decoder ""
synth fq_pe_temporal ""
synth fq_pe_mac "-set WBITS 8"
synth fq_pe_mac "-set WBITS 2"
synth fq_array "-set ROWS 3 -set COLS 2 -set KIND 0"
synth fq_array "-set ROWS 3 -set COLS 2 -set KIND 1 -set WBITS 4"
echo "synth: $failures failed"
[ $failures -eq 0 ]
