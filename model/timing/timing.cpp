#include "model/timing/timing.h"

#include "model/quant/cluster_codec.h"
#include "model/quant/encoded_matrix.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <iterator>
#include <utility>

namespace fq::timing {
namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
bool scalesim(const ArchConfig& arch) { return arch.timing == TimingModel::kScaleSim; }

}  // namespace

ActionCounts& ActionCounts::operator+=(const ActionCounts& o) {
  dram_read_bytes += o.dram_read_bytes;
  dram_write_bytes += o.dram_write_bytes;
  for (size_t b = 0; b < buf_read_bytes.size(); ++b) {
    buf_read_bytes[b] += o.buf_read_bytes[b];
    buf_write_bytes[b] += o.buf_write_bytes[b];
  }
  decoder_bytes += o.decoder_bytes;
  pe_pulses += o.pe_pulses;
  pe_idle_cycles += o.pe_idle_cycles;
  pe_macs += o.pe_macs;
  pe_idle_beats += o.pe_idle_beats;
  pe_beats += o.pe_beats;
  pe_psum_writes += o.pe_psum_writes;
  pe_valid_clears += o.pe_valid_clears;
  array_beats += o.array_beats;
  array_rows += o.array_rows;
  weight_writes += o.weight_writes;
  weight_clears += o.weight_clears;
  for (size_t r = 0; r < kCtrlRegs; ++r) ctrl_writes[r] += o.ctrl_writes[r];
  dequant_elems += o.dequant_elems;
  useful_macs += o.useful_macs;
  return *this;
}

uint64_t dma_transfer_cycles(const ArchConfig& arch, uint64_t rows, uint64_t bytes) {
  return rows * ceil_div(bytes, static_cast<uint64_t>(arch.dram_bytes_per_cycle));
}

uint64_t preload_cycles(const ArchConfig& arch, uint64_t k) {
  return scalesim(arch) ? static_cast<uint64_t>(arch.rows) : k + 1;
}

uint64_t matmul_beats(const ArchConfig& arch, uint64_t m) {
  return m + static_cast<uint64_t>(arch.rows) + static_cast<uint64_t>(arch.cols) - 2;
}

uint64_t os_matmul_cycles(const ArchConfig& arch, uint64_t m, uint64_t k, uint64_t n) {
  if (scalesim(arch)) return k + static_cast<uint64_t>(arch.rows) + static_cast<uint64_t>(arch.cols) - 2;
  return k + 2 * m + n - 2;
}

uint64_t dequant_cycles(const ArchConfig& arch, uint64_t m, uint64_t n) {
  if (scalesim(arch)) return 0;
  return m * ceil_div(n, static_cast<uint64_t>(arch.cols)) + 2;
}

TileStats tile_stats(const ArchConfig& arch, HwFormat format, std::span<const uint8_t> wbuf, uint64_t src,
                     uint64_t stride, uint32_t k, uint32_t n) {
  return pe_model(arch).tile_stats(arch, format, wbuf, src, stride, k, n);
}

uint32_t tile_beat(const ArchConfig& arch, const TileStats& stats) { return pe_model(arch).beat(arch, stats); }

