#include "compiler/lowering.h"

#include "model/core/error.h"

#include <algorithm>

namespace fq::compiler {
namespace {

using ir::Buffer;
using ir::Opcode;
using ir::OpId;
using ir::TileOp;

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

Slot BufferHistory::start(Buffer buf, uint32_t begin, int64_t bytes, const ir::TileProgram& program) const {
  Slot s;
  s.addr = begin;
  const int64_t end = begin + bytes;
  for (const RangeHistory& r : m_ranges[static_cast<size_t>(buf)]) {
    if (r.begin < end && begin < r.end) fold_slot(s, r.slot, program);
  }
  return s;
}

void BufferHistory::record(Buffer buf, const Slot& s, int64_t bytes, const ir::TileProgram& program) {
  auto& ranges = m_ranges[static_cast<size_t>(buf)];
  const uint32_t begin = s.addr;
  const auto end = static_cast<uint32_t>(s.addr + bytes);
  // Ranges the new slot covers entirely are merged into it (their accesses are those the slot
  // started from, start(), or of another ring of the same GEMM; keeping them only adds
  // dependencies, never drops one). A range it covers in part stays as it is, for the same reason.
  RangeHistory h;
  h.begin = begin;
  h.end = end;
  fold_slot(h.slot, s, program);
  std::erase_if(ranges, [&](const RangeHistory& r) {
    const bool covered = begin <= r.begin && r.end <= end;
    if (covered) fold_slot(h.slot, r.slot, program);
    return covered;
  });
  h.slot.addr = begin;
  ranges.push_back(h);
}

SlotRing::SlotRing(Buffer buf, uint32_t base, int64_t slot_bytes, int count, const BufferHistory& history,
                   const ir::TileProgram& program)
    : m_buf(buf), m_bytes(slot_bytes) {
  for (int i = 0; i < count; ++i) {
    m_slots.push_back(history.start(buf, static_cast<uint32_t>(base + i * slot_bytes), slot_bytes, program));
  }
  // The ring starts at the slot whose bytes were used longest ago (a never used one first, the
  // lowest index on ties): a GEMM after a short one does not wait for that GEMM's last accesses
  // (e.g. its activation slot until its last matmul has drained) but takes the slot it left free.
  auto latest = [](const Slot& s) {
    int64_t t = -1;
    if (s.writer != kNoOp) t = std::max<int64_t>(t, s.writer);
    for (OpId r : s.readers) {
      if (r != kNoOp) t = std::max<int64_t>(t, r);
    }
    return t;
  };
  for (size_t i = 1; i < m_slots.size(); ++i) {
    if (latest(m_slots[i]) < latest(m_slots[m_next])) m_next = i;
  }
}

Slot& SlotRing::take() {
  Slot& s = m_slots[m_next];
  m_next = (m_next + 1) % m_slots.size();
  return s;
}

void SlotRing::record_into(BufferHistory& history, const ir::TileProgram& program) const {
  for (const Slot& s : m_slots) history.record(m_buf, s, m_bytes, program);
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
      m_wring(Buffer::kWbuf, 0, m_sb.w, mapping.w_slots, history, program),
      m_aring(Buffer::kAbuf, 0, m_sb.a, mapping.a_slots, history, program),
      m_sring(Buffer::kSbuf, 0, m_sb.s, mapping.s_slots, history, program),
      m_em(program) {}

SlotRing GemmLowering::out_ring(uint32_t base, int64_t bytes, int count) const {
  return SlotRing(Buffer::kObuf, base, bytes, count, m_history, m_p);
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
  m_wring.record_into(m_history, m_p);
  m_aring.record_into(m_history, m_p);
  m_sring.record_into(m_history, m_p);
  for (const SlotRing* r : out_rings) r->record_into(m_history, m_p);
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
