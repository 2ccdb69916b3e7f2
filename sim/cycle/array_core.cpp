#include "sim/cycle/array_core.h"

#include "model/quant/cluster_codec.h"
#include "model/quant/encoded_matrix.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace fq::sim {
namespace {

using ir::Buffer;
using ir::OpId;
using ir::Opcode;
using ir::TileOp;

// The two per-PE loops of the array, the hot spots of the SystemC model. Branch-free, and
// compiled twice (AVX2 and baseline x86-64, picked at run time) so that they vectorise well on
// any x86-64 machine without building for the host's CPU.

// One cycle of every PE: add the operand shifted left by `shift` when bit `phase` of the PE's
// mask is set (the PE model's CycleWeight). Returns the number of additions.
__attribute__((target_clones("avx2", "default"))) int32_t pe_cycle(int32_t* __restrict ps,
                                                                    const int32_t* __restrict mask,
                                                                    const int32_t* __restrict av, size_t n,
                                                                    int32_t phase, int32_t shift) {
  int32_t adds = 0;
  for (size_t x = 0; x < n; ++x) {
    const int32_t on = (mask[x] >> phase) & 1;
    ps[x] += on ? static_cast<int32_t>(static_cast<uint32_t>(av[x]) << shift) : 0;
    adds += on;
  }
  return adds;
}

struct Sums {
  int32_t valid_all = 0, valid1 = 0, due_all = 0, due1 = 0, first_all = 0, first1 = 0;
};

// The operands of one beat: each PE's mask and its signed activation or product, from the
// weight set its data is tagged with, and the pulses due (popcount of the mask); invalid PEs
// get 0. `first`: pulses due in the beat's first cycle (bit 0 of the mask).
__attribute__((target_clones("avx2", "default"))) Sums beat_operands(
    std::array<const int32_t*, 2> wmask, std::array<const int32_t*, 2> wmul, std::array<const int32_t*, 2> wdue,
    const int32_t* __restrict valid, const int32_t* __restrict set, const int32_t* __restrict act,
    int32_t* __restrict mask, int32_t* __restrict ea, size_t n) {
  const int32_t* __restrict mask0 = wmask[0];
  const int32_t* __restrict mask1 = wmask[1];
  const int32_t* __restrict mul0 = wmul[0];
  const int32_t* __restrict mul1 = wmul[1];
  const int32_t* __restrict due0 = wdue[0];
  const int32_t* __restrict due1 = wdue[1];
  Sums s;
  for (size_t x = 0; x < n; ++x) {
    const int32_t v = valid[x];
    const int32_t s1 = set[x];
    mask[x] = (s1 ? mask1[x] : mask0[x]) & -v;
    const int32_t d = (s1 ? due1[x] : due0[x]) & -v;
    const int32_t f = mask[x] & 1;
    ea[x] = act[x] * (s1 ? mul1[x] : mul0[x]);
    s.valid_all += v;
    s.valid1 += v & s1;
    s.due_all += d;
    s.due1 += d & -s1;
    s.first_all += f;
    s.first1 += f & s1;
  }
  return s;
}

// beat_operands() for any number of weight sets (pe.weight_sets != 2): the same values, with
// the PE-beats with data and the pulses due counted per set.
void beat_operands_n(const std::vector<std::vector<int32_t>>& wmask, const std::vector<std::vector<int32_t>>& wmul,
                     const std::vector<std::vector<int32_t>>& wdue, const int32_t* valid, const int32_t* set,
                     const int32_t* act, int32_t* mask, int32_t* ea, size_t n, std::vector<uint64_t>& valid_by_set,
                     std::vector<uint64_t>& due_by_set, std::vector<uint64_t>& first_by_set) {
  std::fill(valid_by_set.begin(), valid_by_set.end(), 0);
  std::fill(due_by_set.begin(), due_by_set.end(), 0);
  std::fill(first_by_set.begin(), first_by_set.end(), 0);
  for (size_t x = 0; x < n; ++x) {
    const int32_t v = valid[x];
    const auto s = static_cast<size_t>(set[x]);
    mask[x] = wmask[s][x] & -v;
    const int32_t d = wdue[s][x] & -v;
    ea[x] = act[x] * wmul[s][x];
    valid_by_set[s] += static_cast<uint64_t>(v);
    due_by_set[s] += static_cast<uint64_t>(d);
    first_by_set[s] += static_cast<uint64_t>(mask[x] & 1);
  }
}

}  // namespace