void count_op_actions(const ArchConfig& arch, const ir::TileProgram& program, const ir::TileOp& op,
                      uint32_t beat, const TileStats& tile, ActionCounts& out) {
  using ir::Buffer;
  const auto bi = [](Buffer b) { return static_cast<size_t>(b); };
  const uint64_t R = static_cast<uint64_t>(arch.rows), C = static_cast<uint64_t>(arch.cols);
  switch (op.opcode) {
    case ir::Opcode::kDmaLoad:
      out.dram_read_bytes += uint64_t{op.rows} * op.bytes;
      out.buf_write_bytes[bi(op.buf)] += uint64_t{op.rows} * op.bytes;
      break;
    case ir::Opcode::kDmaStore:
      out.buf_read_bytes[bi(Buffer::kObuf)] += uint64_t{op.rows} * op.bytes;
      out.dram_write_bytes += uint64_t{op.rows} * op.bytes;
      break;
    case ir::Opcode::kPreload: {
      const auto format = program.gemms[op.gemm].format;
      const uint64_t row_bytes = ir::weight_row_bytes(format, op.k);
      out.buf_read_bytes[bi(Buffer::kWbuf)] += op.n * row_bytes;
      if (format == HwFormat::kFineqR) out.decoder_bytes += op.n * row_bytes;
      out.weight_writes += uint64_t{op.k} * op.n;
      out.weight_clears += R * C;  // the issue cycle empties the set in every PE
      break;
    }
    case ir::Opcode::kMatmul: {
      const uint64_t m = op.m, kn = uint64_t{tile.k} * tile.n;
      out.buf_read_bytes[bi(Buffer::kAbuf)] += m * tile.k;
      out.buf_write_bytes[bi(Buffer::kObuf)] += 4 * m * tile.n;
      if (op.acc) out.buf_read_bytes[bi(Buffer::kObuf)] += 4 * m * tile.n;
      out.pe_beats += m * R * C;
      out.array_rows += m;
      out.useful_macs += m * kn;
      const PeActions pe = pe_model(arch).matmul_actions(arch, tile, m, beat);
      out.pe_pulses += pe.pulses;
      out.pe_idle_cycles += pe.idle_cycles;
      out.pe_macs += pe.macs;
      out.pe_idle_beats += pe.idle_beats;
      out.pe_psum_writes += pe.psum_writes;
      // pe_valid_clears depend on the schedule (a matmul that continues the previous stream
      // clears nothing): the engines add them per stream they start (count_stream_start).
      break;
    }
    case ir::Opcode::kOsMatmul: {
      const uint64_t macs = uint64_t{op.m} * op.n * op.k;
      const auto format = program.gemms[op.gemm].format;
      out.buf_read_bytes[bi(Buffer::kAbuf)] += uint64_t{op.m} * op.k;
      out.buf_read_bytes[bi(Buffer::kWbuf)] += op.n * ir::weight_row_bytes(format, op.k);
      out.buf_write_bytes[bi(Buffer::kObuf)] += 4 * uint64_t{op.m} * op.n;
      if (op.acc) out.buf_read_bytes[bi(Buffer::kObuf)] += 4 * uint64_t{op.m} * op.n;
      out.pe_macs += macs;
      out.pe_beats += macs;
      out.pe_psum_writes += macs;
      out.useful_macs += macs;
      break;
    }
    case ir::Opcode::kDequant: {
      const uint64_t mn = uint64_t{op.m} * op.n;
      out.buf_read_bytes[bi(Buffer::kObuf)] += 4 * mn;
      out.buf_write_bytes[bi(Buffer::kObuf)] += 4 * mn;
      out.buf_read_bytes[bi(Buffer::kSbuf)] += 2 * uint64_t{op.n} + 4 * uint64_t{op.m};
      out.dequant_elems += mn;
      break;
    }
  }
}

OpGemms::OpGemms(const ir::TileProgram& program) {
  for (uint32_t g = 0; g < program.gemms.size(); ++g) {
    const ir::GemmDesc& d = program.gemms[g];
    const uint64_t m = d.m, n = d.n;
    const std::pair<uint64_t, uint64_t> parts[] = {{d.w_addr, n * ir::weight_row_bytes(d.format, d.k)},
                                                   {d.ws_addr, 2 * n}, {d.a_addr, m * d.a_stride},
                                                   {d.as_addr, 4 * m}, {d.acc_addr, 4 * m * n},
                                                   {d.y_addr, 4 * m * n}};
    for (const auto& [base, size] : parts) m_regions.push_back({base, base + size, g});
  }
  std::sort(m_regions.begin(), m_regions.end(), [](const Region& a, const Region& b) { return a.begin < b.begin; });
}

uint32_t OpGemms::lookup(uint64_t addr) {
  auto it = std::upper_bound(m_regions.begin(), m_regions.end(), addr,
                             [](uint64_t a, const Region& r) { return a < r.begin; });
  if (it == m_regions.begin()) return 0;
  m_last = static_cast<size_t>(std::prev(it) - m_regions.begin());
  return addr < std::prev(it)->end ? std::prev(it)->gemm : 0;
}

