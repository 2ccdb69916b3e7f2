#include "compiler/compiler.h"

#include "model/core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>

namespace fq::compiler {
namespace {

using ir::Buffer;
using ir::OpId;
using ir::Opcode;
using ir::TileOp;

constexpr OpId kNone = std::numeric_limits<OpId>::max();

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t align_up(int64_t v, int64_t a) { return ceil_div(v, a) * a; }

// Smallest K step that keeps a tile on a cluster (FineQ-R) or byte (INTb) boundary.
int k_step(HwFormat format) { return format == HwFormat::kFineqR ? 3 : 8 / std::gcd(format_int_bits(format), 8); }

// Largest K extent of a weight-stationary tile.
int k_tile(const ArchConfig& arch, HwFormat format) { return arch.rows / k_step(format) * k_step(format); }

int64_t wrow(HwFormat format, int64_t k) { return static_cast<int64_t>(ir::weight_row_bytes(format, static_cast<uint64_t>(k))); }

// Beat length the cost model assumes: the spec's worst case (§5), 1 for a MAC PE.
int64_t beat_estimate(const ArchConfig& arch) { return arch.pe_kind == PeKind::kTemporal ? 4 : 1; }

void check_format(const ArchConfig& arch, const std::string& name, HwFormat format) {
  if (arch.pe_kind == PeKind::kTemporal && format != HwFormat::kFineqR) {
    fail("gemm '{}': temporal PEs run fineq_r weights only, but the tensor is {} (use a mac preset)", name,
         format_name(format));
  }
  if (arch.pe_kind == PeKind::kMac && (format == HwFormat::kFineqR || format_int_bits(format) != arch.weight_bits)) {
    fail("gemm '{}': mac PEs with pe.weight_bits {} cannot run {} weights", name, arch.weight_bits,
         format_name(format));
  }
}

// Fills buffer use, legality and the cost model of one candidate mapping.
Candidate evaluate(const ArchConfig& arch, int64_t M, int64_t N, int64_t K, HwFormat format, Mapping mp) {
  Candidate c;
  const int64_t kt = mp.kt, nt = mp.nt, mc = mp.mc;
  const int64_t nK = ceil_div(K, kt), nN = ceil_div(N, nt), nM = ceil_div(M, mc);
  auto slots = [](int64_t slot_bytes, int64_t capacity) -> int {
    if (2 * slot_bytes <= capacity) return 2;
    return slot_bytes <= capacity ? 1 : 0;
  };
  const int64_t w_slot = nt * wrow(format, kt);
  const int64_t a_slot = mp.a_resident ? mc * K : mc * kt;
  const int64_t s_slot = align_up(2 * nt, 4) + 4 * mc;
  mp.w_slots = slots(w_slot, arch.weight_bytes);
  mp.a_slots = slots(a_slot, arch.act_bytes);
  mp.s_slots = slots(s_slot, arch.scale_bytes);
  if (mp.order != LoopOrder::kNkm) {
    mp.o_slots = slots(8 * mc * nt, arch.out_bytes);
    mp.obuf_bytes = mp.o_slots * 8 * mc * nt;
  } else {
    const int64_t y_two = 2 * 4 * mc * nt;
    mp.o_slots = slots(4 * M * nt, arch.out_bytes - y_two);
    mp.obuf_bytes = mp.o_slots * 4 * M * nt + y_two;
  }
  mp.wbuf_bytes = mp.w_slots * w_slot;
  mp.abuf_bytes = mp.a_slots * a_slot;
  mp.sbuf_bytes = mp.s_slots * s_slot;

  const int64_t w_bytes = N * ((nK - 1) * wrow(format, kt) + wrow(format, K - (nK - 1) * kt));
  const int64_t s_reads = nM * N * 2 + nN * M * 4;
  const int64_t W = beat_estimate(arch);
  const int64_t matmul_cycles = W * (nN * nK * M + nM * nN * K + nM * nK * N - nM * nN * nK);
  if (mp.order == LoopOrder::kOs) {
    mp.dram_read_bytes = nM * w_bytes + nN * M * K + s_reads;
    mp.compute_cycles = matmul_cycles;
    mp.ops = nM * nN * nK * 3 + nM * nN * 5;
  } else if (mp.order == LoopOrder::kMnk) {
    mp.dram_read_bytes = nM * w_bytes + (mp.a_resident ? M * K : nN * M * K) + s_reads;
    mp.compute_cycles = nM * nN * K + matmul_cycles;
    mp.ops = nM * nN * nK * (mp.a_resident ? 3 : 4) + nM * nN * 5 + (mp.a_resident ? nM : 0);
  } else {
    mp.dram_read_bytes = w_bytes + nN * M * K + s_reads;
    mp.compute_cycles = nN * K + matmul_cycles;
    mp.ops = nN * nK * 2 + nN * nK * nM * 2 + nN * nM * 5;
  }
  mp.dram_write_bytes = 8 * M * N;
  mp.dram_cycles = ceil_div(std::max(mp.dram_read_bytes, mp.dram_write_bytes), arch.dram_bytes_per_cycle) +
                   arch.dram_latency_cycles;
  const bool overlapped = mp.w_slots == 2 && mp.a_slots == 2 && mp.o_slots == 2;
  mp.est_cycles = overlapped ? std::max(mp.compute_cycles, mp.dram_cycles) : mp.compute_cycles + mp.dram_cycles;
  c.mapping = mp;

  if (mp.w_slots == 0) {
    c.reason = fmt::format("a weight tile needs {} B, buffers.weight_bytes is {}", w_slot, arch.weight_bytes);
  } else if (mp.a_slots == 0) {
    c.reason = fmt::format("an activation tile needs {} B, buffers.act_bytes is {}", a_slot, arch.act_bytes);
  } else if (mp.o_slots == 0) {
    c.reason = mp.order != LoopOrder::kNkm
                   ? fmt::format("accumulators and outputs need {} B, buffers.out_bytes is {}", 8 * mc * nt,
                                 arch.out_bytes)
                   : fmt::format("all-M accumulators and two output tiles need {} B, buffers.out_bytes is {}",
                                 4 * M * nt + 8 * mc * nt, arch.out_bytes);
  } else if (mp.s_slots == 0) {
    c.reason = fmt::format("scales need {} B, buffers.scale_bytes is {}", s_slot, arch.scale_bytes);
  } else if (a_slot > std::numeric_limits<uint32_t>::max() || 4 * M * N > std::numeric_limits<uint32_t>::max()) {
    c.reason = "a DMA row or stride exceeds 32 bits";
  }
  c.legal = c.reason.empty();
  return c;
}

bool better(const Mapping& a, const Mapping& b) {
  if (a.est_cycles != b.est_cycles) return a.est_cycles < b.est_cycles;
  const int64_t ta = a.dram_read_bytes + a.dram_write_bytes, tb = b.dram_read_bytes + b.dram_write_bytes;
  if (ta != tb) return ta < tb;
  return a.ops < b.ops;
}

// Hazard bookkeeping of one buffer region: the last writer and the last reader per unit.
// Deps are added only across units; a unit issues and completes in program order (docs/isa.md).
struct Slot {
  uint32_t addr = 0;
  OpId writer = kNone;
  std::array<OpId, ir::kNumUnits> readers{kNone, kNone, kNone, kNone};
};

class Emitter {
 public:
  explicit Emitter(ir::TileProgram& program) : m_p(program) {}

