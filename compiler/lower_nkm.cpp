// Loop order nkm (docs/compiler.md "Loop orders"): for n-tile, for k-tile, for m-chunk. Each weight
// tile is loaded and preloaded once; the accumulators of all M rows of the n-tile stay in obuf
// (o_slots regions of 4 M nt bytes), followed by two output slots for the epilogues.
#include "compiler/lowering.h"

#include <algorithm>

namespace fq::compiler {

void lower_nkm(GemmLowering& g) {
  const Mapping& mp = g.mapping();
  const int64_t M = g.M(), N = g.N(), K = g.K();
  const int64_t acc_region = 4 * M * mp.nt;
  SlotRing accs = g.out_ring(0, acc_region, mp.o_slots);
  SlotRing ys = g.out_ring(static_cast<uint32_t>(mp.o_slots * acc_region), g.slot_bytes().out_tile, 2);
  for (int64_t n0 = 0; n0 < N; n0 += mp.nt) {
    const int64_t nt = std::min<int64_t>(mp.nt, N - n0);
    Slot& acc = accs.take();
    for (int64_t k0 = 0; k0 < K; k0 += mp.kt) {
      const int64_t kc = std::min<int64_t>(mp.kt, K - k0);
      g.load_and_preload(n0, nt, k0, kc);
      for (int64_t m0 = 0; m0 < M; m0 += mp.mc) {
        const int64_t mc = std::min<int64_t>(mp.mc, M - m0);
        g.matmul(g.load_acts(m0, mc, k0, kc), 0, kc, acc, static_cast<uint32_t>(4 * m0 * nt), m0, mc, nt, k0 > 0);
      }
    }
    for (int64_t m0 = 0; m0 < M; m0 += mp.mc) {
      const int64_t mc = std::min<int64_t>(mp.mc, M - m0);
      Slot& y = ys.take();
      g.epilogue(acc, static_cast<uint32_t>(acc.addr + 4 * m0 * nt), y, y.addr, m0, mc, n0, nt);
    }
  }
  g.finish({&accs, &ys});
}

}  // namespace fq::compiler
