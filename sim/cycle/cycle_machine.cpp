#include "sim/cycle/cycle_machine.h"

#include "model/core/fp16.h"
#include "model/quant/cluster_codec.h"
#include "model/quant/encoded_matrix.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>

namespace fq::sim {
namespace {

using ir::Buffer;
using ir::OpId;
using ir::Opcode;
using ir::TileOp;
using ir::Unit;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

// One dma.load or dma.store moving through a DRAM channel, one burst chunk per cycle.
struct Transfer {
  OpId id = 0;
  uint64_t ready = 0;  // first cycle the channel may move its data
  uint32_t row = 0;
  uint32_t offset = 0;
};

// One activation row in the input skew / output deskew ring, keyed by the beat it entered.
struct RowSlot {
  bool valid = false;
  uint64_t beat = 0;
  OpId op = 0;
  uint32_t r = 0;
  int set = 0;
  std::vector<int8_t> data;  // R activations (zero beyond the tile's k)
  std::vector<int32_t> out;  // C column results as they leave the bottom row
};

struct Preload {
  bool busy = false;
  OpId id = 0;
  uint64_t start = 0;
  uint64_t duration = 0;
  int set = 0;
  uint32_t max_mag = 0;
};

struct OsTile {
  bool busy = false;
  OpId id = 0;
  uint64_t start = 0;
  uint64_t finish = 0;
  std::vector<int8_t> a;    // m x k activations
  std::vector<int8_t> w;    // n x k weights
  std::vector<int32_t> acc; // m x n accumulators (the PEs)
};

struct Dequant {
  bool busy = false;
  OpId id = 0;
  uint64_t start = 0;
  uint64_t chunks = 0;
  uint64_t next = 0;
};

// The two per-PE loops of the array, the hot spots of the SystemC model. Branch-free, and
// compiled twice (AVX2 and baseline x86-64, picked at run time) so that they vectorise well on
// any x86-64 machine without building for the host's CPU.

// One cycle of every PE: add the activation (by sign) while the phase is below |q|. Returns the
// number of additions.
__attribute__((target_clones("avx2", "default"))) int32_t pe_cycle(int32_t* __restrict ps,
                                                                    const int32_t* __restrict mag,
                                                                    const int32_t* __restrict av, size_t n,
                                                                    int32_t phase) {
  int32_t adds = 0;
  for (size_t x = 0; x < n; ++x) {
    const int32_t on = phase < mag[x] ? 1 : 0;
    ps[x] += on & 1 ? av[x] : 0;
    adds += on;
  }
  return adds;
}

struct Sums {
  int32_t valid_all = 0, valid1 = 0, due_all = 0, due1 = 0;
};

// The operands of one beat: each PE's |q| (temporal) or tile flag (mac), and its signed
// activation or product, from the weight set its data is tagged with; invalid PEs get 0.
__attribute__((target_clones("avx2", "default"))) Sums beat_operands(
    std::array<const int32_t*, 2> wmag, std::array<const int32_t*, 2> wmul, const int32_t* __restrict valid,
    const int32_t* __restrict set, const int32_t* __restrict act, int32_t* __restrict mag, int32_t* __restrict ea,
    size_t n) {
  const int32_t* __restrict mag0 = wmag[0];
  const int32_t* __restrict mag1 = wmag[1];
  const int32_t* __restrict mul0 = wmul[0];
  const int32_t* __restrict mul1 = wmul[1];
  Sums s;
  for (size_t x = 0; x < n; ++x) {
    const int32_t v = valid[x];
    const int32_t s1 = set[x];
    const int32_t m = (s1 ? mag1[x] : mag0[x]) & -v;
    mag[x] = m;
    ea[x] = act[x] * (s1 ? mul1[x] : mul0[x]);
    s.valid_all += v;
    s.valid1 += v & s1;
    s.due_all += m;
    s.due1 += m & -s1;
  }
  return s;
}

}  // namespace

struct CycleMachine::Impl {
  const ir::TileProgram& p;
  const ArchConfig& arch;
  ir::MemoryImage& mem;
  const bool scalesim;
  const uint32_t R, C;