ArrayCore::ArrayCore(UnitEnv env)
    : m_env(env), m_pe(pe_model(env.arch)), R(static_cast<uint32_t>(env.arch.rows)),
      C(static_cast<uint32_t>(env.arch.cols)) {
  const size_t rc = size_t{R} * C;
  const auto sets = static_cast<size_t>(env.arch.weight_sets);
  for (auto* w : {&m_wmask, &m_wmul, &m_wdue}) w->assign(sets, std::vector<int32_t>(rc, 0));
  for (auto* v : {&m_set_beat, &m_set_k, &m_set_n, &m_set_gemm}) v->assign(sets, 0);
  m_set_rows.assign(sets, 0);
  m_set_rows_written.assign(sets, 0);
  m_ring.resize(std::bit_ceil(size_t{R} + C));  // a power of two: slot_of() masks
  for (auto& slot : m_ring) {
    slot.data.assign(R, 0);
    slot.out.assign(C, 0);
  }
  m_act.assign(rc, 0);
  m_avalid.assign(rc, 0);
  m_aset.assign(rc, 0);
  m_ps.assign(rc, 0);
  m_eff_mask.assign(rc, 0);
  m_eff_a.assign(rc, 0);
}

bool ArrayCore::can_take(OpId id, uint64_t c) const {
  const bool scalesim = m_env.scalesim();
  switch (m_env.p.op(id).opcode) {
    case Opcode::kPreload:
      // It overwrites the free set: no data of that set may be left, and an earlier preload no
      // matmul has used yet must have finished.
      if (m_pending && !m_pending_complete) return false;
      return scalesim ? m_rows_in_flight == 0 && !m_os.busy : m_set_rows[static_cast<size_t>(preload_target())] == 0;
    case Opcode::kMatmul: {
      if (m_pending && !m_pending_complete) return false;
      if (m_stream_left != 0 || m_os.busy) return false;
      if (scalesim && (m_rows_in_flight != 0 || m_pre.busy)) return false;
      const int set = m_pending ? m_pending_set : m_active;
      const uint32_t W = m_set_beat[static_cast<size_t>(set)];
      // Data in flight: join the running beat grid with the same W, or wait for the array to empty.
      return m_rows_in_flight == 0 || (W == m_grid_beat && (c - m_grid) % W == 0);
    }
    case Opcode::kOsMatmul: return !m_os.busy && m_rows_in_flight == 0;
    default: return false;
  }
}

void ArrayCore::take(OpId id, uint64_t c) {
  const TileOp& op = m_env.p.op(id);
  m_inorder.push(id);
  m_env.log.ctrl(id, timing::CtrlReg::kCtlIssue);
  m_env.log.ctrl(id, timing::CtrlReg::kSlotWr);
  switch (op.opcode) {
    case Opcode::kPreload: take_preload(id, op, c); break;
    case Opcode::kMatmul: take_matmul(id, op, c); break;
    case Opcode::kOsMatmul: take_os(id, op, c); break;
    default: break;
  }
}

// The sets are used in turn; a second preload before any matmul overwrites the pending one.
int ArrayCore::preload_target() const {
  return m_pending ? m_pending_set : (m_active + 1) % static_cast<int>(m_set_rows.size());
}

