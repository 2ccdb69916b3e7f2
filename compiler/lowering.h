// The lowering: one GEMM with its mapping becomes tile ops appended to a program
// (docs/compiler.md "Lowering and dependencies"). Each loop order is one function written with
// the building blocks of GemmLowering (compiler/lower_<order>.cpp); a new dataflow is a new
// LoopOrder, its candidates and cost in the mapper, and one new lowering function here.
// Dependencies are derived from slot hazards by the Emitter, never written by a lowering.
#pragma once

#include "compiler/mapper.h"
#include "model/ir/tile_program.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <vector>

namespace fq::compiler {

constexpr ir::OpId kNoOp = std::numeric_limits<ir::OpId>::max();

// Hazard bookkeeping of one buffer region: the last writer and the last reader per unit.
// Deps are added only across units; a unit issues and completes in program order (docs/isa.md).
struct Slot {
  uint32_t addr = 0;
  ir::OpId writer = kNoOp;
  std::array<ir::OpId, ir::kNumUnits> readers{kNoOp, kNoOp, kNoOp, kNoOp};
};

// The accesses of one byte range [begin, end) of a buffer by the GEMMs lowered so far.
struct RangeHistory {
  uint32_t begin = 0, end = 0;
  Slot slot;
};

// Per buffer, the earlier GEMMs' slots by byte range (the latest slot over each range). A new
// GEMM's slot starts from the accesses of the ranges it overlaps only, so it waits for the ops
// that used those bytes, not for everything the GEMM before did with the buffer: the next GEMM's
// loads and matmuls overlap the previous GEMM's last tiles, drain and stores.
class BufferHistory {
 public:
  // Every recorded access to bytes [begin, begin + bytes) folded into one slot at `begin`.
  Slot start(ir::Buffer buf, uint32_t begin, int64_t bytes, const ir::TileProgram& program) const;
  // `s`, covering [s.addr, s.addr + bytes), becomes the latest access of those bytes.
  void record(ir::Buffer buf, const Slot& s, int64_t bytes, const ir::TileProgram& program);

 private:
  std::array<std::vector<RangeHistory>, ir::kNumBuffers> m_ranges;
};

// Round-robin slots carved out of one buffer from `base`, each starting from the history of its bytes.
class SlotRing {
 public:
  SlotRing(ir::Buffer buf, uint32_t base, int64_t slot_bytes, int count, const BufferHistory& history,
           const ir::TileProgram& program);
  Slot& take();
  void record_into(BufferHistory& history, const ir::TileProgram& program) const;

 private:
  ir::Buffer m_buf;
  int64_t m_bytes;
  std::vector<Slot> m_slots;
  size_t m_next = 0;
};

// Appends ops with the dependencies their slot accesses imply.
class Emitter {
 public:
  explicit Emitter(ir::TileProgram& program) : m_p(program) {}
  // `reads` and `writes` are the slots the op touches; a read-modify-write slot is in both.
  ir::OpId emit(const ir::TileOp& op, std::initializer_list<Slot*> reads, std::initializer_list<Slot*> writes);

 private:
  ir::TileProgram& m_p;
  std::vector<ir::OpId> m_deps;
};

// One GEMM being lowered: its descriptor, its mapping, the wbuf, abuf and sbuf slot rings, and the
// ops every loop order is built from. The obuf layout belongs to the loop order (out_ring()).
class GemmLowering {
 public:
  GemmLowering(ir::TileProgram& program, uint32_t gemm, const Mapping& mapping, BufferHistory& history);

  const ir::GemmDesc& desc() const { return m_d; }
  const Mapping& mapping() const { return m_mp; }
  int64_t M() const { return m_d.m; }
  int64_t N() const { return m_d.n; }
  int64_t K() const { return m_d.k; }
  const SlotBytes& slot_bytes() const { return m_sb; }

  // An obuf ring of `count` slots of `bytes` from `base`; pass every ring to finish().
  SlotRing out_ring(uint32_t base, int64_t bytes, int count) const;

