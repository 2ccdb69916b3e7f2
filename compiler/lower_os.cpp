// Loop order os, output stationary (docs/compiler.md "Loop orders"): for m-tile (mc <= array rows),
// for n-tile, for K chunk of kt: one os.matmul per chunk on an activation tile and a weight tile,
// accumulating in the PEs' output tile (acc=1 after the first chunk); then the epilogue.
#include "compiler/lowering.h"

namespace fq::compiler {

void lower_os(GemmLowering& g) {
  const Mapping& mp = g.mapping();
  const int64_t o_tile = g.slot_bytes().out_tile;
  SlotRing accs = g.out_ring(0, 2 * o_tile, mp.o_slots);
  for_tiles(g.M(), mp.mc, [&](int64_t m0, int64_t mc) {
    for_tiles(g.N(), mp.nt, [&](int64_t n0, int64_t nt) {
      Slot& acc = accs.take();
      for_tiles(g.K(), mp.kt, [&](int64_t k0, int64_t kc) {
        Slot& a = g.load_acts(m0, mc, k0, kc);
        Slot& w = g.load_weights(n0, nt, k0, kc);
        g.os_matmul(a, w, acc, m0, mc, n0, nt, k0, kc);
      });
      g.epilogue(acc, acc.addr, acc, static_cast<uint32_t>(acc.addr + o_tile), m0, mc, n0, nt);
    });
  });
  g.finish({&accs});
}

}  // namespace fq::compiler