  std::array<std::vector<uint8_t>, ir::kNumBuffers> buf;
  std::vector<uint64_t> issue_t, finish, done;
  std::vector<uint8_t> beat_of;
  struct UnitQueue {
    std::vector<OpId> ops;
    size_t next = 0;
    std::deque<OpId> inflight;
    uint64_t last_done = 0;
  };
  std::array<UnitQueue, ir::kNumUnits> units;
  std::vector<uint32_t> gemm_of;            // op -> GEMM (timing::op_gemms)
  std::vector<timing::ActionCounts> gacts;   // per GEMM
  uint64_t pulses_stepped = 0;               // pulses counted cycle by cycle (all GEMMs)
  uint64_t next_cycle = 0, last_progress = 0, pe_cycles = 0, retired = 0;

  std::deque<Transfer> reads, writes;
  Dequant deq;

  // Array state (docs/architecture.md "Array").
  // Weight register sets, R x C, held as what a PE uses: temporal: |q| and the sign (+1/-1);
  // mac: 1 inside the tile (0 outside) and q. int32 throughout so the PE loops vectorise.
  std::array<std::vector<int32_t>, 2> wmag, wmul;
  std::array<uint32_t, 2> set_beat{};
  std::array<uint32_t, 2> set_k{}, set_n{};
  std::array<uint64_t, 2> set_rows{};
  std::array<uint32_t, 2> set_gemm{};  // issued rows that use the set and are not yet written
  int active = 0;
  bool pending = false, pending_complete = false;
  Preload pre;
  uint64_t rows_in_flight = 0;
  OpId stream_op = 0;
  uint32_t stream_left = 0, stream_next = 0;
  int stream_set = 0;
  uint64_t grid = 0;
  uint32_t grid_beat = 1;
  std::vector<RowSlot> ring;
  std::vector<int32_t> act, avalid, aset;  // per PE: activation, data valid, weight set
  std::vector<int32_t> ps, eff_mag, eff_a;
  OsTile os;

  Impl(const ir::TileProgram& program, const ArchConfig& a, ir::MemoryImage& memory)
      : p(program), arch(a), mem(memory), scalesim(a.timing == TimingModel::kScaleSim),
        R(static_cast<uint32_t>(a.rows)), C(static_cast<uint32_t>(a.cols)) {
    buf[static_cast<size_t>(Buffer::kWbuf)].resize(static_cast<size_t>(a.weight_bytes));
    buf[static_cast<size_t>(Buffer::kAbuf)].resize(static_cast<size_t>(a.act_bytes));
    buf[static_cast<size_t>(Buffer::kObuf)].resize(static_cast<size_t>(a.out_bytes));
    buf[static_cast<size_t>(Buffer::kSbuf)].resize(static_cast<size_t>(a.scale_bytes));
    const size_t n = p.size();
    issue_t.assign(n, kNever);
    finish.assign(n, kNever);
    done.assign(n, kNever);
    beat_of.assign(n, 0);
    gemm_of = timing::op_gemms(p);
    gacts.resize(std::max<size_t>(1, p.gemms.size()));
    for (OpId id = 0; id < n; ++id) units[static_cast<size_t>(ir::unit_of(p.op(id).opcode))].ops.push_back(id);
    const size_t rc = size_t{R} * C;
    for (int s = 0; s < 2; ++s) {
      wmag[static_cast<size_t>(s)].assign(rc, 0);
      wmul[static_cast<size_t>(s)].assign(rc, 0);
    }
    ring.resize(std::bit_ceil(size_t{R} + C));  // a power of two: slot_of() masks
    for (auto& slot : ring) {
      slot.data.assign(R, 0);
      slot.out.assign(C, 0);
    }
    act.assign(rc, 0);
    avalid.assign(rc, 0);
    aset.assign(rc, 0);
    ps.assign(rc, 0);
    eff_mag.assign(rc, 0);
    eff_a.assign(rc, 0);
  }