  // `reads` and `writes` are the slots the op touches; a read-modify-write slot is in both.
  OpId emit(const TileOp& op, std::initializer_list<Slot*> reads, std::initializer_list<Slot*> writes) {
    const auto unit = static_cast<size_t>(ir::unit_of(op.opcode));
    m_deps.clear();
    auto dep = [&](OpId id) {
      if (id != kNone && static_cast<size_t>(ir::unit_of(m_p.op(id).opcode)) != unit &&
          std::find(m_deps.begin(), m_deps.end(), id) == m_deps.end()) {
        m_deps.push_back(id);
      }
    };
    for (Slot* s : reads) dep(s->writer);
    for (Slot* s : writes) {
      dep(s->writer);
      for (OpId r : s->readers) dep(r);
    }
    std::sort(m_deps.begin(), m_deps.end());
    const OpId id = m_p.add(op, m_deps);
    for (Slot* s : writes) {
      s->writer = id;
      s->readers.fill(kNone);
    }
    for (Slot* s : reads) s->readers[unit] = id;
    return id;
  }

 private:
  ir::TileProgram& m_p;
  std::vector<OpId> m_deps;
};

// Every access to one buffer so far, folded into one slot: the latest writer, and the latest
// accessor (reader or writer) per unit. Each GEMM's slots start from it, so GEMMs that reuse the
// same buffer addresses stay ordered.
void fold_into(Slot& history, const Slot& s, const ir::TileProgram& program) {
  auto later = [](OpId& into, OpId id) {
    if (id != kNone && (into == kNone || id > into)) into = id;
  };
  later(history.writer, s.writer);
  if (s.writer != kNone) later(history.readers[static_cast<size_t>(ir::unit_of(program.op(s.writer).opcode))], s.writer);
  for (size_t u = 0; u < s.readers.size(); ++u) later(history.readers[u], s.readers[u]);
}

// Round-robin slots carved out of one buffer from `base`, each starting from the buffer's history.
struct SlotRing {
  std::vector<Slot> slots;
  size_t next = 0;
  SlotRing(uint32_t base, int64_t slot_bytes, int count, const Slot& history) {
    for (int i = 0; i < count; ++i) {
      Slot s = history;
      s.addr = static_cast<uint32_t>(base + i * slot_bytes);
      slots.push_back(s);
    }
  }
  void fold_into(Slot& history, const ir::TileProgram& program) const {
    for (const Slot& s : slots) compiler::fold_into(history, s, program);
  }
  Slot& take() {
    Slot& s = slots[next];
    next = (next + 1) % slots.size();
    return s;
  }
};

// A 2-D DMA: `rows` rows of `bytes` bytes, from `src` (stride `src_stride`) to `dst`.
TileOp dma(Opcode opcode, Buffer buf, uint64_t src, uint64_t dst, int64_t rows, int64_t bytes, int64_t src_stride,
           int64_t dst_stride) {
  TileOp op;
  op.opcode = opcode;
  op.buf = buf;
  op.src = src;
  op.dst = dst;
  op.rows = static_cast<uint32_t>(rows);
  op.bytes = static_cast<uint32_t>(bytes);
  op.src_stride = static_cast<uint32_t>(src_stride);
  op.dst_stride = static_cast<uint32_t>(dst_stride);
  return op;
}

TileOp dma_load(Buffer buf, uint32_t dst, uint64_t src, int64_t rows, int64_t bytes, int64_t src_stride,
                int64_t dst_stride) {
  return dma(Opcode::kDmaLoad, buf, src, dst, rows, bytes, src_stride, dst_stride);
}

TileOp dma_store(uint32_t src, uint64_t dst, int64_t rows, int64_t bytes, int64_t src_stride, int64_t dst_stride) {
  return dma(Opcode::kDmaStore, Buffer::kObuf, src, dst, rows, bytes, src_stride, dst_stride);
}

using BufferHistory = std::array<Slot, ir::kNumBuffers>;

Slot& of(BufferHistory& h, Buffer b) { return h[static_cast<size_t>(b)]; }

// Lowers one GEMM with its chosen mapping (docs/compiler.md "Lowering and dependencies").
void lower_gemm(ir::TileProgram& program, uint32_t g, const Mapping& mp, BufferHistory& history) {
  const ir::GemmDesc& d = program.gemms[g];
  const int64_t M = d.m, N = d.n, K = d.k;
  const int64_t row_bytes = wrow(d.format, K);
  const int64_t w_slot = static_cast<int64_t>(mp.nt) * wrow(d.format, mp.kt);
  const int64_t a_slot = mp.a_resident ? static_cast<int64_t>(mp.mc) * K : static_cast<int64_t>(mp.mc) * mp.kt;
  const int64_t ws_bytes = align_up(2 * mp.nt, 4);
  const int64_t s_slot = ws_bytes + 4 * mp.mc;
  SlotRing wring(0, w_slot, mp.w_slots, of(history, Buffer::kWbuf));
  SlotRing aring(0, a_slot, mp.a_slots, of(history, Buffer::kAbuf));
  SlotRing sring(0, s_slot, mp.s_slots, of(history, Buffer::kSbuf));
  Emitter em(program);
  // Hands every slot's accesses back to the buffer histories for the next GEMM.
  auto finish = [&](std::initializer_list<const SlotRing*> out_rings) {
    wring.fold_into(of(history, Buffer::kWbuf), program);
    aring.fold_into(of(history, Buffer::kAbuf), program);
    sring.fold_into(of(history, Buffer::kSbuf), program);
    for (const SlotRing* r : out_rings) r->fold_into(of(history, Buffer::kObuf), program);
  };

  // Scale loads, dequantisation and the two stores of one (m, n) output tile. `acc` and `y` are
  // the hazard slots holding the accumulators and the outputs (the same slot when they share one).
  auto epilogue = [&](Slot& acc, uint32_t acc_addr, Slot& y, uint32_t y_addr, int64_t m0, int64_t mc, int64_t n0,
                      int64_t nt) {
    Slot& s = sring.take();
    em.emit(dma_load(Buffer::kSbuf, s.addr, d.ws_addr + 2 * n0, 1, 2 * nt, 0, 0), {}, {&s});
    em.emit(dma_load(Buffer::kSbuf, static_cast<uint32_t>(s.addr + ws_bytes), d.as_addr + 4 * m0, 1, 4 * mc, 0, 0),
            {}, {&s});
    TileOp dq;
    dq.opcode = Opcode::kDequant;
    dq.gemm = g;
    dq.src = acc_addr;
    dq.src_stride = static_cast<uint32_t>(4 * nt);
    dq.ws = s.addr;
    dq.as = static_cast<uint32_t>(s.addr + ws_bytes);
    dq.dst = y_addr;
    dq.dst_stride = static_cast<uint32_t>(4 * nt);
    dq.m0 = static_cast<uint32_t>(m0);
    dq.m = static_cast<uint32_t>(mc);
    dq.n0 = static_cast<uint32_t>(n0);
    dq.n = static_cast<uint32_t>(nt);
    em.emit(dq, {&acc, &s}, {&y});
    em.emit(dma_store(acc_addr, d.acc_addr + 4 * (m0 * N + n0), mc, 4 * nt, 4 * nt, 4 * N), {&acc}, {});
    em.emit(dma_store(y_addr, d.y_addr + 4 * (m0 * N + n0), mc, 4 * nt, 4 * nt, 4 * N), {&y}, {});
  };
  const int64_t k_bits = d.format == HwFormat::kFineqR ? 0 : format_int_bits(d.format);
  auto k0_byte = [&](int64_t k0) { return d.format == HwFormat::kFineqR ? k0 / 3 : k0 * k_bits / 8; };
  auto load_w = [&](int64_t n0, int64_t nt, int64_t k0, int64_t kc) -> Slot& {
    Slot& w = wring.take();
    const int64_t bytes = wrow(d.format, kc);
    em.emit(dma_load(Buffer::kWbuf, w.addr, d.w_addr + n0 * row_bytes + k0_byte(k0), nt, bytes, row_bytes, bytes),
            {}, {&w});
    TileOp pl;
    pl.opcode = Opcode::kPreload;
    pl.gemm = g;
    pl.src = w.addr;
    pl.src_stride = static_cast<uint32_t>(bytes);
    pl.k0 = static_cast<uint32_t>(k0);
    pl.k = static_cast<uint32_t>(kc);
    pl.n0 = static_cast<uint32_t>(n0);
    pl.n = static_cast<uint32_t>(nt);
    em.emit(pl, {&w}, {});
    return w;
  };
  auto matmul = [&](Slot& a, uint32_t a_off, int64_t a_stride, Slot& acc, uint32_t acc_off, int64_t m0,
                    int64_t mc, int64_t nt, bool accumulate) {
    TileOp mm;
    mm.opcode = Opcode::kMatmul;
    mm.gemm = g;
    mm.src = a.addr + a_off;
    mm.src_stride = static_cast<uint32_t>(a_stride);
    mm.dst = acc.addr + acc_off;
    mm.dst_stride = static_cast<uint32_t>(4 * nt);
    mm.m0 = static_cast<uint32_t>(m0);
    mm.m = static_cast<uint32_t>(mc);
    mm.acc = accumulate ? 1 : 0;
    if (accumulate) {
      em.emit(mm, {&a, &acc}, {&acc});
    } else {
      em.emit(mm, {&a}, {&acc});
    }
  };

  if (mp.order == LoopOrder::kOs) {
    const int64_t o_tile = 4 * static_cast<int64_t>(mp.mc) * mp.nt;
    SlotRing accs(0, 2 * o_tile, mp.o_slots, of(history, Buffer::kObuf));
    for (int64_t m0 = 0; m0 < M; m0 += mp.mc) {
      const int64_t mc = std::min<int64_t>(mp.mc, M - m0);
      for (int64_t n0 = 0; n0 < N; n0 += mp.nt) {
        const int64_t nt = std::min<int64_t>(mp.nt, N - n0);
        Slot& acc = accs.take();
        for (int64_t k0 = 0; k0 < K; k0 += mp.kt) {
          const int64_t kc = std::min<int64_t>(mp.kt, K - k0);
          const int64_t bytes = wrow(d.format, kc);
          Slot& a = aring.take();
          em.emit(dma_load(Buffer::kAbuf, a.addr, d.a_addr + m0 * d.a_stride + k0, mc, kc, d.a_stride, kc), {}, {&a});
          Slot& w = wring.take();
          em.emit(dma_load(Buffer::kWbuf, w.addr, d.w_addr + n0 * row_bytes + k0_byte(k0), nt, bytes, row_bytes, bytes),
                  {}, {&w});
          TileOp os;
          os.opcode = Opcode::kOsMatmul;
          os.gemm = g;
          os.src = a.addr;
          os.src_stride = static_cast<uint32_t>(kc);
          os.w_src = w.addr;
          os.w_stride = static_cast<uint32_t>(bytes);
          os.dst = acc.addr;
          os.dst_stride = static_cast<uint32_t>(4 * nt);
          os.m0 = static_cast<uint32_t>(m0);
          os.m = static_cast<uint32_t>(mc);
          os.k0 = static_cast<uint32_t>(k0);
          os.k = static_cast<uint32_t>(kc);
          os.n0 = static_cast<uint32_t>(n0);
          os.n = static_cast<uint32_t>(nt);
          os.acc = k0 > 0 ? 1 : 0;
          if (k0 > 0) {
            em.emit(os, {&a, &w, &acc}, {&acc});
          } else {
            em.emit(os, {&a, &w}, {&acc});
          }
        }
        epilogue(acc, acc.addr, acc, static_cast<uint32_t>(acc.addr + o_tile), m0, mc, n0, nt);
      }
    }
    finish({&accs});
    return;
  }

  if (mp.order == LoopOrder::kMnk) {
    const int64_t o_tile = 4 * static_cast<int64_t>(mp.mc) * mp.nt;
    SlotRing accs(0, 2 * o_tile, mp.o_slots, of(history, Buffer::kObuf));
    for (int64_t m0 = 0; m0 < M; m0 += mp.mc) {
      const int64_t mc = std::min<int64_t>(mp.mc, M - m0);
      Slot* block = nullptr;
      if (mp.a_resident) {
        block = &aring.take();
        em.emit(dma_load(Buffer::kAbuf, block->addr, d.a_addr + m0 * d.a_stride, mc, K, d.a_stride, K), {}, {block});
      }
      for (int64_t n0 = 0; n0 < N; n0 += mp.nt) {
        const int64_t nt = std::min<int64_t>(mp.nt, N - n0);
        Slot& acc = accs.take();  // accumulators, then the outputs y of the same tile
        for (int64_t k0 = 0; k0 < K; k0 += mp.kt) {
          const int64_t kc = std::min<int64_t>(mp.kt, K - k0);
          load_w(n0, nt, k0, kc);
          if (mp.a_resident) {
            matmul(*block, static_cast<uint32_t>(k0), K, acc, 0, m0, mc, nt, k0 > 0);
          } else {
            Slot& a = aring.take();
            em.emit(dma_load(Buffer::kAbuf, a.addr, d.a_addr + m0 * d.a_stride + k0, mc, kc, d.a_stride, kc), {},
                    {&a});
            matmul(a, 0, kc, acc, 0, m0, mc, nt, k0 > 0);
          }
        }
        epilogue(acc, acc.addr, acc, static_cast<uint32_t>(acc.addr + o_tile), m0, mc, n0, nt);
      }
    }
    finish({&accs});
    return;
  }

  // kNkm: all-M accumulators for one n-tile, then two y slots after them.
  const int64_t acc_region = 4 * M * mp.nt;
  SlotRing accs(0, acc_region, mp.o_slots, of(history, Buffer::kObuf));
  SlotRing ys(static_cast<uint32_t>(mp.o_slots * acc_region), 4 * static_cast<int64_t>(mp.mc) * mp.nt, 2,
              of(history, Buffer::kObuf));
  for (int64_t n0 = 0; n0 < N; n0 += mp.nt) {
    const int64_t nt = std::min<int64_t>(mp.nt, N - n0);
    Slot& acc = accs.take();
    for (int64_t k0 = 0; k0 < K; k0 += mp.kt) {
      const int64_t kc = std::min<int64_t>(mp.kt, K - k0);
      load_w(n0, nt, k0, kc);
      for (int64_t m0 = 0; m0 < M; m0 += mp.mc) {
        const int64_t mc = std::min<int64_t>(mp.mc, M - m0);
        Slot& a = aring.take();
        em.emit(dma_load(Buffer::kAbuf, a.addr, d.a_addr + m0 * d.a_stride + k0, mc, kc, d.a_stride, kc), {}, {&a});
        matmul(a, 0, kc, acc, static_cast<uint32_t>(4 * m0 * nt), m0, mc, nt, k0 > 0);
      }
    }
    for (int64_t m0 = 0; m0 < M; m0 += mp.mc) {
      const int64_t mc = std::min<int64_t>(mp.mc, M - m0);
      Slot& y = ys.take();
      epilogue(acc, static_cast<uint32_t>(acc.addr + 4 * m0 * nt), y, y.addr, m0, mc, n0, nt);
    }
  }
  finish({&accs, &ys});
}

}  // namespace

const char* to_string(LoopOrder order) {
  switch (order) {
    case LoopOrder::kMnk: return "mnk";
    case LoopOrder::kNkm: return "nkm";
    case LoopOrder::kOs: return "os";
  }
  return "invalid";
}

GemmPlan plan_gemm(const ArchConfig& arch, const std::string& name, int m, int n, int k, HwFormat format) {
  if (m <= 0 || n <= 0 || k <= 0) fail("gemm '{}': shape M={} N={} K={} must be positive", name, m, n, k);
  check_format(arch, name, format);
  GemmPlan plan;
  plan.name = name;
  plan.m = m;
  plan.n = n;
  plan.k = k;
  plan.format = format;
  const int kt = std::min(k_tile(arch, format), k);
  if (kt <= 0 && arch.dataflow == Dataflow::kWeightStationary) {
    fail("gemm '{}': array.rows = {} cannot hold one whole {} weight group (a tile starts on a {} boundary)", name,
         arch.rows, format_name(format), format == HwFormat::kFineqR ? "cluster" : "byte");
  }
  const int nt = std::min(arch.cols, n);
  if (arch.dataflow == Dataflow::kOutputStationary) {
    // Output stationary: an mc x nt output tile per array pass; the search varies the K chunk.
    std::vector<int> kcs;
    for (int kc = k_step(format); kc < k; kc *= 2) kcs.push_back(kc);
    kcs.push_back(k);
    for (int kc : kcs) {
      Mapping mp;
      mp.order = LoopOrder::kOs;
      mp.kt = kc;
      mp.nt = nt;
      mp.mc = std::min(arch.rows, m);
      plan.candidates.push_back(evaluate(arch, m, n, k, format, mp));
    }
  }
  if (arch.dataflow == Dataflow::kWeightStationary) {
    std::vector<int> chunks;
    for (int mc = 1; mc < m; mc *= 2) chunks.push_back(mc);
    chunks.push_back(m);
    for (int mc : chunks) {
      for (const auto& [order, resident] : {std::pair{LoopOrder::kMnk, false}, std::pair{LoopOrder::kMnk, true},
                                            std::pair{LoopOrder::kNkm, false}}) {
        Mapping mp;
        mp.order = order;
        mp.a_resident = resident;
        mp.kt = kt;
        mp.nt = nt;
        mp.mc = mc;
        plan.candidates.push_back(evaluate(arch, m, n, k, format, mp));
      }
    }
  }
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const Candidate& c = plan.candidates[i];
    if (!c.legal) continue;
    if (plan.chosen < 0 || better(c.mapping, plan.mapping())) plan.chosen = static_cast<int>(i);
  }
  if (plan.chosen < 0) {
    const Candidate& smallest = plan.candidates.front();
    fail("gemm '{}' (M={} N={} K={}, {}): no mapping fits the buffers; the smallest candidate ({} order, kt={} "
         "nt={} mc={}): {}",
         name, m, n, k, format_name(format), to_string(smallest.mapping.order), smallest.mapping.kt,
         smallest.mapping.nt, smallest.mapping.mc, smallest.reason);
  }
  return plan;
}

