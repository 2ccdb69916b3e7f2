#!/usr/bin/env bash
# Builds rtl/fq_array.v (33 x 32 temporal, the runners' recipe) and fqy_array.v (the same array in
# loop form) with Verilator, checks that every output of the two is equal in every cycle of a
# random run (weights, bubbles, set tags, W = 1, 3, 5, 6), then times each as bench_rtl does.
# usage: bench/experiments/rtl_loop_form/run.sh [COMPARED_CYCLES] [WORK_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cycles=${1:-20000}
work=${2:-$(mktemp -d)}
mkdir -p "$work" && cd "$work"
rtl=$root/rtl
verilator --cc -F "$rtl/fq_verilator.f" --output-split-cfuncs 3000 -Mdir gen --prefix Vgen --top-module fq_array \
  "$rtl/fq_array.v" "$rtl/fq_pe_temporal.v" "$rtl/fq_pe_mac.v" "$rtl/fq_pe_bitserial.v" -GROWS=33 -GCOLS=32 -GKIND=0
# Verilator's default unroll limit (64), not the recipe's 4096, which would unroll the PE loop
# back into one copy per PE; blocking writes in the clocked block are the point (BLKSEQ).
verilator --cc -Wall -Wno-BLKSEQ -Wno-UNUSEDSIGNAL -Wno-WIDTH -O3 --x-assign unique --x-initial unique \
  --output-split-cfuncs 3000 -Mdir loop --prefix Vloop --top-module fqy_array "$here/fqy_array.v" -GROWS=33 -GCOLS=32
make -s -C gen -f Vgen.mk OPT_FAST=-O1 OPT_SLOW=-O0 -j2 >/dev/null
make -s -C loop -f Vloop.mk OPT_FAST=-O1 OPT_SLOW=-O0 -j2 >/dev/null
vi=/usr/share/verilator/include
g++ -std=c++20 -O2 -I gen -I loop -I "$root" -I $vi -I $vi/vltstd "$here/compare.cpp" gen/Vgen__ALL.a loop/Vloop__ALL.a \
  $vi/verilated.cpp $vi/verilated_threads.cpp -o compare -lpthread
./compare "$cycles"