  uint8_t* bptr(Buffer b, uint64_t addr) { return buf[static_cast<size_t>(b)].data() + addr; }
  timing::ActionCounts& A(OpId id) { return gacts[gemm_of[id]]; }
  uint64_t& rd(OpId id, Buffer b) { return A(id).buf_read_bytes[static_cast<size_t>(b)]; }
  uint64_t& wr(OpId id, Buffer b) { return A(id).buf_write_bytes[static_cast<size_t>(b)]; }

  // ---- controller ----

  bool deps_done(OpId id, uint64_t c) const {
    for (OpId d : p.deps(id)) {
      if (done[d] == kNever || done[d] > c) return false;
    }
    return true;
  }

  void retire(Unit u) {
    auto& q = units[static_cast<size_t>(u)];
    while (!q.inflight.empty() && finish[q.inflight.front()] != kNever) {
      const OpId id = q.inflight.front();
      done[id] = std::max(finish[id], q.last_done);
      q.last_done = done[id];
      q.inflight.pop_front();
      ++retired;
    }
  }

  void stamp(OpId id, uint64_t f) {
    finish[id] = f;
    last_progress = std::max(last_progress, f);
  }

  void issue(uint64_t c) {
    // A unit issues at most one op per cycle (any number under scalesim, whose zero-time ops
    // are SCALE-Sim's ideal memory); zero-time ops can enable others within the cycle.
    std::array<bool, ir::kNumUnits> issued{};
    bool changed = true;
    while (changed) {
      changed = false;
      for (size_t u = 0; u < units.size(); ++u) {
        auto& q = units[u];
        while (q.next < q.ops.size() && (scalesim || !issued[u])) {
          const OpId id = q.ops[q.next];
          if (!deps_done(id, c) || !start(id, c)) break;
          issue_t[id] = c;
          q.inflight.push_back(id);
          ++q.next;
          issued[u] = true;
          last_progress = std::max(last_progress, c);
          changed = true;
        }
        const size_t before = retired;
        retire(static_cast<Unit>(u));
        if (retired != before) changed = true;
      }
    }
  }

  // Takes op `id` at cycle c if its unit can; false leaves it for a later cycle.
  bool start(OpId id, uint64_t c) {
    const TileOp& op = p.op(id);
    switch (op.opcode) {
      case Opcode::kDmaLoad:
        if (scalesim) {
          for (uint32_t r = 0; r < op.rows; ++r) move_load_chunk(id, op, r, 0, op.bytes);
          stamp(id, c);
        } else {
          reads.push_back({id, c + static_cast<uint64_t>(arch.dram_latency_cycles)});
        }
        return true;
      case Opcode::kDmaStore:
        if (scalesim) {
          for (uint32_t r = 0; r < op.rows; ++r) move_store_chunk(id, op, r, 0, op.bytes);
          stamp(id, c);
        } else {
          writes.push_back({id, c});
        }
        return true;
      case Opcode::kDequant: {
        if (deq.busy) return false;
        const uint64_t per_row = (op.n + C - 1) / C;
        if (scalesim) {
          for (uint64_t ch = 0; ch < op.m * per_row; ++ch) dequant_chunk(id, op, ch, per_row);
          stamp(id, c);
          return true;
        }
        deq = {true, id, c, op.m * per_row, 0};
        return true;
      }
      case Opcode::kPreload: return start_preload(id, op, c);
      case Opcode::kMatmul: return start_matmul(id, op, c);
      case Opcode::kOsMatmul: return start_os(id, op, c);
    }
    return false;
  }

  // ---- DMA ----

  void move_load_chunk(OpId id, const TileOp& op, uint32_t row, uint32_t off, uint32_t n) {
    mem.read(op.src + uint64_t{row} * op.src_stride + off, {bptr(op.buf, op.dst + uint64_t{row} * op.dst_stride + off), n});
    A(id).dram_read_bytes += n;
    wr(id, op.buf) += n;
  }

  void move_store_chunk(OpId id, const TileOp& op, uint32_t row, uint32_t off, uint32_t n) {
    mem.write(op.dst + uint64_t{row} * op.dst_stride + off, {bptr(Buffer::kObuf, op.src + uint64_t{row} * op.src_stride + off), n});
    rd(id, Buffer::kObuf) += n;
    A(id).dram_write_bytes += n;
  }