std::vector<uint32_t> op_gemms(const ir::TileProgram& program) {
  OpGemms gemms(program);
  std::vector<uint32_t> out(program.size(), 0);
  for (ir::OpId id = 0; id < program.size(); ++id) out[id] = gemms.of(program.op(id));
  return out;
}

void count_stream_start(const ArchConfig& arch, ActionCounts& out) {
  out.pe_valid_clears += static_cast<uint64_t>(arch.rows) * static_cast<uint64_t>(arch.cols);
}

const char* ctrl_reg_name(CtrlReg r) {
  static const char* const names[kCtrlRegs] = {
      "pre_issue",  "pre_row",    "pre_byte",   "pre_last",  "mm_issue",   "mm_commit", "inject",    "epoch",
      "phase",      "beat",       "slot_wr",    "slot_rd",   "fin",        "set_rows",  "ctl_issue", "ctl_done",
      "din_issue",  "din_done",   "din_chunk",  "din_row",   "epi_issue",  "epi_chunk", "epi_row",   "epi_stage2",
      "epi_valid1", "epi_valid2", "epi_finish", "dout_issue", "dout_done", "dout_ack",  "dout_chunk", "dout_row",
      "dout_clock"};
  static_assert(std::size(names) == kCtrlRegs);
  return names[static_cast<size_t>(r)];
}

bool ctrl_reg_is_array(CtrlReg r) { return r < CtrlReg::kCtlIssue; }
bool ctrl_reg_is_epilogue(CtrlReg r) { return r >= CtrlReg::kEpiIssue && r <= CtrlReg::kEpiFinish; }

std::array<uint64_t, kCtrlRegs> ctrl_reg_bits(const ArchConfig& arch) {
  // The widths of rtl/fq_array_ctrl.v: SB slot bits (slots for R + C + 4 ops in flight), RB beat
  // bits (a ring of R + C - 1 entries, at least 1 bit), TW weight-set tag bits; counters and
  // addresses are 32 bits.
  const auto clog2 = [](uint64_t x) { return static_cast<uint64_t>(std::bit_width(std::bit_ceil(x)) - 1); };
  const auto R = static_cast<uint64_t>(arch.rows), C = static_cast<uint64_t>(arch.cols);
  const uint64_t SB = clog2(R + C + 4), RB = std::max<uint64_t>(1, clog2(R + C - 1));
  const uint64_t TW = arch.weight_sets > 2 ? clog2(static_cast<uint64_t>(arch.weight_sets)) : 1;
  std::array<uint64_t, kCtrlRegs> b{};
  const auto at = [&b](CtrlReg r) -> uint64_t& { return b[static_cast<size_t>(r)]; };
  // busy 1, src/stride/k/n 4 x 32, fmt 4, row/bit/byte counters 3 x 32, cluster position 2, max 3,
  // outlier 1, slot, set, pending 1, complete 1, the set's k and n 2 x 32
  at(CtrlReg::kPreIssue) = 1 + 128 + 4 + 96 + 2 + 3 + 1 + SB + TW + 1 + 1 + 64;
  at(CtrlReg::kPreRow) = 32 + 32 + 2 + 3 + 1;
  at(CtrlReg::kPreByte) = 32;
  at(CtrlReg::kPreLast) = 1 + 1 + 4;
  at(CtrlReg::kMmIssue) = 128 + 1 + TW + SB;   // src, stride, dst, dst stride; acc; set; slot
  at(CtrlReg::kMmCommit) = TW + 1;
  at(CtrlReg::kInject) = 32 + 32 + 32 + 1 + TW + 1 + SB;  // rows left, next row; address, acc, set, last, slot
  at(CtrlReg::kEpoch) = 4;
  at(CtrlReg::kPhase) = 3;
  at(CtrlReg::kBeat) = RB;
  at(CtrlReg::kSlotWr) = SB;
  at(CtrlReg::kSlotRd) = SB;
  at(CtrlReg::kFin) = 1;
  at(CtrlReg::kSetRows) = 32;
  // fq_controller.v: 32-bit instruction pointers and done counts.
  at(CtrlReg::kCtlIssue) = 32;
  at(CtrlReg::kCtlDone) = 32;
  // fq_dma_in.v / fq_dma_out.v: 16-entry queues (QB + 1 = 5 pointer bits), 32-bit offsets and rows.
  constexpr uint64_t kQp = 5;
  at(CtrlReg::kDinIssue) = 2 + 4 * 32 + kQp;  // buffer, destination, stride, rows, bytes; tail
  at(CtrlReg::kDinDone) = kQp;
  at(CtrlReg::kDinChunk) = 32;
  at(CtrlReg::kDinRow) = 32;
  at(CtrlReg::kDoutIssue) = 32 + 32 + 64 + 32 + 32 + 32 + kQp;  // source, stride, destination, stride, rows, bytes; tail
  const bool acked = arch.dram_latency_cycles != 0;
  at(CtrlReg::kDoutDone) = kQp + (acked ? 32 + kQp : 0);  // head; ack time and the ack queue's tail
  at(CtrlReg::kDoutAck) = kQp;
  at(CtrlReg::kDoutChunk) = 32;
  at(CtrlReg::kDoutRow) = 32;
  at(CtrlReg::kDoutClock) = 32;
  // fq_epilogue.v: stage 1 holds C int32 accumulators as FP32, C weight scales as FP32, the
  // activation scale, the obuf address, C lane masks and the last flag; stage 2 C products, the
  // activation scale, address, masks, last flag.
  at(CtrlReg::kEpiIssue) = 8 * 32 + 1;
  at(CtrlReg::kEpiChunk) = 1 + 32 + (1 + 32 * C + 32 * C + 32 + 32 + C);
  at(CtrlReg::kEpiRow) = 32;
  at(CtrlReg::kEpiStage2) = 1 + 32 * C + 32 + 32 + C;
  at(CtrlReg::kEpiValid1) = 1;
  at(CtrlReg::kEpiValid2) = 1;
  at(CtrlReg::kEpiFinish) = 1;
  return b;
}