void ArrayCore::take_preload(OpId id, const TileOp& op, uint64_t c) {
  const int set = preload_target();
  m_pending_set = set;
  for (auto* w : {&m_wmask, &m_wmul, &m_wdue}) std::fill((*w)[static_cast<size_t>(set)].begin(), (*w)[static_cast<size_t>(set)].end(), 0);
  m_pre = {true, id, c, set, TileStats{.k = op.k, .n = op.n}};
  m_set_k[static_cast<size_t>(set)] = op.k;
  m_set_n[static_cast<size_t>(set)] = op.n;
  m_set_gemm[static_cast<size_t>(set)] = m_env.log.gemm_of[id];
  m_env.log.A(id).weight_clears += uint64_t{R} * C;  // the clear empties the set in every PE
  m_env.log.ctrl(id, timing::CtrlReg::kPreIssue);
  m_pending = true;
  m_pending_complete = false;
}

void ArrayCore::take_matmul(OpId id, const TileOp& op, uint64_t c) {
  const int set = m_pending ? m_pending_set : m_active;
  const uint32_t W = m_set_beat[static_cast<size_t>(set)];
  m_env.log.ctrl(id, timing::CtrlReg::kMmIssue);
  if (m_rows_in_flight == 0) {  // an empty array starts a new beat grid
    m_env.log.ctrl(id, timing::CtrlReg::kEpoch);
    m_grid = c;
    m_grid_beat = W;
    for (auto& slot : m_ring) slot.valid = false;
    std::fill(m_avalid.begin(), m_avalid.end(), 0);
  }
  if (m_pending) {
    m_active = set;
    m_pending = false;
    m_env.log.ctrl(id, timing::CtrlReg::kMmCommit);
  }
  // A stream that does not continue the previous one is cleared from every PE once it has passed.
  if (!m_streamed || c != m_stream_end) timing::count_stream_start(m_env.arch, m_env.log.A(id));
  m_streamed = true;
  m_stream_end = c + uint64_t{op.m} * W;
  m_stream_op = id;
  m_stream_left = op.m;
  m_stream_next = 0;
  m_stream_set = set;
  m_rows_in_flight += op.m;
  m_set_rows[static_cast<size_t>(set)] += op.m;
  set_rows_write(set, c, id);
  m_env.log.beat[id] = static_cast<uint8_t>(W);
}

void ArrayCore::take_os(OpId id, const TileOp& op, uint64_t c) {
  const auto format = m_env.p.gemms[op.gemm].format;
  const size_t rc = size_t{R} * C;
  OsArray& o = m_os;
  o.busy = true;
  o.id = id;
  o.start = c;
  o.rows = m_env.scalesim() ? R : op.m;  // SCALE-Sim pads edge folds to the full array
  o.cols = m_env.scalesim() ? C : op.n;
  o.a.assign(size_t{op.m} * op.k, 0);
  o.w.assign(size_t{op.n} * op.k, 0);
  for (auto* v : {&o.a_reg, &o.w_reg, &o.a_valid, &o.w_valid, &o.acc, &o.macs}) v->assign(rc, 0);
  o.pes_done = 0;
  o.draining = false;
  o.drain_next = 0;
  for (uint32_t r = 0; r < op.m; ++r) {
    std::memcpy(o.a.data() + size_t{r} * op.k, m_env.buf.at(Buffer::kAbuf, op.src + uint64_t{r} * op.src_stride), op.k);
  }
  const uint64_t row_bytes = ir::weight_row_bytes(format, op.k);
  for (uint32_t j = 0; j < op.n; ++j) {
    unpack_int_row({m_env.buf.at(Buffer::kWbuf, op.w_src + uint64_t{j} * op.w_stride), row_bytes}, format_int_bits(format),
                   {o.w.data() + size_t{j} * op.k, op.k});
  }
  m_env.log.rd(id, Buffer::kAbuf) += uint64_t{op.m} * op.k;
  m_env.log.rd(id, Buffer::kWbuf) += op.n * row_bytes;
  m_env.log.beat[id] = 1;
}

