// Loop order mnk (docs/compiler.md "Loop orders"): for m-chunk, for n-tile, for k-tile. The
// accumulators of one (m, n) tile stay in obuf over the K loop, then the same slot holds the
// outputs; with a_resident the m-chunk's whole activation block is loaded once for all n-tiles.
#include "compiler/lowering.h"

#include <algorithm>

namespace fq::compiler {

void lower_mnk(GemmLowering& g) {
  const Mapping& mp = g.mapping();
  const int64_t M = g.M(), N = g.N(), K = g.K();
  const int64_t o_tile = g.slot_bytes().out_tile;
  SlotRing accs = g.out_ring(0, 2 * o_tile, mp.o_slots);  // accumulators, then the outputs y of the same tile
  for (int64_t m0 = 0; m0 < M; m0 += mp.mc) {
    const int64_t mc = std::min<int64_t>(mp.mc, M - m0);
    Slot* block = mp.a_resident ? &g.load_act_block(m0, mc) : nullptr;
    for (int64_t n0 = 0; n0 < N; n0 += mp.nt) {
      const int64_t nt = std::min<int64_t>(mp.nt, N - n0);
      Slot& acc = accs.take();
      for (int64_t k0 = 0; k0 < K; k0 += mp.kt) {
        const int64_t kc = std::min<int64_t>(mp.kt, K - k0);
        g.load_and_preload(n0, nt, k0, kc);
        if (block != nullptr) {
          g.matmul(*block, static_cast<uint32_t>(k0), K, acc, 0, m0, mc, nt, k0 > 0);
        } else {
          g.matmul(g.load_acts(m0, mc, k0, kc), 0, kc, acc, 0, m0, mc, nt, k0 > 0);
        }
      }
      g.epilogue(acc, acc.addr, acc, static_cast<uint32_t>(acc.addr + o_tile), m0, mc, n0, nt);
    }
  }
  g.finish({&accs});
}

}  // namespace fq::compiler
