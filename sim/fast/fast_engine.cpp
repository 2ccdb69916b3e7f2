#include "sim/fast/fast_engine.h"

#include "sim/engine.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace fq::sim {
namespace {

using ir::Opcode;
using ir::TileOp;
using timing::OpTime;

uint64_t ceil_to_grid(uint64_t t, uint64_t origin, uint64_t beat) {
  return origin + (t - origin + beat - 1) / beat * beat;
}

// The state docs/architecture.md "Array" describes: two weight register sets, the beat epoch
// of the data in flight, the activation input port.
struct ArrayState {
  int active = 0;                   // weight set of the committed tile
  int pending_set = 0;              // the set the pending tile was loaded into
  bool pending = false;             // a preloaded tile not yet committed by a matmul
  uint64_t pending_ready = 0;       // when the pending tile's last row is written
  std::vector<uint64_t> set_busy;   // per weight set: when the last data using it has left the array
  std::vector<timing::TileStats> stats;
  std::vector<uint32_t> beat;
  uint64_t front_free = 0;          // the activation input port is free from this cycle
  uint64_t empty_at = 0;            // no data in the array from this cycle
  uint64_t grid = 0;                // beat grid origin of the data in flight
  uint32_t grid_beat = 0;
  uint64_t serial_free = 0;         // scalesim and os.matmul: the array is free from this cycle
};

class FastEngine {
 public:
  FastEngine(const ir::TileProgram& p, const ArchConfig& arch, const ir::MemoryImage& mem)
      : m_p(p), m_arch(arch), m_pe(pe_model(arch)), m_mem(mem), m_wbuf(static_cast<size_t>(arch.weight_bytes)) {
    const auto n = static_cast<size_t>(arch.weight_sets);
    m_a.set_busy.assign(n, 0);
    m_a.stats.assign(n, {});
    m_a.beat.assign(n, 0);
  }

  timing::Timeline run(const std::function<void(uint64_t)>& progress) {
    timing::Timeline tl;
    tl.ops.resize(m_p.size());
    tl.gemm_actions.resize(std::max<size_t>(1, m_p.gemms.size()));  // DMA-only programs count in GEMM 0
    const std::vector<uint32_t> gemm_of = timing::op_gemms(m_p);
    for (ir::OpId id = 0; id < m_p.size(); ++id) {
      const TileOp& op = m_p.op(id);
      if (progress && (id & 0xffff) == 0) progress(id);
      uint64_t ready = 0;
      for (ir::OpId d : m_p.deps(id)) ready = std::max(ready, tl.ops[d].done);
      // A unit issues at most one op per cycle; under scalesim, DMA and dequant are SCALE-Sim's
      // ideal memory, not hardware, and any number issue in one cycle.
      const auto u = static_cast<size_t>(ir::unit_of(op.opcode));
      const uint64_t t = std::max(ready, m_issued[u] == 0 || scalesim() ? m_last_issue[u] : m_last_issue[u] + 1);
      ++m_issued[u];
      OpTime ot = schedule(op, t, tl.gemm_actions[gemm_of[id]]);
      ot.done = std::max(ot.finish, m_last_done[u]);
      m_last_issue[u] = ot.issue;
      m_last_done[u] = ot.done;
      tl.total_cycles = std::max(tl.total_cycles, ot.done);
      tl.ops[id] = ot;
    }
    tl.gemm_actions.resize(m_p.gemms.size());
    for (const auto& a : tl.gemm_actions) tl.actions += a;
    return tl;
  }

 private:
  bool scalesim() const { return m_arch.timing == TimingModel::kScaleSim; }

