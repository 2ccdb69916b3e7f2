// Loop order mnk (docs/compiler.md "Loop orders"): for m-chunk, for n-tile, for k-tile (in the
// mapping's K-tile order, for_k_tiles). The accumulators of one (m, n) tile stay in obuf over the
// K loop, then the same slot holds the outputs; with a_resident the m-chunk's whole activation
// block is loaded once for all n-tiles.
#include "compiler/lowering.h"

namespace fq::compiler {

void lower_mnk(GemmLowering& g) {
  const Mapping& mp = g.mapping();
  const int64_t o_tile = g.slot_bytes().out_tile;
  SlotRing accs = g.out_ring(0, 2 * o_tile, mp.o_slots);  // accumulators, then the outputs y of the same tile
  for_tiles(g.M(), mp.mc, [&](int64_t m0, int64_t mc) {
    Slot* block = mp.a_resident ? &g.load_act_block(m0, mc) : nullptr;
    for_tiles(g.N(), mp.nt, [&](int64_t n0, int64_t nt) {
      Slot& acc = accs.take();
      for_k_tiles(mp, g.K(), n0, [&](int64_t k0, int64_t kc, bool first) {
        g.load_and_preload(n0, nt, k0, kc);
        if (block != nullptr) {
          g.matmul(*block, static_cast<uint32_t>(k0), g.K(), acc, 0, m0, mc, nt, !first);
        } else {
          g.matmul(g.load_acts(m0, mc, k0, kc), 0, kc, acc, 0, m0, mc, nt, !first);
        }
      });
      g.epilogue(acc, acc.addr, acc, static_cast<uint32_t>(acc.addr + o_tile), m0, mc, n0, nt);
    });
  });
  g.finish({&accs});
}

}  // namespace fq::compiler