  // Moves one chunk of the channel's front transfer; returns true when that finished the op.
  template <typename Move>
  bool channel_cycle(std::deque<Transfer>& q, uint64_t c, Move move) {
    if (q.empty() || q.front().ready > c) return false;
    Transfer& t = q.front();
    const TileOp& op = p.op(t.id);
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(arch.dram_bytes_per_cycle), op.bytes - t.offset);
    move(t.id, op, t.row, t.offset, n);
    t.offset += n;
    if (t.offset == op.bytes) {
      t.offset = 0;
      ++t.row;
    }
    return t.row == op.rows;
  }

  void work_dma_in(uint64_t c) {
    if (channel_cycle(reads, c, [this](OpId id, const TileOp& op, uint32_t r, uint32_t o, uint32_t n) { move_load_chunk(id, op, r, o, n); })) {
      stamp(reads.front().id, c + 1);
      reads.pop_front();
    }
    retire(Unit::kDmaIn);
  }

  void work_dma_out(uint64_t c) {
    if (channel_cycle(writes, c, [this](OpId id, const TileOp& op, uint32_t r, uint32_t o, uint32_t n) { move_store_chunk(id, op, r, o, n); })) {
      // The last byte leaves now; the DRAM acknowledges the write latency_cycles later.
      stamp(writes.front().id, c + 1 + static_cast<uint64_t>(arch.dram_latency_cycles));
      writes.pop_front();
    }
    retire(Unit::kDmaOut);
  }

  // ---- epilogue ----

  void dequant_chunk(OpId id, const TileOp& op, uint64_t chunk, uint64_t per_row) {
    const uint64_t r = chunk / per_row;
    const uint64_t j0 = (chunk % per_row) * C;
    const uint64_t j1 = std::min<uint64_t>(op.n, j0 + C);
    uint32_t sa_bits = 0;
    std::memcpy(&sa_bits, bptr(Buffer::kSbuf, op.as + 4 * r), 4);
    const float sa = std::bit_cast<float>(sa_bits);
    if (chunk % per_row == 0) rd(id, Buffer::kSbuf) += 4;
    if (r == 0) rd(id, Buffer::kSbuf) += 2 * (j1 - j0);
    for (uint64_t j = j0; j < j1; ++j) {
      int32_t a = 0;
      std::memcpy(&a, bptr(Buffer::kObuf, op.src + r * op.src_stride + 4 * j), 4);
      uint16_t swb = 0;
      std::memcpy(&swb, bptr(Buffer::kSbuf, op.ws + 2 * j), 2);
      const float y = (static_cast<float>(a) * fp16_to_float(swb)) * sa;
      std::memcpy(bptr(Buffer::kObuf, op.dst + r * op.dst_stride + 4 * j), &y, 4);
    }
    rd(id, Buffer::kObuf) += 4 * (j1 - j0);
    wr(id, Buffer::kObuf) += 4 * (j1 - j0);
    A(id).dequant_elems += j1 - j0;
  }

  void work_epilogue(uint64_t c) {
    if (deq.busy) {
      const TileOp& op = p.op(deq.id);
      if (deq.next < deq.chunks) dequant_chunk(deq.id, op, deq.next++, (op.n + C - 1) / C);
      // Two pipeline stages (scale multiply, write) after the last read.
      if (c == deq.start + deq.chunks + 1) {
        stamp(deq.id, c + 1);
        deq.busy = false;
      }
    }
    retire(Unit::kEpilogue);
  }

  // ---- array ----