namespace {

void check_input(const GemmInput& in) {
  const EncodedMatrix& w = in.weights->matrix;
  const std::string& name = in.weights->name;
  if (in.acts.cols != w.cols) {
    fail("gemm '{}': activations have K = {} but the weights have K = {}", name, in.acts.cols, w.cols);
  }
  if (w.group_size != 0) {
    fail("gemm '{}': group scales (group {}) are a software-only option; the hardware path needs per-row scales", name,
         w.group_size);
  }
  if (in.acts.q.size() != static_cast<size_t>(in.acts.rows) * static_cast<size_t>(in.acts.cols) ||
      in.acts.scales.size() != static_cast<size_t>(in.acts.rows)) {
    fail("gemm '{}': activation arrays do not match their shape [{}, {}]", name, in.acts.rows, in.acts.cols);
  }
}

}  // namespace

CompiledLayer compile_layer(const ArchConfig& arch, std::span<const GemmInput> gemms) {
  if (gemms.empty()) fail("compile: the layer has no GEMM");
  std::vector<GemmPlan> plans;
  for (const GemmInput& in : gemms) {
    check_input(in);
    plans.push_back(plan_gemm(arch, in.weights->name, in.acts.rows, in.weights->matrix.rows, in.weights->matrix.cols,
                              in.weights->matrix.format));
  }
  return lower_layer(arch, gemms, std::move(plans));
}