// Writes array row i of the preloading tile: one weight per column through the decoder.
void ArrayCore::preload_row(const TileOp& op, uint32_t i) {
  const auto format = m_env.p.gemms[op.gemm].format;
  const uint64_t fresh = ir::weight_row_bytes(format, i + 1) - ir::weight_row_bytes(format, i);
  const int bits = format_int_bits(format);
  auto& mask = m_wmask[static_cast<size_t>(m_pre.set)];
  auto& mul = m_wmul[static_cast<size_t>(m_pre.set)];
  auto& due = m_wdue[static_cast<size_t>(m_pre.set)];
  for (uint32_t j = 0; j < op.n; ++j) {
    const uint8_t* row = m_env.buf.at(Buffer::kWbuf, op.src + uint64_t{j} * op.src_stride);
    int8_t q = 0;
    bool outlier = false;
    if (format == HwFormat::kFineqR) {
      q = decode_cluster(row[i / 3])[i % 3];
      outlier = (row[i / 3] >> 6) != 0;
    } else {  // B-bit two's complement, packed LSB first (docs/isa.md "Data layouts")
      const uint64_t bit0 = uint64_t{i} * static_cast<uint64_t>(bits);
      uint32_t v = 0;
      for (int b = 0; b < bits; ++b) {
        const uint64_t bit = bit0 + static_cast<uint64_t>(b);
        v |= static_cast<uint32_t>((row[bit / 8] >> (bit % 8)) & 1U) << b;
      }
      q = static_cast<int8_t>(static_cast<int32_t>(v << (32 - bits)) >> (32 - bits));
    }
    const CycleWeight w = m_pe.cycle_weight(q);
    mask[size_t{i} * C + j] = w.mask;
    mul[size_t{i} * C + j] = w.mul;
    due[size_t{i} * C + j] = std::popcount(static_cast<uint32_t>(w.mask));
    m_pe.tally(m_env.arch, m_pre.stats, q, outlier);
  }
  m_env.log.rd(m_pre.id, Buffer::kWbuf) += fresh * op.n;
  if (format == HwFormat::kFineqR) m_env.log.A(m_pre.id).decoder_bytes += fresh * op.n;
  m_env.log.A(m_pre.id).weight_writes += op.n;
}

ArrayActivity ArrayCore::work(uint64_t c) {
  ArrayActivity act;
  act.preloading = m_pre.busy;
  act.os = m_os.busy;
  if (m_pre.busy) work_preload(c);
  if (m_os.busy) work_os(c);
  if (m_rows_in_flight != 0) {
    act.streaming = true;
    act.beat = m_grid_beat;
    act.phase = static_cast<uint32_t>((c - m_grid) % m_grid_beat);
    work_stream(c);
  }
  return act;
}

void ArrayCore::work_preload(uint64_t c) {
  const TileOp& op = m_env.p.op(m_pre.id);
  // Default timing: one cycle of wbuf read latency, then one row per cycle. scalesim: SCALE-Sim
  // fills all R rows of the fold (rows beyond k hold zeros), from the issue cycle.
  const uint64_t offset = m_env.scalesim() ? 0 : 1;
  const uint64_t rows = m_env.scalesim() ? R : op.k;
  if (c < m_pre.start + offset) return;
  const uint64_t i = c - m_pre.start - offset;
  if (i < op.k) {
    preload_row(op, static_cast<uint32_t>(i));
    m_env.log.ctrl(m_pre.id, timing::CtrlReg::kPreRow);
    if (i % 3 == 2) m_env.log.ctrl(m_pre.id, timing::CtrlReg::kPreByte);  // the row closes a cluster
  }
  if (i + 1 == rows) {  // the last row is written: the tile's beat is known
    m_env.log.ctrl(m_pre.id, timing::CtrlReg::kPreLast);
    m_set_beat[static_cast<size_t>(m_pre.set)] = m_pe.beat(m_env.arch, m_pre.stats);
    m_env.log.beat[m_pre.id] = static_cast<uint8_t>(m_set_beat[static_cast<size_t>(m_pre.set)]);
    m_pending_complete = true;
    m_pre.busy = false;
    m_env.log.stamp(m_pre.id, c + 1);
  }
}