  bool start_preload(OpId id, const TileOp& op, uint64_t c) {
    const int set = 1 - active;
    if (pending && !pending_complete) return false;
    if (scalesim ? (rows_in_flight != 0 || os.busy) : set_rows[static_cast<size_t>(set)] != 0) return false;
    std::fill(wmag[static_cast<size_t>(set)].begin(), wmag[static_cast<size_t>(set)].end(), 0);
    std::fill(wmul[static_cast<size_t>(set)].begin(), wmul[static_cast<size_t>(set)].end(), 0);
    pre = {true, id, c, timing::preload_cycles(arch, op.k), set, 0};
    set_k[static_cast<size_t>(set)] = op.k;
    set_n[static_cast<size_t>(set)] = op.n;
    set_gemm[static_cast<size_t>(set)] = gemm_of[id];
    pending = true;
    pending_complete = false;
    return true;
  }

  // Writes array row i of the preloading tile: one weight per column through the decoder.
  void preload_row(const TileOp& op, uint32_t i) {
    const auto format = p.gemms[op.gemm].format;
    const uint64_t fresh = ir::weight_row_bytes(format, i + 1) - ir::weight_row_bytes(format, i);
    const int bits = format_int_bits(format);
    auto& mag = wmag[static_cast<size_t>(pre.set)];
    auto& mul = wmul[static_cast<size_t>(pre.set)];
    const bool temporal = arch.pe_kind == PeKind::kTemporal;
    for (uint32_t j = 0; j < op.n; ++j) {
      const uint8_t* row = bptr(Buffer::kWbuf, op.src + uint64_t{j} * op.src_stride);
      int8_t q = 0;
      if (format == HwFormat::kFineqR) {
        q = decode_cluster(row[i / 3])[i % 3];
      } else {  // B-bit two's complement, packed LSB first (docs/isa.md "Data layouts")
        const uint64_t bit0 = uint64_t{i} * static_cast<uint64_t>(bits);
        uint32_t v = 0;
        for (int b = 0; b < bits; ++b) {
          const uint64_t bit = bit0 + static_cast<uint64_t>(b);
          v |= static_cast<uint32_t>((row[bit / 8] >> (bit % 8)) & 1U) << b;
        }
        q = static_cast<int8_t>(static_cast<int32_t>(v << (32 - bits)) >> (32 - bits));
      }
      const int32_t qi = q;
      mag[size_t{i} * C + j] = temporal ? std::abs(qi) : 1;
      mul[size_t{i} * C + j] = temporal ? (qi < 0 ? -1 : 1) : qi;
      pre.max_mag = std::max<uint32_t>(pre.max_mag, static_cast<uint32_t>(std::abs(int{q})));
    }
    rd(pre.id, Buffer::kWbuf) += fresh * op.n;
    if (format == HwFormat::kFineqR) A(pre.id).decoder_bytes += fresh * op.n;
    A(pre.id).weight_writes += op.n;
  }

  bool start_matmul(OpId id, const TileOp& op, uint64_t c) {
    if (pending && !pending_complete) return false;
    if (stream_left != 0 || os.busy) return false;
    if (scalesim && (rows_in_flight != 0 || pre.busy)) return false;
    const int set = pending ? 1 - active : active;
    const uint32_t W = set_beat[static_cast<size_t>(set)];
    if (rows_in_flight != 0) {
      if (W != grid_beat || (c - grid) % W != 0) return false;
    } else {
      grid = c;
      grid_beat = W;
      for (auto& slot : ring) slot.valid = false;
      std::fill(avalid.begin(), avalid.end(), 0);
    }
    if (pending) {
      active = set;
      pending = false;
    }
    stream_op = id;
    stream_left = op.m;
    stream_next = 0;
    stream_set = set;
    rows_in_flight += op.m;
    set_rows[static_cast<size_t>(set)] += op.m;
    beat_of[id] = static_cast<uint8_t>(W);
    return true;
  }