ControllerWrites::ControllerWrites(const ArchConfig& arch)
    : m_arch(arch), m_on(!scalesim(arch) && arch.dataflow == Dataflow::kWeightStationary),
      m_lat(static_cast<uint64_t>(arch.rows) + static_cast<uint64_t>(arch.cols) - 2) {}

void ControllerWrites::grid_cycles(uint64_t until) {
  const uint64_t cycles = until - m_last_issue;
  add(*m_last_acts, CtrlReg::kBeat, cycles / m_run_w);
  if (m_run_w > 1) add(*m_last_acts, CtrlReg::kPhase, cycles);
}

void ControllerWrites::op(const ir::TileOp& op, const OpTime& t, ActionCounts& acts) {
  if (!m_on) return;
  add(acts, CtrlReg::kCtlIssue, 1);  // every op leaves its unit's instruction memory once
  // The other units complete one op per edge, in order: one done-count write per op.
  if (op.opcode != ir::Opcode::kPreload && op.opcode != ir::Opcode::kMatmul) add(acts, CtrlReg::kCtlDone, 1);
  if (op.opcode == ir::Opcode::kDmaLoad || op.opcode == ir::Opcode::kDmaStore) {
    const bool load = op.opcode == ir::Opcode::kDmaLoad;
    add(acts, load ? CtrlReg::kDinIssue : CtrlReg::kDoutIssue, 1);
    add(acts, load ? CtrlReg::kDinDone : CtrlReg::kDoutDone, 1);
    const uint64_t chunks = dma_transfer_cycles(m_arch, op.rows, op.bytes);
    add(acts, load ? CtrlReg::kDinChunk : CtrlReg::kDoutChunk, chunks);
    add(acts, load ? CtrlReg::kDinRow : CtrlReg::kDoutRow, op.rows);
    if (!load) {
      // Stores send one chunk per cycle in order, from their issue or the previous store's last
      // chunk on. One that finishes after the cycle of its last chunk waited for the DRAM's
      // acknowledgement, and the ack clock ran from that chunk through its ack (finish - 1).
      const uint64_t last = std::max(t.issue, m_dout_free) + chunks - 1;
      m_dout_free = last + 1;
      if (t.finish > last + 1) {
        add(acts, CtrlReg::kDoutAck, 1);
        add(acts, CtrlReg::kDoutClock, t.finish - std::max(m_clock_until, last));
        m_clock_until = t.finish;
      }
    }
    return;
  }
  if (op.opcode == ir::Opcode::kDequant) {
    // One chunk of C accumulators per cycle, m rows of ceil(n / C) chunks; dequants never
    // overlap (the next issues after the busy flag drops), so each valid bit is written once
    // more as the last chunk drains.
    const uint64_t chunks = uint64_t{op.m} * ceil_div(op.n, static_cast<uint64_t>(m_arch.cols));
    add(acts, CtrlReg::kEpiIssue, 1);
    add(acts, CtrlReg::kEpiChunk, chunks);
    add(acts, CtrlReg::kEpiRow, op.m);  // each row's last chunk (the last sets it back to 0)
    add(acts, CtrlReg::kEpiStage2, chunks);
    add(acts, CtrlReg::kEpiValid1, chunks + 1);
    add(acts, CtrlReg::kEpiValid2, chunks + 1);
    add(acts, CtrlReg::kEpiFinish, 1);
    return;
  }
  if (op.opcode != ir::Opcode::kPreload && op.opcode != ir::Opcode::kMatmul) return;
  add(acts, CtrlReg::kSlotWr, 1);
  // In-order retirement: the slot pointer (and the array's done count) moves once per cycle with
  // retirements; an op that finished while an older one was still running sets its bit and later
  // clears it.
  if (!m_retired || t.done != m_last_done) {
    add(acts, CtrlReg::kSlotRd, 1);
    add(acts, CtrlReg::kCtlDone, 1);
  }
  m_retired = true;
  m_last_done = t.done;
  if (t.done > t.finish) add(acts, CtrlReg::kFin, 2);
  const auto sets = static_cast<uint32_t>(m_arch.weight_sets);
  if (op.opcode == ir::Opcode::kPreload) {
    m_pending_set = m_pending ? m_pending_set : (m_active + 1) % sets;  // the sets are used in turn
    m_pending = true;
    add(acts, CtrlReg::kPreIssue, 1);
    add(acts, CtrlReg::kPreRow, op.k);
    add(acts, CtrlReg::kPreByte, op.k / 3);  // rows 2, 5, 8, ... close a cluster
    add(acts, CtrlReg::kPreLast, 1);
    return;
  }
  if (m_pending) {
    m_active = m_pending_set;
    m_pending = false;
    add(acts, CtrlReg::kMmCommit, 1);
  }
  add(acts, CtrlReg::kMmIssue, 1);
  add(acts, CtrlReg::kInject, op.m);
  const uint64_t s = t.issue, W = t.beat;
  if (m_last_acts == nullptr || s >= m_run_end) {  // an empty array: a new grid
    if (m_last_acts != nullptr) grid_cycles(m_run_end);
    add(acts, CtrlReg::kEpoch, 1);
    m_run_w = W;
    m_flights.clear();
  } else {
    grid_cycles(s);
  }
  m_last_issue = s;
  m_last_acts = &acts;
  m_run_end = std::max(m_run_end, t.finish);
  // set_rows[set] is written when the matmul issues and when each of its rows is written. Rows
  // are written at beat ends and matmuls issue at beat starts, so both fall in one cycle (one
  // write, the issue's) only when W = 1: a row of the same set written at cycle s, i.e. entered
  // at s - lat; that row's matmul then has one write less.
  std::erase_if(m_flights, [s](const Flight& f) { return f.finish <= s; });
  m_flights.push_back({s, op.m, t.finish, m_active, &acts});
  add(acts, CtrlReg::kSetRows, 1 + op.m);
  if (W == 1) {
    for (const Flight& f : m_flights) {
      if (f.set == m_active && f.issue + m_lat <= s && s < f.issue + m_lat + f.rows) {
        --f.acts->ctrl_writes[static_cast<size_t>(CtrlReg::kSetRows)];
      }
    }
  }
}

void ControllerWrites::end() {
  if (m_on && m_last_acts != nullptr) grid_cycles(m_run_end);
}

uint64_t scalesim_reported_cycles(uint64_t total_cycles) { return total_cycles == 0 ? 0 : total_cycles - 1; }

}  // namespace fq::timing
