#include "sim/fast/fast_engine.h"

#include "sim/engine.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
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
    tl.ops.reserve(m_p.size());  // filled in op order (no zero pass over the timeline first)
    tl.gemm_actions.resize(std::max<size_t>(1, m_p.gemms.size()));  // DMA-only programs count in GEMM 0
    timing::OpGemms gemm_of(m_p);
    for (ir::OpId id = 0; id < m_p.size(); ++id) {
      const TileOp& op = m_p.op(id);
      if (progress && (id & 0xffff) == 0) progress(id);
      uint64_t ready = 0;
      for (ir::OpId d : m_p.deps(id)) ready = std::max(ready, d < tl.ops.size() ? tl.ops[d].done : 0);
      // A unit issues at most one op per cycle; under scalesim, DMA and dequant are SCALE-Sim's
      // ideal memory, not hardware, and any number issue in one cycle.
      const auto u = static_cast<size_t>(ir::unit_of(op.opcode));
      const uint64_t t = std::max(ready, m_issued[u] == 0 || scalesim() ? m_last_issue[u] : m_last_issue[u] + 1);
      ++m_issued[u];
      timing::ActionCounts& acts = tl.gemm_actions[gemm_of.of(op)];
      OpTime ot = schedule(op, t, acts);
      ot.done = std::max(ot.finish, m_last_done[u]);
      m_ctrl.op(op, ot, acts);
      m_last_issue[u] = ot.issue;
      m_last_done[u] = ot.done;
      tl.total_cycles = std::max(tl.total_cycles, ot.done);
      tl.ops.push_back(ot);
    }
    close_run(m_a.empty_at);
    m_ctrl.end();
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

  // wbuf is modelled lazily: a dma.load into it from one DRAM segment, with rows that do not
  // overlap each other, stays "pending" (its DRAM rows, not copied) until something needs its
  // bytes in m_wbuf. The pending loads' wbuf extents are disjoint, and wbuf's content is m_wbuf
  // overlaid with them. A preload whose tile lies in one pending load with the same row stride
  // reads the codes from the memory image directly, and its statistics, a function of those
  // bytes only (the image does not change during a run), are computed once per tile.
  struct Pending {
    uint64_t dst = 0, dst_stride = 0, rows = 0, bytes = 0;  // wbuf rows
    uint64_t end = 0;                                       // wbuf extent [dst, end)
    uint64_t src = 0, src_stride = 0;                       // DRAM rows
    const ir::Segment* seg = nullptr;                       // holds all DRAM rows
    bool dense() const { return rows == 1 || dst_stride == bytes; }
    // [addr, addr + len) lies inside one row of this load.
    bool in_one_row(uint64_t addr, uint64_t len, uint64_t* row = nullptr, uint64_t* col = nullptr) const {
      if (addr < dst) return false;
      const uint64_t o = addr - dst;
      const uint64_t r = rows == 1 ? 0 : o / dst_stride;
      const uint64_t c = rows == 1 ? o : o % dst_stride;
      if (r >= rows || c + len > bytes) return false;
      if (row != nullptr) *row = r;
      if (col != nullptr) *col = c;
      return true;
    }
    // Every byte of `p` is written by this load.
    bool covers(const Pending& p) const {
      if (dense()) return dst <= p.dst && p.end <= end;
      for (uint64_t j = 0; j < p.rows; ++j) {
        if (!in_one_row(p.dst + j * p.dst_stride, p.bytes)) return false;
      }
      return true;
    }
  };

  struct TileKey {
    uint64_t addr, stride;
    uint32_t k, n;
    HwFormat format;
    bool operator==(const TileKey&) const = default;
  };
  void materialize(const Pending& p) {
    for (uint64_t r = 0; r < p.rows; ++r) {
      std::memcpy(m_wbuf.data() + p.dst + r * p.dst_stride,
                  p.seg->bytes.data() + (p.src - p.seg->base) + r * p.src_stride, p.bytes);
    }
  }

  // Writes the pending loads that overlap [begin, end) into m_wbuf, except those `keep` covers
  // (which it overwrites), and forgets them.
  void settle(uint64_t begin, uint64_t end, const Pending* keep) {
    size_t out = 0;
    for (size_t i = 0; i < m_pending.size(); ++i) {
      const Pending& p = m_pending[i];
      if (p.dst < end && begin < p.end) {
        if (keep == nullptr || !keep->covers(p)) materialize(p);
      } else {
        m_pending[out++] = p;
      }
    }
    m_pending.resize(out);
  }

  void load_wbuf(const TileOp& op) {
    if (op.rows == 0 || op.bytes == 0) return;  // writes nothing
    const uint64_t extent = uint64_t{op.rows - 1} * op.src_stride + op.bytes;
    auto holds = [&](const ir::Segment* s) { return s != nullptr && s->base <= op.src && op.src + extent <= s->end(); };
    if (!holds(m_seg)) {
      m_seg = nullptr;
      for (const auto& s : m_mem.segments()) {
        if (holds(&s)) m_seg = &s;
      }
    }
    const ir::Segment* seg = m_seg;
    Pending n{.dst = op.dst, .dst_stride = op.dst_stride, .rows = op.rows, .bytes = op.bytes,
              .end = op.dst + uint64_t{op.rows - 1} * op.dst_stride + op.bytes, .src = op.src,
              .src_stride = op.src_stride, .seg = seg};
    const bool lazy = seg != nullptr && (op.rows == 1 || op.dst_stride >= op.bytes);
    settle(n.dst, n.end, lazy ? &n : nullptr);
    if (lazy) {
      m_pending.push_back(n);
      return;
    }
    for (uint64_t r = 0; r < op.rows; ++r) {
      uint8_t* to = m_wbuf.data() + op.dst + r * op.dst_stride;
      if (seg != nullptr) {
        std::memcpy(to, seg->bytes.data() + (op.src - seg->base) + r * op.src_stride, op.bytes);
      } else {  // rows outside one segment: the image reads zeros outside segments
        m_mem.read(op.src + r * op.src_stride, {to, op.bytes});
      }
    }
  }

  // The statistics of the tile a preload reads from wbuf (n rows of weight_row_bytes(k) bytes,
  // `stride` apart from `src`).
  timing::TileStats wbuf_tile_stats(HwFormat format, uint64_t src, uint64_t stride, uint32_t k, uint32_t n) {
    const uint64_t rb = ir::weight_row_bytes(format, k);
    if (n == 0 || rb == 0 || m_pending.empty()) return m_pe.tile_stats(m_arch, format, m_wbuf, src, stride, k, n);
    const uint64_t end = src + uint64_t{n - 1} * stride + rb;
    const Pending* hit = nullptr;
    size_t overlaps = 0;
    for (const Pending& p : m_pending) {
      if (p.dst < end && src < p.end) {
        ++overlaps;
        hit = &p;
      }
    }
    if (overlaps == 0) return m_pe.tile_stats(m_arch, format, m_wbuf, src, stride, k, n);
    uint64_t r0 = 0, c0 = 0;
    if (overlaps == 1 && (n == 1 || stride == hit->dst_stride) && hit->in_one_row(src, rb, &r0, &c0) &&
        r0 + n <= hit->rows) {
      const uint64_t dram = hit->src + r0 * hit->src_stride + c0;
      const uint64_t dram_stride = n == 1 ? 0 : hit->src_stride;
      const TileKey key{dram, dram_stride, k, n, format};
      // Programs sweep the same tiles in the same order again (one sweep per M chunk): the stats
      // are kept in first-use order and replayed from a cursor; when the next tile is not the
      // cursor's, the starts of the runs of new tiles (a sweep's first tile) are tried. A tile
      // not found is computed and appended (a repeat then holds the same stats twice).
      if (m_next_tile < m_tiles.size() && m_tiles[m_next_tile].first == key) {
        m_appending = false;
        return m_tiles[m_next_tile++].second;
      }
      for (auto it = m_run_starts.rbegin(); it != m_run_starts.rend(); ++it) {
        if (m_tiles[*it].first == key) {
          m_next_tile = *it + 1;
          m_appending = false;
          return m_tiles[*it].second;
        }
      }
      const ir::Segment& seg = *hit->seg;
      const timing::TileStats st = m_pe.tile_stats(m_arch, format, {seg.bytes.data(), seg.bytes.size()},
                                                   dram - seg.base, dram_stride, k, n);
      if (m_tiles.size() < kMaxTiles) {
        if (!m_appending) {
          if (m_run_starts.size() == kMaxRuns) m_run_starts.erase(m_run_starts.begin());
          m_run_starts.push_back(m_tiles.size());
        }
        m_tiles.emplace_back(key, st);
        m_next_tile = m_tiles.size();
        m_appending = true;
      }
      return st;
    }
    settle(src, end, nullptr);
    return m_pe.tile_stats(m_arch, format, m_wbuf, src, stride, k, n);
  }

  void preload(const TileOp& op, uint64_t t, OpTime& ot, timing::ActionCounts& acts) {
    const auto format = m_p.gemms[op.gemm].format;
    const timing::TileStats st = m_pe.reads_weights()
                                     ? wbuf_tile_stats(format, op.src, op.src_stride, op.k, op.n)
                                     : m_pe.tile_stats(m_arch, format, m_wbuf, op.src, op.src_stride, op.k, op.n);
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
      const bool joins = r < m_a.empty_at && W == m_a.grid_beat;
      s = joins ? ceil_to_grid(r, m_a.grid, W) : std::max(r, m_a.empty_at);
      // The beats since the previous matmul's issue are its GEMM's (the cycle model's rule: the
      // matmul issued last); a new grid closes the previous one where it drained.
      close_run(joins ? s : m_a.empty_at);
      if (!joins) {
        m_a.grid = s;
        m_a.grid_beat = W;
      }
      m_run_acts = &acts;
      m_run_start = s;
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
  std::vector<Pending> m_pending;      // wbuf loads not yet copied into m_wbuf
  std::vector<std::pair<TileKey, timing::TileStats>> m_tiles;  // stats by DRAM tile, first use order
  static constexpr size_t kMaxTiles = size_t{1} << 22, kMaxRuns = 64;
  std::vector<size_t> m_run_starts;  // where runs of appended tiles begin in m_tiles, oldest first
  bool m_appending = false;          // the last lookup appended a tile
  size_t m_next_tile = 0;
  std::array<uint64_t, ir::kNumUnits> m_last_issue{};
  std::array<uint64_t, ir::kNumUnits> m_issued{};
  std::array<uint64_t, ir::kNumUnits> m_last_done{};
  uint64_t m_read_free = 0, m_write_free = 0, m_epilogue_free = 0;
  ArrayState m_a;
  timing::ControllerWrites m_ctrl{m_arch};  // counts into tl.gemm_actions, which keeps its size
  // The running beat grid's beats not yet counted (timing::ActionCounts::array_beats): from
  // m_run_start on the grid of beat m_a.grid_beat, for the GEMM of the matmul issued last.
  void close_run(uint64_t end) {
    if (m_run_acts == nullptr) return;
    m_run_acts->array_beats += (end - m_run_start) / m_a.grid_beat;
    m_run_acts = nullptr;
  }
  timing::ActionCounts* m_run_acts = nullptr;  // tl.gemm_actions keeps its size while the run lasts
  uint64_t m_run_start = 0;
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