  bool start_os(OpId id, const TileOp& op, uint64_t c) {
    if (os.busy || rows_in_flight != 0) return false;
    const auto format = p.gemms[op.gemm].format;
    os.busy = true;
    os.id = id;
    os.start = c;
    os.finish = c + timing::os_matmul_cycles(arch, op.m, op.k, op.n);
    os.a.assign(size_t{op.m} * op.k, 0);
    os.w.assign(size_t{op.n} * op.k, 0);
    os.acc.assign(size_t{op.m} * op.n, 0);
    for (uint32_t r = 0; r < op.m; ++r) {
      std::memcpy(os.a.data() + size_t{r} * op.k, bptr(Buffer::kAbuf, op.src + uint64_t{r} * op.src_stride), op.k);
    }
    const uint64_t row_bytes = ir::weight_row_bytes(format, op.k);
    for (uint32_t j = 0; j < op.n; ++j) {
      unpack_int_row({bptr(Buffer::kWbuf, op.w_src + uint64_t{j} * op.w_stride), row_bytes}, format_int_bits(format),
                     {os.w.data() + size_t{j} * op.k, op.k});
    }
    rd(id, Buffer::kAbuf) += uint64_t{op.m} * op.k;
    rd(id, Buffer::kWbuf) += op.n * row_bytes;
    beat_of[id] = 1;
    return true;
  }

  void work_array(uint64_t c) {
    if (pre.busy) work_preload(c);
    if (os.busy) work_os(c);
    if (rows_in_flight != 0) work_stream(c);
    retire(Unit::kArray);
  }

  void work_preload(uint64_t c) {
    const TileOp& op = p.op(pre.id);
    const uint64_t offset = scalesim ? 0 : 1;  // default timing: one cycle of wbuf read latency
    if (c >= pre.start + offset && c - pre.start - offset < op.k) preload_row(op, static_cast<uint32_t>(c - pre.start - offset));
    if (c == pre.start + pre.duration - 1) {
      timing::TileStats st;
      st.max_mag = pre.max_mag;
      set_beat[static_cast<size_t>(pre.set)] = timing::tile_beat(arch, st);
      beat_of[pre.id] = static_cast<uint8_t>(set_beat[static_cast<size_t>(pre.set)]);
      pending_complete = true;
      pre.busy = false;
      stamp(pre.id, c + 1);
    }
  }

  void work_os(uint64_t c) {
    const TileOp& op = p.op(os.id);
    const uint64_t t0 = c - os.start;
    for (uint32_t i = 0; i < op.m; ++i) {
      for (uint32_t j = 0; j < op.n; ++j) {
        if (t0 < uint64_t{i} + j) continue;
        const uint64_t t = t0 - i - j;
        if (t >= op.k) continue;
        os.acc[size_t{i} * op.n + j] += int32_t{os.a[size_t{i} * op.k + t]} * int32_t{os.w[size_t{j} * op.k + t]};
        ++A(os.id).pe_macs;
        ++A(os.id).pe_beats;
        ++A(os.id).useful_macs;
      }
    }
    pe_cycles += uint64_t{op.m} * op.n;
    // Default: the accumulators drain one row per cycle after the last product; scalesim
    // (padded folds, drain not counted) writes them in the fold's last cycle.
    const uint64_t drain0 = os.start + op.k + op.m + op.n - 2;
    auto write_row = [&](uint32_t r) {
      for (uint32_t j = 0; j < op.n; ++j) {
        uint8_t* a = bptr(Buffer::kObuf, op.dst + uint64_t{r} * op.dst_stride + 4 * j);
        int32_t v = os.acc[size_t{r} * op.n + j];
        if (op.acc) {
          int32_t old = 0;
          std::memcpy(&old, a, 4);
          v = static_cast<int32_t>(static_cast<uint32_t>(old) + static_cast<uint32_t>(v));
        }
        std::memcpy(a, &v, 4);
      }
      wr(os.id, Buffer::kObuf) += 4 * uint64_t{op.n};
      if (op.acc) rd(os.id, Buffer::kObuf) += 4 * uint64_t{op.n};
    };
    if (scalesim) {
      if (c == os.finish - 1) {
        for (uint32_t r = 0; r < op.m; ++r) write_row(r);
      }
    } else if (c >= drain0 && c - drain0 < op.m) {
      write_row(static_cast<uint32_t>(c - drain0));
    }
    if (c == os.finish - 1) {
      os.busy = false;
      stamp(os.id, c + 1);
    }
  }

  RowSlot& slot_of(uint64_t beat) { return ring[beat & (ring.size() - 1)]; }

