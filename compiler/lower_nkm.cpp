// Loop order nkm (docs/compiler.md "Loop orders"): for n-tile, for k-tile (in the mapping's K-tile
// order, for_k_tiles), for m-chunk. Each weight tile is loaded and preloaded once; the
// accumulators of all M rows of the n-tile stay in obuf (o_slots regions of 4 M nt bytes),
// followed by two output slots for the epilogues.
#include "compiler/lowering.h"

namespace fq::compiler {

void lower_nkm(GemmLowering& g) {
  const Mapping& mp = g.mapping();
  const int64_t acc_region = 4 * g.M() * mp.nt;
  SlotRing accs = g.out_ring(0, acc_region, mp.o_slots);
  SlotRing ys = g.out_ring(static_cast<uint32_t>(mp.o_slots * acc_region), g.slot_bytes().out_tile, 2);
  for_tiles(g.N(), mp.nt, [&](int64_t n0, int64_t nt) {
    Slot& acc = accs.take();
    for_k_tiles(mp, g.K(), n0, [&](int64_t k0, int64_t kc, bool first) {
      g.load_and_preload(n0, nt, k0, kc);
      for_tiles(g.M(), mp.mc, [&](int64_t m0, int64_t mc) {
        g.matmul(g.load_acts(m0, mc, k0, kc), 0, kc, acc, static_cast<uint32_t>(4 * m0 * nt), m0, mc, nt, !first);
      });
    });
    for_tiles(g.M(), mp.mc, [&](int64_t m0, int64_t mc) {
      Slot& y = ys.take();
      g.epilogue(acc, static_cast<uint32_t>(acc.addr + 4 * m0 * nt), y, y.addr, m0, mc, n0, nt);
    });
  });
  g.finish({&accs, &ys});
}

}  // namespace fq::compiler
