#include "compiler/lowering.h"

#include "model/core/error.h"

#include <algorithm>

namespace fq::compiler {
namespace {

using ir::Buffer;
using ir::Opcode;
using ir::OpId;
using ir::TileOp;

Slot& of(BufferHistory& h, Buffer b) { return h[static_cast<size_t>(b)]; }

// Every access of `s` folded into `history`: the latest writer, and the latest accessor (reader or
// writer) per unit.
void fold_slot(Slot& history, const Slot& s, const ir::TileProgram& program) {
  auto later = [](OpId& into, OpId id) {
    if (id != kNoOp && (into == kNoOp || id > into)) into = id;
  };
  later(history.writer, s.writer);
  if (s.writer != kNoOp) {
    later(history.readers[static_cast<size_t>(ir::unit_of(program.op(s.writer).opcode))], s.writer);
  }
  for (size_t u = 0; u < s.readers.size(); ++u) later(history.readers[u], s.readers[u]);
}

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

}  // namespace

SlotRing::SlotRing(uint32_t base, int64_t slot_bytes, int count, const Slot& history) {
  for (int i = 0; i < count; ++i) {
    Slot s = history;
    s.addr = static_cast<uint32_t>(base + i * slot_bytes);
    m_slots.push_back(s);
  }
}

Slot& SlotRing::take() {
  Slot& s = m_slots[m_next];
  m_next = (m_next + 1) % m_slots.size();
  return s;
}

void SlotRing::fold_into(Slot& history, const ir::TileProgram& program) const {
  for (const Slot& s : m_slots) fold_slot(history, s, program);
}

OpId Emitter::emit(const TileOp& op, std::initializer_list<Slot*> reads, std::initializer_list<Slot*> writes) {
  const auto unit = static_cast<size_t>(ir::unit_of(op.opcode));
  m_deps.clear();
  auto dep = [&](OpId id) {
    if (id != kNoOp && static_cast<size_t>(ir::unit_of(m_p.op(id).opcode)) != unit &&
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
    s->readers.fill(kNoOp);
  }
  for (Slot* s : reads) s->readers[unit] = id;
  return id;
}

GemmLowering::GemmLowering(ir::TileProgram& program, uint32_t gemm, const Mapping& mapping, BufferHistory& history)
    : m_p(program),
      m_g(gemm),
      m_d(program.gemms[gemm]),
      m_mp(mapping),
      m_history(history),
      m_sb(compiler::slot_bytes(mapping, m_d.format, m_d.k)),
      m_row_bytes(weight_row_bytes(m_d.format, m_d.k)),
      m_wring(0, m_sb.w, mapping.w_slots, of(history, Buffer::kWbuf)),
      m_aring(0, m_sb.a, mapping.a_slots, of(history, Buffer::kAbuf)),
      m_sring(0, m_sb.s, mapping.s_slots, of(history, Buffer::kSbuf)),
      m_em(program) {}

SlotRing GemmLowering::out_ring(uint32_t base, int64_t bytes, int count) const {
  return SlotRing(base, bytes, count, m_history[static_cast<size_t>(Buffer::kObuf)]);
}

Slot& GemmLowering::load_weights(int64_t n0, int64_t nt, int64_t k0, int64_t kc) {
  Slot& w = m_wring.take();
  const int64_t bytes = weight_row_bytes(m_d.format, kc);
  m_em.emit(dma_load(Buffer::kWbuf, w.addr, m_d.w_addr + n0 * m_row_bytes + weight_k0_byte(m_d.format, k0), nt, bytes,
                     m_row_bytes, bytes),
            {}, {&w});
  return w;
}

void GemmLowering::load_and_preload(int64_t n0, int64_t nt, int64_t k0, int64_t kc) {
  Slot& w = load_weights(n0, nt, k0, kc);
  TileOp pl;
  pl.opcode = Opcode::kPreload;
  pl.gemm = m_g;
  pl.src = w.addr;
  pl.src_stride = static_cast<uint32_t>(weight_row_bytes(m_d.format, kc));
  pl.k0 = static_cast<uint32_t>(k0);
  pl.k = static_cast<uint32_t>(kc);
  pl.n0 = static_cast<uint32_t>(n0);
  pl.n = static_cast<uint32_t>(nt);
  m_em.emit(pl, {&w}, {});
}

Slot& GemmLowering::load_acts(int64_t m0, int64_t mc, int64_t k0, int64_t kc) {
  Slot& a = m_aring.take();
  m_em.emit(dma_load(Buffer::kAbuf, a.addr, m_d.a_addr + m0 * m_d.a_stride + k0, mc, kc, m_d.a_stride, kc), {}, {&a});
  return a;
}

Slot& GemmLowering::load_act_block(int64_t m0, int64_t mc) {
  Slot& a = m_aring.take();
  m_em.emit(dma_load(Buffer::kAbuf, a.addr, m_d.a_addr + m0 * m_d.a_stride, mc, K(), m_d.a_stride, K()), {}, {&a});
  return a;
}

void GemmLowering::matmul(Slot& a, uint32_t a_off, int64_t a_stride, Slot& acc, uint32_t acc_off, int64_t m0,
                          int64_t mc, int64_t nt, bool accumulate) {
  TileOp mm;
  mm.opcode = Opcode::kMatmul;
  mm.gemm = m_g;
  mm.src = a.addr + a_off;
  mm.src_stride = static_cast<uint32_t>(a_stride);
  mm.dst = acc.addr + acc_off;
  mm.dst_stride = static_cast<uint32_t>(4 * nt);
  mm.m0 = static_cast<uint32_t>(m0);
  mm.m = static_cast<uint32_t>(mc);
  mm.acc = accumulate ? 1 : 0;
  if (accumulate) {
    m_em.emit(mm, {&a, &acc}, {&acc});
  } else {
    m_em.emit(mm, {&a}, {&acc});
  }
}

void GemmLowering::os_matmul(Slot& a, Slot& w, Slot& acc, int64_t m0, int64_t mc, int64_t n0, int64_t nt, int64_t k0,
                             int64_t kc) {
  TileOp os;
  os.opcode = Opcode::kOsMatmul;
  os.gemm = m_g;
  os.src = a.addr;
  os.src_stride = static_cast<uint32_t>(kc);
  os.w_src = w.addr;
  os.w_stride = static_cast<uint32_t>(weight_row_bytes(m_d.format, kc));
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
    m_em.emit(os, {&a, &w, &acc}, {&acc});
  } else {
    m_em.emit(os, {&a, &w}, {&acc});
  }
}

void GemmLowering::epilogue(Slot& acc, uint32_t acc_addr, Slot& y, uint32_t y_addr, int64_t m0, int64_t mc, int64_t n0,
                            int64_t nt) {
  Slot& s = m_sring.take();
  const auto as_addr = static_cast<uint32_t>(s.addr + m_sb.ws);
  m_em.emit(dma_load(Buffer::kSbuf, s.addr, m_d.ws_addr + 2 * n0, 1, 2 * nt, 0, 0), {}, {&s});
  m_em.emit(dma_load(Buffer::kSbuf, as_addr, m_d.as_addr + 4 * m0, 1, 4 * mc, 0, 0), {}, {&s});
  TileOp dq;
  dq.opcode = Opcode::kDequant;
  dq.gemm = m_g;
  dq.src = acc_addr;
  dq.src_stride = static_cast<uint32_t>(4 * nt);
  dq.ws = s.addr;
  dq.as = as_addr;
  dq.dst = y_addr;
  dq.dst_stride = static_cast<uint32_t>(4 * nt);
  dq.m0 = static_cast<uint32_t>(m0);
  dq.m = static_cast<uint32_t>(mc);
  dq.n0 = static_cast<uint32_t>(n0);
  dq.n = static_cast<uint32_t>(nt);
  m_em.emit(dq, {&acc, &s}, {&y});
  const int64_t N = this->N();
  m_em.emit(dma_store(acc_addr, m_d.acc_addr + 4 * (m0 * N + n0), mc, 4 * nt, 4 * nt, 4 * N), {&acc}, {});
  m_em.emit(dma_store(y_addr, m_d.y_addr + 4 * (m0 * N + n0), mc, 4 * nt, 4 * nt, 4 * N), {&y}, {});
}

void GemmLowering::finish(std::initializer_list<const SlotRing*> out_rings) {
  m_wring.fold_into(of(m_history, Buffer::kWbuf), m_p);
  m_aring.fold_into(of(m_history, Buffer::kAbuf), m_p);
  m_sring.fold_into(of(m_history, Buffer::kSbuf), m_p);
  for (const SlotRing* r : out_rings) r->fold_into(of(m_history, Buffer::kObuf), m_p);
}

void lower_gemm(ir::TileProgram& program, uint32_t gemm, const Mapping& mapping, BufferHistory& history) {
  GemmLowering g(program, gemm, mapping, history);
  switch (mapping.order) {
    case LoopOrder::kMnk: return lower_mnk(g);
    case LoopOrder::kNkm: return lower_nkm(g);
    case LoopOrder::kOs: return lower_os(g);
  }
  fail("compile: gemm '{}' has a mapping with no lowering", program.gemms[gemm].name);
}

}  // namespace fq::compiler