CompiledLayer lower_layer(const ArchConfig& arch, std::span<const GemmInput> gemms, std::vector<GemmPlan> plans) {
  if (plans.size() != gemms.size()) fail("compile: {} plans for {} GEMMs", plans.size(), gemms.size());
  CompiledLayer out;
  out.plans = std::move(plans);
  out.program.arch_fingerprint = fingerprint(arch);
  out.program.arch_name = arch.name;
  out.memory.arch_fingerprint = out.program.arch_fingerprint;
  for (const GemmInput& in : gemms) {
    check_input(in);
    const EncodedMatrix& w = in.weights->matrix;
    const std::string& name = in.weights->name;
    ir::GemmDesc d;
    d.name = name;
    d.format = w.format;
    d.m = static_cast<uint32_t>(in.acts.rows);
    d.n = static_cast<uint32_t>(w.rows);
    d.k = static_cast<uint32_t>(w.cols);
    d.a_stride = d.k;
    auto& mem = out.memory;
    d.w_addr = mem.allocate(name + ".w", w.codes.size());
    mem.write(d.w_addr, w.codes);
    d.ws_addr = mem.allocate(name + ".ws", 2 * w.scales.size());
    for (size_t i = 0; i < w.scales.size(); ++i) mem.write_u16(d.ws_addr + 2 * i, w.scales[i]);
    d.a_addr = mem.allocate(name + ".a", in.acts.q.size());
    mem.write(d.a_addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.acts.q.data()), in.acts.q.size()));
    d.as_addr = mem.allocate(name + ".as", 4 * in.acts.scales.size());
    for (size_t i = 0; i < in.acts.scales.size(); ++i) mem.write_f32(d.as_addr + 4 * i, in.acts.scales[i]);
    d.acc_addr = mem.allocate(name + ".acc", uint64_t{4} * d.m * d.n);
    d.y_addr = mem.allocate(name + ".y", uint64_t{4} * d.m * d.n);
    out.program.gemms.push_back(d);
  }
  int64_t ops = 0;
  for (const GemmPlan& p : out.plans) ops += p.candidates[static_cast<size_t>(std::max(p.chosen, 0))].mapping.ops;
  out.program.reserve(static_cast<size_t>(ops), static_cast<size_t>(2 * ops));
  BufferHistory history;
  for (uint32_t g = 0; g < out.program.gemms.size(); ++g) {
    const GemmPlan& p = out.plans[g];
    if (p.chosen < 0 || !p.candidates[static_cast<size_t>(p.chosen)].legal) {
      fail("compile: gemm '{}' has no legal mapping chosen", p.name);
    }
    lower_gemm(out.program, g, p.mapping(), history);
  }
  return out;
}