  // dma.load of the weight rows n0 .. n0+nt, K range k0 .. k0+kc, into the next wbuf slot.
  Slot& load_weights(int64_t n0, int64_t nt, int64_t k0, int64_t kc);
  // load_weights, then preload of that tile into the array.
  void load_and_preload(int64_t n0, int64_t nt, int64_t k0, int64_t kc);
  // dma.load of activation rows m0 .. m0+mc, K range k0 .. k0+kc (row stride kc), into the next abuf slot.
  Slot& load_acts(int64_t m0, int64_t mc, int64_t k0, int64_t kc);
  // dma.load of the whole mc x K activation block of rows m0 .. (a_resident).
  Slot& load_act_block(int64_t m0, int64_t mc);
  // matmul of the preloaded tile: activations at a.addr + a_off (row stride a_stride) into the
  // accumulators at acc.addr + acc_off (row stride 4 nt); acc=1 after the first K tile.
  void matmul(Slot& a, uint32_t a_off, int64_t a_stride, Slot& acc, uint32_t acc_off, int64_t m0, int64_t mc,
              int64_t nt, bool accumulate);
  // os.matmul of an mc x kc activation tile and an nt x kc weight tile into acc.
  void os_matmul(Slot& a, Slot& w, Slot& acc, int64_t m0, int64_t mc, int64_t n0, int64_t nt, int64_t k0, int64_t kc);
  // Scale loads, dequantisation and the two stores of one (m, n) output tile. `acc` and `y` are
  // the hazard slots holding the accumulators and the outputs (the same slot when they share one).
  void epilogue(Slot& acc, uint32_t acc_addr, Slot& y, uint32_t y_addr, int64_t m0, int64_t mc, int64_t n0, int64_t nt);

  // Hands every slot's accesses back to the buffer histories for the next GEMM.
  void finish(std::initializer_list<const SlotRing*> out_rings);

 private:
  ir::TileProgram& m_p;
  uint32_t m_g;
  const ir::GemmDesc& m_d;
  const Mapping& m_mp;
  BufferHistory& m_history;
  SlotBytes m_sb;
  int64_t m_row_bytes;  // bytes of one whole weight row in DRAM
  SlotRing m_wring, m_aring, m_sring;
  Emitter m_em;
};

// Calls f(start, extent) for the tiles of `tile` along [0, total), the last one possibly shorter:
// one loop of a loop nest.
template <class F>
void for_tiles(int64_t total, int64_t tile, F f) {
  for (int64_t x0 = 0; x0 < total; x0 += tile) f(x0, std::min(tile, total - x0));
}

// Calls f(k0, kc, first) for the K tiles of the n-tile starting at n0, in the mapping's order:
// the loop's (k0 ascending), or the beat schedule's (compiler.tile_order: beat). `first` is the
// first tile emitted, whose matmul starts the accumulators (acc=0): int32 sums wrap modulo 2^32,
// so any order of the K tiles gives the same accumulators bit for bit.
template <class F>
void for_k_tiles(const Mapping& mp, int64_t K, int64_t n0, F f) {
  if (mp.schedule == nullptr) {
    for_tiles(K, mp.kt, [&](int64_t k0, int64_t kc) { f(k0, kc, k0 == 0); });
    return;
  }
  const TileSchedule& ts = *mp.schedule;
  const int64_t j = n0 / mp.nt;
  for (int64_t r = 0; r < ts.grid.k_tiles; ++r) {
    const int64_t k0 = int64_t{ts.k_order[static_cast<size_t>(j * ts.grid.k_tiles + r)]} * mp.kt;
    f(k0, std::min<int64_t>(mp.kt, K - k0), r == 0);
  }
}

// The lowering of each loop order (compiler/lower_<order>.cpp).
void lower_mnk(GemmLowering& g);
void lower_nkm(GemmLowering& g);
void lower_os(GemmLowering& g);

// Lowers GEMM `gemm` of `program` (its descriptor already in program.gemms) with `mapping`.
void lower_gemm(ir::TileProgram& program, uint32_t gemm, const Mapping& mapping, BufferHistory& history);

}  // namespace fq::compiler