void ArrayCore::work_os(uint64_t c) {
  OsArray& o = m_os;
  const TileOp& op = m_env.p.op(o.id);
  m_pe_cycles += uint64_t{op.m} * op.n;
  if (o.draining) {  // one row of accumulators per cycle to obuf
    store_row(o.id, op, o.drain_next, o.acc.data() + size_t{o.drain_next} * C, op.n);
    ++o.drain_next;
    if (o.drain_next == op.m) {
      o.busy = false;
      m_env.log.stamp(o.id, c + 1);
    }
    return;
  }
  const uint64_t t = c - o.start;
  // Registers move: activations one PE right, weights one PE down; the edges take the skewed
  // streams (row i's element t - i, column j's element t - j; zeros in padded rows/columns).
  for (uint32_t i = R; i-- > 0;) {
    for (uint32_t j = C; j-- > 0;) {
      const size_t x = size_t{i} * C + j;
      if (j > 0) {
        o.a_reg[x] = o.a_reg[x - 1];
        o.a_valid[x] = o.a_valid[x - 1];
      } else {
        const bool in = i < o.rows && t >= i && t - i < op.k;
        o.a_valid[x] = in ? 1 : 0;
        o.a_reg[x] = in && i < op.m ? o.a[size_t{i} * op.k + (t - i)] : 0;
      }
      if (i > 0) {
        o.w_reg[x] = o.w_reg[x - C];
        o.w_valid[x] = o.w_valid[x - C];
      } else {
        const bool in = j < o.cols && t >= j && t - j < op.k;
        o.w_valid[x] = in ? 1 : 0;
        o.w_reg[x] = in && j < op.n ? o.w[size_t{j} * op.k + (t - j)] : 0;
      }
    }
  }
  timing::ActionCounts& A = m_env.log.A(o.id);
  for (uint32_t i = 0; i < o.rows; ++i) {
    for (uint32_t j = 0; j < o.cols; ++j) {
      const size_t x = size_t{i} * C + j;
      if (!(o.a_valid[x] & o.w_valid[x])) continue;
      o.acc[x] += o.a_reg[x] * o.w_reg[x];
      if (static_cast<uint32_t>(++o.macs[x]) == op.k) ++o.pes_done;
      if (i < op.m && j < op.n) {
        ++A.pe_macs;
        ++A.pe_beats;
        ++A.pe_psum_writes;
        ++A.useful_macs;
      }
    }
  }
  if (o.pes_done != uint64_t{o.rows} * o.cols) return;
  // The last PE made its last product in this cycle.
  if (m_env.scalesim()) {  // SCALE-Sim does not count the drain
    for (uint32_t r = 0; r < op.m; ++r) store_row(o.id, op, r, o.acc.data() + size_t{r} * C, op.n);
    o.busy = false;
    m_env.log.stamp(o.id, c + 1);
  } else {
    o.draining = true;
  }
}

void ArrayCore::store_row(OpId id, const TileOp& op, uint32_t r, const int32_t* v, uint32_t n) {
  for (uint32_t j = 0; j < n; ++j) {
    uint8_t* a = m_env.buf.at(Buffer::kObuf, op.dst + uint64_t{r} * op.dst_stride + 4 * j);
    int32_t x = v[j];
    if (op.acc) {
      int32_t old = 0;
      std::memcpy(&old, a, 4);
      x = static_cast<int32_t>(static_cast<uint32_t>(old) + static_cast<uint32_t>(x));
    }
    std::memcpy(a, &x, 4);
  }
  m_env.log.wr(id, Buffer::kObuf) += 4 * uint64_t{n};
  if (op.acc) m_env.log.rd(id, Buffer::kObuf) += 4 * uint64_t{n};
}