  void work_stream(uint64_t c) {
    const uint32_t W = grid_beat;
    const uint64_t b = (c - grid) / W;
    const uint64_t phase = (c - grid) % W;
    const size_t rc = size_t{R} * C;
    if (phase == 0) begin_beat(b);
    // Every PE, every cycle: add the activation (by sign) while the pulse counter is below |q|.
    const auto ph = static_cast<int32_t>(phase);
    pulses_stepped += static_cast<uint64_t>(pe_cycle(ps.data(), eff_mag.data(), eff_a.data(), rc, ph));
    pe_cycles += rc;
    if (phase == W - 1) end_beat(b, c);
  }

  void begin_beat(uint64_t b) {
    // Activations move one PE right, partial sums one PE down.
    for (uint32_t i = 0; i < R; ++i) {
      const size_t row = size_t{i} * C;
      std::memmove(act.data() + row + 1, act.data() + row, sizeof(int32_t) * (C - 1));
      std::memmove(avalid.data() + row + 1, avalid.data() + row, sizeof(int32_t) * (C - 1));
      std::memmove(aset.data() + row + 1, aset.data() + row, sizeof(int32_t) * (C - 1));
    }
    std::memmove(ps.data() + C, ps.data(), sizeof(int32_t) * size_t{R - 1} * C);
    std::fill(ps.begin(), ps.begin() + C, 0);
    // A new row enters the input skew (or a bubble when nothing streams).
    RowSlot& in = slot_of(b);
    in.valid = false;
    if (stream_left != 0) {
      const TileOp& op = p.op(stream_op);
      const uint32_t k = set_k[static_cast<size_t>(stream_set)];
      std::fill(in.data.begin(), in.data.end(), int8_t{0});
      std::memcpy(in.data.data(), bptr(Buffer::kAbuf, op.src + uint64_t{stream_next} * op.src_stride), k);
      rd(stream_op, Buffer::kAbuf) += k;
      in.valid = true;
      in.beat = b;
      in.op = stream_op;
      in.r = stream_next;
      in.set = stream_set;
      ++stream_next;
      --stream_left;
    }
    // Row i of the array takes element i of the row that entered i beats ago.
    for (uint32_t i = 0; i < R; ++i) {
      const size_t x = size_t{i} * C;
      avalid[x] = 0;
      if (b >= i) {
        const RowSlot& s = slot_of(b - i);
        if (s.valid && s.beat == b - i) {
          act[x] = s.data[i];
          avalid[x] = 1;
          aset[x] = s.set;
        }
      }
    }
    // Operands of this beat: |q| and the signed activation (temporal), or the product (mac).
    // Counted per weight set, i.e. per GEMM: the PE-beats with data, and the pulses (|q| each,
    // temporal) or products (mac) they are due; work_stream() counts the pulses cycle by cycle.
    const bool temporal = arch.pe_kind == PeKind::kTemporal;
    std::array<uint64_t, 2> valid{}, due{};
    const size_t rc = size_t{R} * C;
    const int32_t* __restrict mag0 = wmag[0].data();
    const int32_t* __restrict mag1 = wmag[1].data();
    const int32_t* __restrict mul0 = wmul[0].data();
    const int32_t* __restrict mul1 = wmul[1].data();
    const int32_t* __restrict va = avalid.data();
    const int32_t* __restrict sa = aset.data();
    const int32_t* __restrict aa = act.data();
    int32_t* __restrict mag = eff_mag.data();
    int32_t* __restrict ea = eff_a.data();
    Sums sums = beat_operands({mag0, mag1}, {mul0, mul1}, va, sa, aa, mag, ea, rc);
    const int32_t valid_all = sums.valid_all, valid1 = sums.valid1, due_all = sums.due_all, due1 = sums.due1;
    valid = {static_cast<uint64_t>(valid_all - valid1), static_cast<uint64_t>(valid1)};
    due = {static_cast<uint64_t>(due_all - due1), static_cast<uint64_t>(due1)};
    for (size_t s = 0; s < 2; ++s) {
      timing::ActionCounts& a = gacts[set_gemm[s]];
      a.pe_beats += valid[s];
      if (temporal) {
        a.pe_pulses += due[s];
        a.pe_idle_cycles += valid[s] * grid_beat - due[s];
      } else {
        a.pe_macs += due[s];
        a.pe_idle_beats += valid[s] - due[s];
      }
    }
  }

