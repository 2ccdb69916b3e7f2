#!/usr/bin/env bash
# Every RTL module passes `verilator --lint-only -Wall` with the waivers of rtl/fq_lint.vlt only,
# with the one Verilator recipe of the models and runners (rtl/fq_verilator.f: -Wall, the
# waivers, the include folder, --unroll-count for the byte loops of the wide buffer ports),
# at several parameter sets (degenerate sizes included). Args: RTL_DIR.
# Sizes: 33 rows or 33 columns (past 32, so a row or column index one bit too narrow shows) on a
# short other side. The full-size presets (fq_top at 33 x 32 temporal and bit-serial, 32 x 32
# INT8 and INT4) are not linted here: every co-simulation runner is a Verilation of fq_top with
# this same recipe, whose -Wall warnings are fatal, and the test command builds those runners
# (the fixtures `rtl_runner.*`; a cosim test builds a missing one), so a warning at full size fails there. A
# 33 x 32 lint takes 12-16 s (as long as the Verilation: --lint-only runs every pass, emit
# included); with the ten of them replaced, this test went from 124 s to 35 s (docs/performance.md).
set -uo pipefail
rtl=$1
failures=0
lint() {  # TOP PARAMS...
  local top=$1; shift
  if out=$(verilator --lint-only -F "$rtl/fq_verilator.f" "$rtl"/*.v --top-module "$top" "$@" 2>&1); then
    echo "ok   lint $top $*"
  else
    echo "FAIL lint $top $*"; echo "$out"; failures=$((failures + 1))
  fi
}
lint fq_cluster_decoder
lint fq_pe_temporal
for b in 8 4 3 2; do lint fq_pe_mac -GWBITS=$b; lint fq_pe_bitserial -GWBITS=$b; done
for p in "-GROWS=1 -GCOLS=1" "-GROWS=3 -GCOLS=1" "-GROWS=33 -GCOLS=3" "-GROWS=3 -GCOLS=33" "-GROWS=5 -GCOLS=7"; do
  lint fq_array $p -GKIND=0
  lint fq_array $p -GKIND=1 -GWBITS=8
  lint fq_array $p -GKIND=1 -GWBITS=3
  lint fq_array $p -GKIND=2 -GWBITS=8
  lint fq_array $p -GKIND=2 -GWBITS=3
done
# pe.weight_sets: one set (a constant tag), three (a tag value unused), eight (three tag bits).
for w in 1 3 8; do
  lint fq_pe_temporal -GWSETS=$w
  lint fq_pe_mac -GWSETS=$w
  lint fq_pe_bitserial -GWSETS=$w -GWBITS=3
  lint fq_array -GROWS=5 -GCOLS=7 -GKIND=0 -GWSETS=$w
  lint fq_top -GROWS=3 -GCOLS=2 -GKIND=1 -GWSETS=$w
  lint fq_top -GROWS=5 -GCOLS=3 -GKIND=2 -GWBITS=4 -GWSETS=$w
done
# pe.acc_bits: the narrowest partial sums the arch allows (extended to 32 bits at obuf).
lint fq_top -GROWS=4 -GCOLS=3 -GKIND=0 -GACC_W=13
lint fq_top -GROWS=4 -GCOLS=4 -GKIND=1 -GWBITS=8 -GACC_W=18
lint fq_top -GROWS=33 -GCOLS=3 -GKIND=2 -GWBITS=3 -GACC_W=16
for m in fq_fp16_to_fp32 fq_int_to_fp32 fq_fp32_mul fq_dma_in fq_dma_out fq_controller; do lint $m; done
lint fq_epilogue -GCOLS=1
lint fq_epilogue -GCOLS=32
for p in "-GROWS=1 -GCOLS=1 -GKIND=1" "-GROWS=3 -GCOLS=2" "-GROWS=33 -GCOLS=3" "-GROWS=3 -GCOLS=33 -GKIND=1" \
         "-GROWS=8 -GCOLS=4 -GKIND=1 -GWBITS=3" "-GROWS=1 -GCOLS=1 -GKIND=2" "-GROWS=5 -GCOLS=3 -GKIND=2 -GWBITS=4" \
         "-GROWS=3 -GCOLS=33 -GKIND=2 -GWBITS=2" "-GROWS=33 -GCOLS=3 -GKIND=2 -GWBITS=3"; do
  lint fq_array_ctrl $p
  lint fq_top $p
done
echo "lint: $failures failed"
[ $failures -eq 0 ]