void ArrayCore::work_stream(uint64_t c) {
  const uint32_t W = m_grid_beat;
  const uint64_t b = (c - m_grid) / W;
  const uint64_t phase = (c - m_grid) % W;
  const size_t rc = size_t{R} * C;
  if (phase == 0) begin_beat(b);
  // Every PE, every cycle: add the operand (shifted by the phase for bit-serial PEs) when the
  // phase's bit of its mask is set.
  const auto ph = static_cast<int32_t>(phase);
  m_pulses += static_cast<uint64_t>(
      pe_cycle(m_ps.data(), m_eff_mask.data(), m_eff_a.data(), rc, ph, m_pe.shift_by_phase() ? ph : 0));
  m_pe_cycles += rc;
  // The phase counter counts the cycles of a beat longer than one; the beat counter the beats.
  if (W > 1) m_env.log.ctrl(m_stream_op, timing::CtrlReg::kPhase);
  if (phase == W - 1) {
    m_env.log.ctrl(m_stream_op, timing::CtrlReg::kBeat);
    end_beat(b, c);
  }
}

void ArrayCore::begin_beat(uint64_t b) {
  // The skew's and deskew's valid histories shift (rtl/fq_array.v `advance`): a beat of the
  // running grid, the GEMM of the matmul issued last. SCALE-Sim's serialised folds are a
  // convention, not the RTL.
  if (m_env.arch.timing != TimingModel::kScaleSim) ++m_env.log.A(m_stream_op).array_beats;
  // Activations move one PE right, partial sums one PE down.
  for (uint32_t i = 0; i < R; ++i) {
    const size_t row = size_t{i} * C;
    std::memmove(m_act.data() + row + 1, m_act.data() + row, sizeof(int32_t) * (C - 1));
    std::memmove(m_avalid.data() + row + 1, m_avalid.data() + row, sizeof(int32_t) * (C - 1));
    std::memmove(m_aset.data() + row + 1, m_aset.data() + row, sizeof(int32_t) * (C - 1));
  }
  std::memmove(m_ps.data() + C, m_ps.data(), sizeof(int32_t) * size_t{R - 1} * C);
  std::fill(m_ps.begin(), m_ps.begin() + C, 0);
  // A new row enters the input skew (or a bubble when nothing streams).
  RowSlot& in = slot_of(b);
  in.valid = false;
  if (m_stream_left != 0) {
    const TileOp& op = m_env.p.op(m_stream_op);
    const uint32_t k = m_set_k[static_cast<size_t>(m_stream_set)];
    std::fill(in.data.begin(), in.data.end(), int8_t{0});
    std::memcpy(in.data.data(), m_env.buf.at(Buffer::kAbuf, op.src + uint64_t{m_stream_next} * op.src_stride), k);
    m_env.log.rd(m_stream_op, Buffer::kAbuf) += k;
    in.valid = true;
    ++m_env.log.A(m_stream_op).array_rows;  // through the skew and deskew (rtl/fq_array.v)
    m_env.log.ctrl(m_stream_op, timing::CtrlReg::kInject);
    in.beat = b;
    in.op = m_stream_op;
    in.r = m_stream_next;
    in.set = m_stream_set;
    ++m_stream_next;
    --m_stream_left;
  }
  // Row i of the array takes element i of the row that entered i beats ago.
  for (uint32_t i = 0; i < R; ++i) {
    const size_t x = size_t{i} * C;
    m_avalid[x] = 0;
    if (b >= i) {
      const RowSlot& s = slot_of(b - i);
      if (s.valid && s.beat == b - i) {
        m_act[x] = s.data[i];
        m_avalid[x] = 1;
        m_aset[x] = s.set;
      }
    }
  }
  // Operands of this beat: the mask and the signed activation (pulse kinds) or the product
  // (mac). Counted per weight set, i.e. per GEMM: the PE-beats with data, and the pulses or
  // products they are due; work_stream() counts the pulses cycle by cycle.
  const size_t rc = size_t{R} * C;
  const size_t sets = m_set_rows.size();
  if (sets == 2) {  // the vectorised path of the default
    const Sums sums = beat_operands({m_wmask[0].data(), m_wmask[1].data()}, {m_wmul[0].data(), m_wmul[1].data()},
                                    {m_wdue[0].data(), m_wdue[1].data()}, m_avalid.data(), m_aset.data(), m_act.data(),
                                    m_eff_mask.data(), m_eff_a.data(), rc);
    m_valid_by_set = {static_cast<uint64_t>(sums.valid_all - sums.valid1), static_cast<uint64_t>(sums.valid1)};
    m_due_by_set = {static_cast<uint64_t>(sums.due_all - sums.due1), static_cast<uint64_t>(sums.due1)};
    m_first_by_set = {static_cast<uint64_t>(sums.first_all - sums.first1), static_cast<uint64_t>(sums.first1)};
  } else {
    m_valid_by_set.resize(sets);
    m_due_by_set.resize(sets);
    m_first_by_set.resize(sets);
    beat_operands_n(m_wmask, m_wmul, m_wdue, m_avalid.data(), m_aset.data(), m_act.data(), m_eff_mask.data(),
                    m_eff_a.data(), rc, m_valid_by_set, m_due_by_set, m_first_by_set);
  }
  for (size_t s = 0; s < sets; ++s) {
    timing::ActionCounts& a = m_env.log.gacts[m_set_gemm[s]];
    a.pe_beats += m_valid_by_set[s];
    const PeActions pe = m_pe.beat_actions(m_valid_by_set[s], m_due_by_set[s], m_first_by_set[s], m_grid_beat);
    a.pe_psum_writes += pe.psum_writes;
    a.pe_pulses += pe.pulses;
    a.pe_idle_cycles += pe.idle_cycles;
    a.pe_macs += pe.macs;
    a.pe_idle_beats += pe.idle_beats;
  }
}

