#!/usr/bin/env bash
# Every RTL module synthesizes with yosys (`synth`) at small parameter sets; prints the cell count.
# Args: RTL_DIR.
set -uo pipefail
rtl=$1
failures=0
synth() {  # TOP CHPARAMS
  local top=$1 params=$2
  local script="read_verilog $(ls "$rtl"/*.v | tr '\n' ' ')"
  [ -n "$params" ] && script="$script; chparam $params $top"
  script="$script; synth -top $top; stat"
  # One yosys run: its log gives both the outcome and the cell count.
  if out=$(yosys -p "$script" 2>&1) && cells=$(grep -E '^ +Number of cells:' <<<"$out" | tail -1); then
    echo "ok   synth $top $params:$cells"
  else
    echo "FAIL synth $top $params"; echo "$out" | tail -20; failures=$((failures + 1))
  fi
}
synth fq_cluster_decoder ""
synth fq_pe_temporal ""
synth fq_pe_mac "-set WBITS 8"
synth fq_pe_mac "-set WBITS 2"
synth fq_pe_bitserial "-set WBITS 8"
synth fq_pe_bitserial "-set WBITS 3"
synth fq_array "-set ROWS 3 -set COLS 2 -set KIND 0"
synth fq_array "-set ROWS 3 -set COLS 2 -set KIND 1 -set WBITS 4"
synth fq_array "-set ROWS 3 -set COLS 2 -set KIND 2 -set WBITS 8"
synth fq_fp32_mul ""
synth fq_int_to_fp32 ""
synth fq_fp16_to_fp32 ""
synth fq_dma_in "-set DB 4 -set QDEPTH 4"
synth fq_dma_out "-set DB 4 -set QDEPTH 4"
synth fq_controller "-set IDEPTH 2"
synth fq_epilogue "-set COLS 1"
synth fq_array_ctrl "-set ROWS 3 -set COLS 2"
synth fq_array_ctrl "-set ROWS 3 -set COLS 2 -set KIND 2 -set WBITS 4"
synth fq_top "-set ROWS 3 -set COLS 1 -set WBUF 16 -set ABUF 16 -set OBUF 32 -set SBUF 16 -set IDEPTH 2 -set DB 2"
echo "synth: $failures failed"
[ $failures -eq 0 ]