std::string mapping_summary(const CompiledLayer& layer) {
  std::string s = fmt::format("{:<16} {:>6} {:>6} {:>6} {:>8} {:>5} {:>4} {:>4} {:>5} {:>10} {:>12} {:>12}\n", "gemm",
                              "M", "N", "K", "format", "order", "kt", "nt", "mc", "ops", "dram_rd_B", "est_cycles");
  for (const GemmPlan& p : layer.plans) {
    const Mapping& mp = p.mapping();
    s += fmt::format("{:<16} {:>6} {:>6} {:>6} {:>8} {:>5} {:>4} {:>4} {:>5} {:>10} {:>12} {:>12}\n", p.name, p.m, p.n,
                     p.k, format_name(p.format), fmt::format("{}{}", to_string(mp.order), mp.a_resident ? "+A" : ""),
                     mp.kt, mp.nt, mp.mc, mp.ops, mp.dram_read_bytes, mp.est_cycles);
  }
  return s;
}

std::string explain(const GemmPlan& plan) {
  std::string s = fmt::format("gemm {} (M={} N={} K={}, {}): {} candidates\n", plan.name, plan.m, plan.n, plan.k,
                              format_name(plan.format), plan.candidates.size());
  s += fmt::format("  {:<6} {:>5} {:>4} {:>4} {:>9} {:>9} {:>9} {:>7} {:>12} {:>12} {:>12} {:>12}  {}\n", "order", "mc",
                   "kt", "nt", "wbuf_B", "abuf_B", "obuf_B", "slots", "dram_rd_B", "compute_cyc", "dram_cyc",
                   "est_cycles", "verdict");
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const Candidate& c = plan.candidates[i];
    const Mapping& mp = c.mapping;
    const std::string verdict = static_cast<int>(i) == plan.chosen ? "<- chosen" : (c.legal ? "" : c.reason);
    s += fmt::format("  {:<6} {:>5} {:>4} {:>4} {:>9} {:>9} {:>9} {:>7} {:>12} {:>12} {:>12} {:>12}  {}\n",
                     fmt::format("{}{}", to_string(mp.order), mp.a_resident ? "+A" : ""), mp.mc, mp.kt, mp.nt,
                     mp.wbuf_bytes, mp.abuf_bytes, mp.obuf_bytes,
                     fmt::format("{}{}{}{}", mp.w_slots, mp.a_slots, mp.o_slots, mp.s_slots), mp.dram_read_bytes,
                     mp.compute_cycles, mp.dram_cycles, mp.est_cycles, verdict);
  }
  const Mapping& w = plan.mapping();
  s += fmt::format(
      "  chosen: {}{} mc={}: lowest estimated cycles ({} = {} of compute {} and DRAM {}); ties go to fewer DRAM bytes, "
      "then fewer ops\n",
      to_string(w.order), w.a_resident ? "+A" : "", w.mc, w.est_cycles,
      w.w_slots == 2 && w.a_slots == 2 && w.o_slots == 2 ? "max" : "sum (not double-buffered)", w.compute_cycles,
      w.dram_cycles);
  return s;
}

}  // namespace fq::compiler