void ArrayCore::end_beat(uint64_t b, uint64_t c) {
  // Bottom row: column j holds the result of the row that entered R - 1 + j beats ago.
  const size_t bottom = size_t{R - 1} * C;
  for (uint32_t j = 0; j < C && b >= uint64_t{R} - 1 + j; ++j) {
    RowSlot& s = slot_of(b - (R - 1) - j);
    if (s.valid && s.beat == b - (R - 1) - j) s.out[j] = m_ps[bottom + j];
  }
  // The output deskew completes the row whose last column just left the array.
  if (b < uint64_t{R} + C - 2) return;
  const uint64_t e = b - (R + C - 2);
  RowSlot& s = slot_of(e);
  if (!s.valid || s.beat != e) return;
  s.valid = false;
  const TileOp& op = m_env.p.op(s.op);
  const uint32_t nt = m_set_n[static_cast<size_t>(s.set)];
  store_row(s.op, op, s.r, s.out.data(), nt);
  m_env.log.A(s.op).useful_macs += uint64_t{m_set_k[static_cast<size_t>(s.set)]} * nt;
  --m_rows_in_flight;
  --m_set_rows[static_cast<size_t>(s.set)];
  set_rows_write(s.set, c, s.op);
  if (s.r + 1 == op.m) m_env.log.stamp(s.op, c + 1);
}

void ArrayCore::set_rows_write(int set, uint64_t c, ir::OpId id) {
  uint64_t& last = m_set_rows_written[static_cast<size_t>(set)];
  if (last == c + 1) return;  // a matmul issued into the set in this cycle: the same write
  last = c + 1;
  m_env.log.ctrl(id, timing::CtrlReg::kSetRows);
}

}  // namespace fq::sim