  void end_beat(uint64_t b, uint64_t c) {
    // Bottom row: column j holds the result of the row that entered R - 1 + j beats ago.
    const size_t bottom = size_t{R - 1} * C;
    for (uint32_t j = 0; j < C && b >= uint64_t{R} - 1 + j; ++j) {
      RowSlot& s = slot_of(b - (R - 1) - j);
      if (s.valid && s.beat == b - (R - 1) - j) s.out[j] = ps[bottom + j];
    }
    // The output deskew completes the row whose last column just left the array.
    if (b < uint64_t{R} + C - 2) return;
    const uint64_t e = b - (R + C - 2);
    RowSlot& s = slot_of(e);
    if (!s.valid || s.beat != e) return;
    s.valid = false;
    const TileOp& op = p.op(s.op);
    const uint32_t nt = set_n[static_cast<size_t>(s.set)];
    for (uint32_t j = 0; j < nt; ++j) {
      uint8_t* a = bptr(Buffer::kObuf, op.dst + uint64_t{s.r} * op.dst_stride + 4 * j);
      int32_t v = s.out[j];
      if (op.acc) {
        int32_t old = 0;
        std::memcpy(&old, a, 4);
        v = static_cast<int32_t>(static_cast<uint32_t>(old) + static_cast<uint32_t>(v));
      }
      std::memcpy(a, &v, 4);
    }
    wr(s.op, Buffer::kObuf) += 4 * uint64_t{nt};
    if (op.acc) rd(s.op, Buffer::kObuf) += 4 * uint64_t{nt};
    A(s.op).useful_macs += uint64_t{set_k[static_cast<size_t>(s.set)]} * nt;
    --rows_in_flight;
    --set_rows[static_cast<size_t>(s.set)];
    if (s.r + 1 == op.m) stamp(s.op, c + 1);
  }

  bool finished() const { return retired == p.size(); }
};

CycleMachine::CycleMachine(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory)
    : m(std::make_unique<Impl>(program, arch, memory)) {}
CycleMachine::~CycleMachine() = default;

void CycleMachine::issue(uint64_t c) { m->issue(c); }
void CycleMachine::work_dma_in(uint64_t c) { m->work_dma_in(c); }
void CycleMachine::work_array(uint64_t c) { m->work_array(c); }
void CycleMachine::work_epilogue(uint64_t c) { m->work_epilogue(c); }
void CycleMachine::work_dma_out(uint64_t c) { m->work_dma_out(c); }

void CycleMachine::step() {
  const uint64_t c = m->next_cycle++;
  m->issue(c);
  m->work_dma_in(c);
  m->work_array(c);
  m->work_epilogue(c);
  m->work_dma_out(c);
}

bool CycleMachine::finished() const { return m->finished(); }
uint64_t CycleMachine::ops_completed() const { return m->retired; }
uint64_t CycleMachine::cycle() const { return m->next_cycle; }
uint64_t CycleMachine::last_progress() const { return m->last_progress; }
uint64_t CycleMachine::pe_cycles_stepped() const { return m->pe_cycles; }
uint64_t CycleMachine::pe_adds_stepped() const { return m->pulses_stepped; }

timing::Timeline CycleMachine::timeline() const {
  timing::Timeline tl;
  tl.ops.resize(m->p.size());
  for (size_t id = 0; id < m->p.size(); ++id) {
    tl.ops[id] = {m->issue_t[id], m->finish[id], m->done[id], m->beat_of[id]};
    if (m->done[id] != kNever) tl.total_cycles = std::max(tl.total_cycles, m->done[id]);
  }
  tl.gemm_actions = m->gacts;
  tl.gemm_actions.resize(m->p.gemms.size());
  for (const auto& a : tl.gemm_actions) tl.actions += a;
  return tl;
}

}  // namespace fq::sim