  OpTime schedule(const TileOp& op, uint64_t t, timing::ActionCounts& acts) {
    OpTime ot;
    ot.issue = t;
    const uint64_t L = static_cast<uint64_t>(m_arch.dram_latency_cycles);
    switch (op.opcode) {
      case Opcode::kDmaLoad: {
        // Only some PE kinds' timing and pulses depend on data: the weight codes in wbuf.
        if (op.buf == ir::Buffer::kWbuf && m_pe.reads_weights()) load_wbuf(op);
        if (scalesim()) {
          ot.finish = t;
        } else {
          const uint64_t start = std::max(t + L, m_read_free);
          ot.finish = start + timing::dma_transfer_cycles(m_arch, op.rows, op.bytes);
          m_read_free = ot.finish;
        }
        timing::count_op_actions(m_arch, m_p, op, 0, {}, acts);
        break;
      }
      case Opcode::kDmaStore: {
        if (scalesim()) {
          ot.finish = t;
        } else {
          const uint64_t start = std::max(t, m_write_free);
          m_write_free = start + timing::dma_transfer_cycles(m_arch, op.rows, op.bytes);
          ot.finish = m_write_free + L;
        }
        timing::count_op_actions(m_arch, m_p, op, 0, {}, acts);
        break;
      }
      case Opcode::kDequant: {
        ot.issue = std::max(t, m_epilogue_free);
        ot.finish = ot.issue + timing::dequant_cycles(m_arch, op.m, op.n);
        m_epilogue_free = ot.finish;
        timing::count_op_actions(m_arch, m_p, op, 0, {}, acts);
        break;
      }
      case Opcode::kPreload: preload(op, t, ot, acts); break;
      case Opcode::kMatmul: matmul(op, t, ot, acts); break;
      case Opcode::kOsMatmul: {
        ot.issue = std::max({t, m_a.serial_free, m_a.empty_at});
        ot.finish = ot.issue + timing::os_matmul_cycles(m_arch, op.m, op.k, op.n);
        ot.beat = 1;
        m_a.serial_free = ot.finish;
        timing::count_op_actions(m_arch, m_p, op, 1, {}, acts);
        break;
      }
    }
    return ot;
  }

  void load_wbuf(const TileOp& op) {
    const uint64_t extent = uint64_t{op.rows - 1} * op.src_stride + op.bytes;
    auto holds = [&](const ir::Segment* s) { return s != nullptr && s->base <= op.src && op.src + extent <= s->end(); };
    if (!holds(m_seg)) {
      m_seg = nullptr;
      for (const auto& s : m_mem.segments()) {
        if (holds(&s)) m_seg = &s;
      }
    }
    const ir::Segment* seg = m_seg;
    for (uint64_t r = 0; r < op.rows; ++r) {
      uint8_t* to = m_wbuf.data() + op.dst + r * op.dst_stride;
      if (seg != nullptr) {
        std::memcpy(to, seg->bytes.data() + (op.src - seg->base) + r * op.src_stride, op.bytes);
      } else {  // rows outside one segment: the image reads zeros outside segments
        m_mem.read(op.src + r * op.src_stride, {to, op.bytes});
      }
    }
  }

  void preload(const TileOp& op, uint64_t t, OpTime& ot, timing::ActionCounts& acts) {
    const auto format = m_p.gemms[op.gemm].format;
    const timing::TileStats st = m_pe.tile_stats(m_arch, format, m_wbuf, op.src, op.src_stride, op.k, op.n);
    const uint32_t beat = m_pe.beat(m_arch, st);
    // The sets are used in turn; a second preload before any matmul overwrites the pending one.
    const int set = m_a.pending ? m_a.pending_set : (m_a.active + 1) % m_arch.weight_sets;
    if (scalesim()) {
      ot.issue = std::max(t, m_a.serial_free);
      ot.finish = ot.issue + timing::preload_cycles(m_arch, op.k);
      m_a.serial_free = ot.finish;
    } else {
      ot.issue = std::max(t, m_a.set_busy[static_cast<size_t>(set)]);
      if (m_a.pending) ot.issue = std::max(ot.issue, m_a.pending_ready);
      ot.finish = ot.issue + timing::preload_cycles(m_arch, op.k);
    }
    ot.beat = static_cast<uint8_t>(beat);
    m_a.pending = true;
    m_a.pending_set = set;
    m_a.pending_ready = ot.finish;
    m_a.stats[static_cast<size_t>(set)] = st;
    m_a.beat[static_cast<size_t>(set)] = beat;
    timing::count_op_actions(m_arch, m_p, op, beat, st, acts);
  }

  void matmul(const TileOp& op, uint64_t t, OpTime& ot, timing::ActionCounts& acts) {
    if (m_a.pending) {
      m_a.active = m_a.pending_set;
      m_a.pending = false;
      t = std::max(t, m_a.pending_ready);
    }
    const auto set = static_cast<size_t>(m_a.active);
    const uint32_t W = m_a.beat[set];
    uint64_t s = 0;
    if (scalesim()) {
      s = std::max(t, m_a.serial_free);
      ot.finish = s + timing::matmul_beats(m_arch, op.m);
      m_a.serial_free = ot.finish;
    } else {
      const uint64_t r = std::max(t, m_a.front_free);
      if (r < m_a.empty_at && W == m_a.grid_beat) {
        s = ceil_to_grid(r, m_a.grid, W);
      } else {
        s = std::max(r, m_a.empty_at);
        m_a.grid = s;
        m_a.grid_beat = W;
      }
      m_a.front_free = s + uint64_t{op.m} * W;
      ot.finish = s + timing::matmul_beats(m_arch, op.m) * W;
      m_a.empty_at = ot.finish;
      m_a.set_busy[set] = ot.finish;
    }
    ot.issue = s;
    ot.beat = static_cast<uint8_t>(W);
    timing::count_op_actions(m_arch, m_p, op, W, m_a.stats[set], acts);
    if (!m_streamed || s != m_stream_end) timing::count_stream_start(m_arch, acts);
    m_streamed = true;
    m_stream_end = s + uint64_t{op.m} * W;  // the beat after this matmul's last row entered
  }

  const ir::TileProgram& m_p;
  const ArchConfig& m_arch;
  const PeModel& m_pe;
  const ir::MemoryImage& m_mem;
  std::vector<uint8_t> m_wbuf;
  const ir::Segment* m_seg = nullptr;  // the segment of the last weight load
  std::array<uint64_t, ir::kNumUnits> m_last_issue{};
  std::array<uint64_t, ir::kNumUnits> m_issued{};
  std::array<uint64_t, ir::kNumUnits> m_last_done{};
  uint64_t m_read_free = 0, m_write_free = 0, m_epilogue_free = 0;
  ArrayState m_a;
  bool m_streamed = false;    // a matmul has run
  uint64_t m_stream_end = 0;  // the cycle after its last row's entry beat
};

}  // namespace

timing::Timeline run_fast(const ir::TileProgram& program, const ArchConfig& arch, const ir::MemoryImage& memory,
                          const std::function<void(uint64_t)>& progress) {
  return FastEngine(program, arch, memory).run(progress);
}

namespace {

// The registered engine "fast": the timing contract in closed form; no data.
class Fast final : public Engine {
 public:
  std::string name() const override { return "fast"; }
  std::string description() const override { return "closed-form timing per op (docs/architecture.md); no data"; }
  EngineParts parts() const override { return {.bytes = false, .cycles = true, .op_timeline = true}; }

 protected:
  EngineResult execute(const ArchConfig& arch, const ir::TileProgram& program, ir::MemoryImage memory,
                       const EngineOptions& options) const override {
    refuse_option(!options.vcd.empty(), "--vcd");
    refuse_rtl_options(options);
    EngineResult r;
    r.timeline = run_fast(program, arch, memory, options.progress);
    return r;
  }
};

}  // namespace

}  // namespace fq::sim

FQ_REGISTER_ENGINE(fast, fq::sim::Fast);
