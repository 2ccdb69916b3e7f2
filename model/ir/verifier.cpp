#include "model/ir/verifier.h"

#include "model/arch/pe_model.h"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <memory_resource>
#include <set>

#include "model/core/error.h"

namespace fq::ir {
namespace {

constexpr uint8_t kNoUnit = 0xff;
constexpr OpId kNoOp = std::numeric_limits<OpId>::max();
constexpr int kDram = kNumBuffers;  // address spaces: the four buffers, then DRAM
constexpr int kNumSpaces = kNumBuffers + 1;

const char* space_name(int space) { return space == kDram ? "dram" : buffer_name(static_cast<Buffer>(space)); }
// The arch's YAML spelling (arch_config.h), kept local so that the IR library needs only the struct.
const char* dataflow_name(Dataflow d) { return d == Dataflow::kOutputStationary ? "os" : "ws"; }

// End of the 2-D region addr + (rows - 1) * stride + bytes; false on 64-bit overflow.
bool region_end(uint64_t addr, uint64_t rows, uint64_t stride, uint64_t bytes, uint64_t& end) {
  uint64_t span = 0;
  if (rows == 0) return false;
  if (__builtin_mul_overflow(rows - 1, stride, &span)) return false;
  if (__builtin_add_overflow(span, bytes, &span)) return false;
  return !__builtin_add_overflow(addr, span, &end);
}

bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

// Bit f set when field f of op is not zero: get_field() for every field as one inline expression
// (the unused-field rule runs for every field of every op, millions of times on a 7B layer).
uint32_t nonzero_fields(const TileOp& op) {
  static_assert(kNumFields == 19, "a new field needs its bit here");
  const auto bit = [](Field f, bool nonzero) { return static_cast<uint32_t>(nonzero) << static_cast<int>(f); };
  using F = Field;
  return bit(F::kGemm, op.gemm != 0) | bit(F::kBuf, op.buf != Buffer{}) | bit(F::kSrc, op.src != 0) |
         bit(F::kSrcStride, op.src_stride != 0) | bit(F::kWSrc, op.w_src != 0) | bit(F::kWStride, op.w_stride != 0) |
         bit(F::kWs, op.ws != 0) | bit(F::kAs, op.as != 0) | bit(F::kDst, op.dst != 0) |
         bit(F::kDstStride, op.dst_stride != 0) | bit(F::kRows, op.rows != 0) | bit(F::kBytes, op.bytes != 0) |
         bit(F::kM0, op.m0 != 0) | bit(F::kM, op.m != 0) | bit(F::kK0, op.k0 != 0) | bit(F::kK, op.k != 0) |
         bit(F::kN0, op.n0 != 0) | bit(F::kN, op.n != 0) | bit(F::kAcc, op.acc != 0);
}

// One byte range an op touches: its bounding interval [begin, end) in one address space.
struct Access {
  int space = 0;
  bool write = false;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Disjoint intervals, each holding the latest op (largest id) that touched it. Painting with
// increasing ids keeps, for every byte, the largest id of the intervals that cover it, so the
// largest id over the segments meeting a range is the latest op whose interval meets the range.
class PaintMap {
 public:
  explicit PaintMap(std::pmr::memory_resource* pool) : m_map(pool) {}

  OpId latest(uint64_t a, uint64_t b) const {
    OpId best = kNoOp;
    auto it = m_map.lower_bound(a);
    if (it != m_map.begin()) {
      const auto p = std::prev(it);
      if (p->second.end > a) best = p->second.op;
    }
    for (; it != m_map.end() && it->first < b; ++it) {
      if (best == kNoOp || it->second.op > best) best = it->second.op;
    }
    return best;
  }

  void paint(uint64_t a, uint64_t b, OpId op) {
    auto it = m_map.lower_bound(a);
    if (it != m_map.end() && it->first == a && it->second.end == b) {  // a slot used again: no node moves
      it->second.op = op;
      return;
    }
    if (it != m_map.begin()) {
      const auto p = std::prev(it);
      if (p->second.end > a) {
        const Seg old = p->second;
        p->second.end = a;
        if (old.end > b) {  // the old interval covers [a, b) and sticks out on both sides
          it = m_map.emplace_hint(it, b, old);
          m_map.emplace_hint(it, a, Seg{b, op});
          return;
        }
      }
    }
    while (it != m_map.end() && it->first < b) {
      if (it->second.end > b) {
        const Seg tail = it->second;
        it = m_map.erase(it);
        it = m_map.emplace_hint(it, b, tail);
        break;
      }
      it = m_map.erase(it);
    }
    m_map.emplace_hint(it, a, Seg{b, op});
  }

 private:
  struct Seg {
    uint64_t end;
    OpId op;
  };
  std::pmr::map<uint64_t, Seg> m_map;
};

class Checker {
 public:
  Checker(const TileProgram& p, const ArchConfig& arch, std::string_view fp, uint64_t dram_bytes)
      : m_p(p), m_arch(arch), m_fp(fp), m_dram_bytes(dram_bytes) {
    const auto cap = [](int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : uint64_t{0}; };
    m_capacity[static_cast<int>(Buffer::kWbuf)] = cap(arch.weight_bytes);
    m_capacity[static_cast<int>(Buffer::kAbuf)] = cap(arch.act_bytes);
    m_capacity[static_cast<int>(Buffer::kObuf)] = cap(arch.out_bytes);
    m_capacity[static_cast<int>(Buffer::kSbuf)] = cap(arch.scale_bytes);
    m_capacity[kDram] = dram_bytes;
    // op_uses() as one mask per opcode (the last entry, for an opcode out of range, uses nothing):
    // the field rule runs for every field of every op, millions of times on a 7B layer.
    for (int o = 0; o < kNumOpcodes; ++o) {
      for (int f = 0; f < kNumFields; ++f) {
        if (op_uses(static_cast<Opcode>(o), static_cast<Field>(f))) m_used_fields[static_cast<size_t>(o)] |= 1u << f;
      }
    }
  }

  std::vector<std::string> run() {
    program_rules();
    gemm_rules();
    op_rules();
    return std::move(m_problems);
  }

 private:
  template <typename... Args>
  void program_problem(std::string_view rule, fmt::format_string<Args...> f, Args&&... args) {
    m_problems.push_back(fmt::format("program: [{}] {}", rule, fmt::format(f, std::forward<Args>(args)...)));
  }
  template <typename... Args>
  void gemm_problem(size_t g, std::string_view rule, fmt::format_string<Args...> f, Args&&... args) {
    m_problems.push_back(fmt::format("gemm {} ({}): [{}] {}", g, m_p.gemms[g].name, rule,
                                     fmt::format(f, std::forward<Args>(args)...)));
  }
  template <typename... Args>
  void op_problem(OpId id, std::string_view rule, fmt::format_string<Args...> f, Args&&... args) {
    m_problems.push_back(fmt::format("op {} ({}): [{}] {}", id, opcode_name(m_p.op(id).opcode), rule,
                                     fmt::format(f, std::forward<Args>(args)...)));
  }

  // ---- program and GEMM table ----------------------------------------------------------------

  void program_rules() {
    if (m_p.version != kTirVersion) program_problem("version", "version {} is not {}", m_p.version, kTirVersion);
    if (m_p.arch_fingerprint != m_fp) {
      program_problem("fingerprint", "compiled for arch fingerprint '{}' but the arch's is '{}'", m_p.arch_fingerprint,
                      m_fp);
    }
    if (!is_token(m_p.arch_name)) program_problem("name", "arch name '{}' is not a token", m_p.arch_name);
    if (m_arch.dataflow == Dataflow::kOutputStationary && !pe_model(m_arch).output_stationary()) {
      program_problem("dataflow", "output-stationary dataflow needs mac PEs");
    }
  }


  void gemm_rules() {
    struct Region {
      uint64_t begin, end;
      size_t gemm;
      const char* what;
      bool output;
    };
    std::vector<Region> regions;
    std::set<std::string_view> names;
    for (size_t g = 0; g < m_p.gemms.size(); ++g) {
      const GemmDesc& d = m_p.gemms[g];
      if (!is_token(d.name)) gemm_problem(g, "name", "name is not a token");
      if (!names.insert(d.name).second) gemm_problem(g, "name", "name used by an earlier gemm");
      const bool format_ok = format_int_bits(d.format) != 0 || d.format == HwFormat::kFineqR;
      if (!format_ok) {
        gemm_problem(g, "gemm-format", "invalid weight format {}", static_cast<int>(d.format));
      } else if (const PeModel& pe = pe_model(m_arch); !pe.runs(m_arch, d.format)) {
        gemm_problem(g, "gemm-format", "{} weights do not run on {} ({} weights)", format_name(d.format),
                     pe.describe(m_arch), format_name(pe.weight_format(m_arch)));
      }
      if (d.m == 0 || d.n == 0 || d.k == 0) {
        gemm_problem(g, "gemm-shape", "M, N, K = {}, {}, {} must be positive", d.m, d.n, d.k);
        continue;
      }
      if (d.a_stride < d.k) gemm_problem(g, "gemm-shape", "a_stride {} is less than K = {}", d.a_stride, d.k);
      if (d.ws_addr % 2 != 0) gemm_problem(g, "gemm-align", "ws_addr 0x{:x} is not 2-byte aligned", d.ws_addr);
      if (d.as_addr % 4 != 0) gemm_problem(g, "gemm-align", "as_addr 0x{:x} is not 4-byte aligned", d.as_addr);
      if (d.acc_addr % 4 != 0) gemm_problem(g, "gemm-align", "acc_addr 0x{:x} is not 4-byte aligned", d.acc_addr);
      if (d.y_addr % 4 != 0) gemm_problem(g, "gemm-align", "y_addr 0x{:x} is not 4-byte aligned", d.y_addr);
      const uint64_t mn = static_cast<uint64_t>(d.m) * d.n;
      struct Extent {
        uint64_t addr, size;
        const char* what;
        bool output;
      };
      const Extent list[] = {
          {d.w_addr, format_ok ? d.n * weight_row_bytes(d.format, d.k) : 0, "w", false},
          {d.ws_addr, uint64_t{2} * d.n, "ws", false},
          {d.a_addr, static_cast<uint64_t>(d.m) * d.a_stride, "a", false},
          {d.as_addr, uint64_t{4} * d.m, "as", false},
          {d.acc_addr, 4 * mn, "acc", true},
          {d.y_addr, 4 * mn, "y", true},
      };
      for (const Extent& e : list) {
        uint64_t end = 0;
        if (__builtin_add_overflow(e.addr, e.size, &end) || end > m_dram_bytes) {
          gemm_problem(g, "gemm-dram", "{} region [0x{:x}, +{}) exceeds dram_bytes {}", e.what, e.addr, e.size,
                       m_dram_bytes);
          continue;
        }
        regions.push_back({e.addr, end, g, e.what, e.output});
      }
    }
    // Each overlapping pair with an output in it, reported on the later region's gemm.
    for (size_t j = 0; j < regions.size(); ++j) {
      for (size_t i = 0; i < j; ++i) {
        const Region& a = regions[i];
        const Region& b = regions[j];
        if ((a.output || b.output) && overlaps(a.begin, a.end, b.begin, b.end)) {
          gemm_problem(b.gemm, "gemm-overlap", "{} [0x{:x}, 0x{:x}) overlaps {} of gemm {} [0x{:x}, 0x{:x})", b.what,
                       b.begin, b.end, a.what, a.gemm, a.begin, a.end);
        }
      }
    }
  }

  // ---- ops --------------------------------------------------------------------------------

  // Checks one 2-D region and records it as an access; false if it is invalid.
  bool region(OpId id, int space, bool write, uint64_t addr, uint64_t rows, uint64_t stride, uint64_t bytes,
              const char* what) {
    uint64_t end = 0;
    if (!region_end(addr, rows, stride, bytes, end) || end > m_capacity[space]) {
      op_problem(id, space == kDram ? "dram-bounds" : "capacity",
                 "{} region at 0x{:x} ({} rows x {} bytes, stride {}) exceeds {} ({} bytes)", what, addr, rows, bytes,
                 stride, space_name(space), m_capacity[space]);
      return false;
    }
    if (write && rows > 1 && stride < bytes) {
      op_problem(id, "row-overlap", "{} rows of {} bytes overlap (stride {})", what, bytes, stride);
      return false;
    }
    if (end > addr) m_accesses.push_back({space, write, addr, end});  // empty only with an invalid format
    return true;
  }

  bool positive(OpId id, std::initializer_list<std::pair<const char*, uint64_t>> values) {
    bool ok = true;
    for (const auto& [name, v] : values) {
      if (v == 0) {
        op_problem(id, "shape", "{} must be positive", name);
        ok = false;
      }
    }
    return ok;
  }

  bool aligned(OpId id, const char* name, uint64_t v, uint64_t to) {
    if (v % to == 0) return true;
    op_problem(id, "align", "{} = {} is not a multiple of {}", name, v, to);
    return false;
  }

  bool within(OpId id, const char* first, uint64_t v0, const char* extent, uint64_t v, const char* dim,
              uint64_t limit) {
    if (v0 + v <= limit) return true;
    op_problem(id, "tile-bounds", "{} + {} = {} exceeds {} = {}", first, extent, v0 + v, dim, limit);
    return false;
  }

  bool k0_aligned(OpId id, HwFormat format, uint64_t k0) {
    if (format == HwFormat::kFineqR) {
      if (k0 % 3 == 0) return true;
      op_problem(id, "k0-align", "k0 = {} is not a multiple of 3 (a fineq_r cluster boundary)", k0);
      return false;
    }
    const uint64_t bits = static_cast<uint64_t>(format_int_bits(format));
    if (k0 * bits % 8 == 0) return true;
    op_problem(id, "k0-align", "k0 * {} = {} is not a multiple of 8 (a byte boundary)", bits, k0 * bits);
    return false;
  }

  const GemmDesc* gemm_of(OpId id, const TileOp& op) {
    if (op.gemm < m_p.gemms.size()) return &m_p.gemms[op.gemm];
    op_problem(id, "gemm-index", "gemm {} does not exist ({} gemms)", op.gemm, m_p.gemms.size());
    return nullptr;
  }

  bool dataflow_is(OpId id, Dataflow want) {
    if (m_arch.dataflow == want) return true;
    op_problem(id, "dataflow", "needs {} dataflow but the arch is {}", dataflow_name(want), dataflow_name(m_arch.dataflow));
    return false;
  }

  // Structural rules of one op; on success m_accesses holds its regions.
  bool structure(OpId id, const TileOp& op) {
    bool ok = true;
    const uint32_t used = m_used_fields[std::min(static_cast<size_t>(op.opcode), size_t{kNumOpcodes})];
    const uint32_t unused_set = nonzero_fields(op) & ~used;
    for (int f = 0; f < kNumFields && unused_set != 0; ++f) {
      if ((unused_set >> f & 1u) == 0) continue;
      const auto field = static_cast<Field>(f);
      op_problem(id, "unused-field", "{} = {} is not a field of {}", field_name(field), get_field(op, field),
                 opcode_name(op.opcode));
      ok = false;
    }
    if (op.acc > 1) {
      op_problem(id, "field-range", "acc = {} is not 0 or 1", op.acc);
      ok = false;
    }
    if (static_cast<int>(op.buf) >= kNumBuffers) {
      op_problem(id, "field-range", "buf = {} is not a buffer", static_cast<int>(op.buf));
      return false;
    }
    switch (op.opcode) {
      case Opcode::kDmaLoad: return dma_load(id, op) && ok;
      case Opcode::kDmaStore: return dma_store(id, op) && ok;
      case Opcode::kPreload: return preload(id, op) && ok;
      case Opcode::kMatmul: return matmul(id, op) && ok;
      case Opcode::kOsMatmul: return os_matmul(id, op) && ok;
      case Opcode::kDequant: return dequant(id, op) && ok;
    }
    return false;
  }

  bool dma_load(OpId id, const TileOp& op) {
    if (op.buf == Buffer::kObuf) {
      op_problem(id, "buffer", "dma.load writes wbuf, abuf or sbuf, not obuf");
      return false;
    }
    if (!positive(id, {{"rows", op.rows}, {"bytes", op.bytes}})) return false;
    bool ok = region(id, kDram, false, op.src, op.rows, op.src_stride, op.bytes, "source");
    ok = region(id, static_cast<int>(op.buf), true, op.dst, op.rows, op.dst_stride, op.bytes, "destination") && ok;
    return ok;
  }

  bool dma_store(OpId id, const TileOp& op) {
    if (op.buf != Buffer::kObuf) {
      op_problem(id, "buffer", "dma.store reads obuf, not {}", buffer_name(op.buf));
      return false;
    }
    if (!positive(id, {{"rows", op.rows}, {"bytes", op.bytes}})) return false;
    bool ok = region(id, static_cast<int>(Buffer::kObuf), false, op.src, op.rows, op.src_stride, op.bytes, "source");
    ok = region(id, kDram, true, op.dst, op.rows, op.dst_stride, op.bytes, "destination") && ok;
    return ok;
  }

  bool array_size(OpId id, const char* name, uint64_t v, const char* dim, int limit) {
    if (v <= static_cast<uint64_t>(std::max(limit, 0))) return true;
    op_problem(id, "array-size", "{} = {} exceeds the array's {} = {}", name, v, dim, limit);
    return false;
  }

  bool preload(OpId id, const TileOp& op) {
    m_preload = {true, false, op.gemm, 0, 0};
    bool ok = dataflow_is(id, Dataflow::kWeightStationary);
    const GemmDesc* g = gemm_of(id, op);
    if (g == nullptr || !positive(id, {{"k", op.k}, {"n", op.n}})) return false;
    ok = array_size(id, "k", op.k, "rows", m_arch.rows) && ok;
    ok = array_size(id, "n", op.n, "cols", m_arch.cols) && ok;
    ok = k0_aligned(id, g->format, op.k0) && ok;
    ok = within(id, "k0", op.k0, "k", op.k, "K", g->k) && ok;
    ok = within(id, "n0", op.n0, "n", op.n, "N", g->n) && ok;
    ok = region(id, static_cast<int>(Buffer::kWbuf), false, op.src, op.n, op.src_stride,
                weight_row_bytes(g->format, op.k), "weight tile") &&
         ok;
    if (ok) m_preload = {true, true, op.gemm, op.k, op.n};
    return ok;
  }

  bool matmul(OpId id, const TileOp& op) {
    bool ok = dataflow_is(id, Dataflow::kWeightStationary);
    const GemmDesc* g = gemm_of(id, op);
    if (g == nullptr || !positive(id, {{"m", op.m}})) return false;
    if (!m_preload.present) {
      op_problem(id, "no-preload", "no preload precedes this matmul");
      return false;
    }
    if (m_preload.gemm != op.gemm) {
      op_problem(id, "gemm-mismatch", "gemm {} but the stationary tile (last preload) belongs to gemm {}", op.gemm,
                 m_preload.gemm);
      return false;
    }
    if (!m_preload.valid) return false;  // the preload's own problem was reported
    ok = within(id, "m0", op.m0, "m", op.m, "M", g->m) && ok;
    ok = aligned(id, "dst", op.dst, 4) && ok;
    ok = aligned(id, "dst_stride", op.dst_stride, 4) && ok;
    const int obuf = static_cast<int>(Buffer::kObuf);
    ok = region(id, static_cast<int>(Buffer::kAbuf), false, op.src, op.m, op.src_stride, m_preload.k, "activation") &&
         ok;
    ok = region(id, obuf, true, op.dst, op.m, op.dst_stride, 4 * m_preload.n, "accumulator") && ok;
    if (ok && op.acc) m_accesses.push_back({obuf, false, m_accesses.back().begin, m_accesses.back().end});
    return ok;
  }

  bool os_matmul(OpId id, const TileOp& op) {
    bool ok = dataflow_is(id, Dataflow::kOutputStationary);
    const GemmDesc* g = gemm_of(id, op);
    if (g == nullptr || !positive(id, {{"m", op.m}, {"k", op.k}, {"n", op.n}})) return false;
    ok = array_size(id, "m", op.m, "rows", m_arch.rows) && ok;
    ok = array_size(id, "n", op.n, "cols", m_arch.cols) && ok;
    ok = k0_aligned(id, g->format, op.k0) && ok;
    ok = within(id, "m0", op.m0, "m", op.m, "M", g->m) && ok;
    ok = within(id, "k0", op.k0, "k", op.k, "K", g->k) && ok;
    ok = within(id, "n0", op.n0, "n", op.n, "N", g->n) && ok;
    ok = aligned(id, "dst", op.dst, 4) && ok;
    ok = aligned(id, "dst_stride", op.dst_stride, 4) && ok;
    const int obuf = static_cast<int>(Buffer::kObuf);
    ok = region(id, static_cast<int>(Buffer::kAbuf), false, op.src, op.m, op.src_stride, op.k, "activation") && ok;
    ok = region(id, static_cast<int>(Buffer::kWbuf), false, op.w_src, op.n, op.w_stride,
                weight_row_bytes(g->format, op.k), "weight") &&
         ok;
    ok = region(id, obuf, true, op.dst, op.m, op.dst_stride, uint64_t{4} * op.n, "accumulator") && ok;
    if (ok && op.acc) m_accesses.push_back({obuf, false, m_accesses.back().begin, m_accesses.back().end});
    return ok;
  }

  bool dequant(OpId id, const TileOp& op) {
    const GemmDesc* g = gemm_of(id, op);
    if (g == nullptr || !positive(id, {{"m", op.m}, {"n", op.n}})) return false;
    bool ok = within(id, "m0", op.m0, "m", op.m, "M", g->m);
    ok = within(id, "n0", op.n0, "n", op.n, "N", g->n) && ok;
    ok = aligned(id, "src", op.src, 4) && ok;
    ok = aligned(id, "src_stride", op.src_stride, 4) && ok;
    ok = aligned(id, "dst", op.dst, 4) && ok;
    ok = aligned(id, "dst_stride", op.dst_stride, 4) && ok;
    ok = aligned(id, "ws", op.ws, 2) && ok;
    ok = aligned(id, "as", op.as, 4) && ok;
    const int obuf = static_cast<int>(Buffer::kObuf);
    const int sbuf = static_cast<int>(Buffer::kSbuf);
    const uint64_t row = uint64_t{4} * op.n;
    ok = region(id, obuf, false, op.src, op.m, op.src_stride, row, "accumulator") && ok;
    ok = region(id, sbuf, false, op.ws, 1, 0, uint64_t{2} * op.n, "weight scale") && ok;
    ok = region(id, sbuf, false, op.as, 1, 0, uint64_t{4} * op.m, "activation scale") && ok;
    ok = region(id, obuf, true, op.dst, op.m, op.dst_stride, row, "output") && ok;
    if (ok) {
      const Access& src = m_accesses[m_accesses.size() - 4];
      const Access& dst = m_accesses.back();
      const bool in_place = op.src == op.dst && op.src_stride == op.dst_stride;
      if (!in_place && overlaps(src.begin, src.end, dst.begin, dst.end)) {
        op_problem(id, "dequant-overlap",
                   "output [0x{:x}, 0x{:x}) overlaps accumulators [0x{:x}, 0x{:x}) without being exactly in place",
                   dst.begin, dst.end, src.begin, src.end);
        ok = false;
      }
    }
    return ok;
  }

  // ---- ordering and hazards ---------------------------------------------------------------

  bool ordered_before(OpId earlier, OpId later) const {
    if (m_unit[earlier] == m_unit[later]) return true;  // same unit: program order
    return m_vc[later][m_unit[earlier]] >= m_seq[earlier];
  }

  void hazards(OpId id) {
    const uint8_t own = m_unit[id];
    for (const Access& a : m_accesses) {
      if (a.space == kDram && !a.write && !touches_dram_writes(a.begin, a.end)) continue;
      for (int u = 0; u < kNumUnits; ++u) {
        if (u == own) continue;
        const OpId w = unordered_latest(writes(a.space, u), id, a);
        if (w != kNoOp) {
          op_problem(id, a.write ? "hazard-waw" : "hazard-raw",
                     "{} {} [0x{:x}, 0x{:x}) written by op {} ({}), which is not a transitive dependency",
                     a.write ? "writes" : "reads", space_name(a.space), a.begin, a.end, w,
                     opcode_name(m_p.op(w).opcode));
        }
        if (!a.write) continue;
        const OpId r = unordered_latest(reads(a.space, u), id, a);
        if (r != kNoOp) {
          op_problem(id, "hazard-war",
                     "writes {} [0x{:x}, 0x{:x}) read by op {} ({}), which is not a transitive dependency",
                     space_name(a.space), a.begin, a.end, r, opcode_name(m_p.op(r).opcode));
        }
      }
    }
    for (const Access& a : m_accesses) {
      if (a.space == kDram && !a.write && !touches_dram_writes(a.begin, a.end)) continue;
      Painted& p = a.write ? writes(a.space, own) : reads(a.space, own);
      if (!p.map) p.map = std::make_unique<PaintMap>(&m_pool);
      p.map->paint(a.begin, a.end, id);
      p.last = id;
    }
  }

  // The ops of one unit that touched one address space, and the latest of them.
  struct Painted {
    std::unique_ptr<PaintMap> map;
    OpId last = kNoOp;
  };

  // The latest op of p whose interval meets a if it is not ordered before op `id`, else kNoOp. The
  // ops of p belong to one unit, in program order, so when its latest op is ordered before `id` all
  // of them are, and the interval lookup is skipped (the common case: most ops wait on the unit
  // they read from).
  OpId unordered_latest(const Painted& p, OpId id, const Access& a) const {
    if (p.last == kNoOp || ordered_before(p.last, id)) return kNoOp;
    const OpId w = p.map->latest(a.begin, a.end);
    return w != kNoOp && !ordered_before(w, id) ? w : kNoOp;
  }

  Painted& writes(int space, int unit) { return slot(space, unit, 0); }
  Painted& reads(int space, int unit) { return slot(space, unit, 1); }
  Painted& slot(int space, int unit, int kind) {
    return m_maps[static_cast<size_t>((space * kNumUnits + unit) * 2 + kind)];
  }

  // DRAM bytes that no op writes need no tracking: weights and activations are only read, so
  // their (large, overlapping) tile intervals never enter the paint maps.
  void collect_dram_writes() {
    for (OpId id = 0; id < m_p.size(); ++id) {
      const TileOp& op = m_p.op(id);
      uint64_t end = 0;
      if (op.opcode == Opcode::kDmaStore && op.bytes > 0 && region_end(op.dst, op.rows, op.dst_stride, op.bytes, end)) {
        m_dram_writes.push_back({op.dst, end});
      }
    }
    std::sort(m_dram_writes.begin(), m_dram_writes.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (const auto& w : m_dram_writes) {
      if (!merged.empty() && w.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, w.second);
      } else {
        merged.push_back(w);
      }
    }
    m_dram_writes = std::move(merged);
  }

  bool touches_dram_writes(uint64_t a, uint64_t b) const {
    auto it = std::upper_bound(m_dram_writes.begin(), m_dram_writes.end(), std::make_pair(a, uint64_t{0}),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (it != m_dram_writes.begin() && std::prev(it)->second > a) return true;
    return it != m_dram_writes.end() && it->first < b;
  }

  void op_rules() {
    const size_t n = m_p.size();
    m_unit.assign(n, kNoUnit);
    m_seq.assign(n, 0);
    m_vc.assign(n, {});
    collect_dram_writes();
    std::array<uint32_t, kNumUnits> unit_count{};
    std::array<std::array<uint32_t, kNumUnits>, kNumUnits> unit_vc{};  // VC of each unit's last op
    for (OpId id = 0; id < n; ++id) {
      const TileOp& op = m_p.op(id);
      if (static_cast<int>(op.opcode) >= kNumOpcodes) {
        m_problems.push_back(fmt::format("op {} (invalid): [opcode] opcode value {} is not an opcode", id,
                                         static_cast<int>(op.opcode)));
        continue;
      }
      const auto unit = static_cast<uint8_t>(unit_of(op.opcode));
      m_unit[id] = unit;
      m_seq[id] = ++unit_count[unit];
      // Vector clock: what is known complete when this op issues (docs/isa.md "Ordering").
      std::array<uint32_t, kNumUnits> vc = unit_vc[unit];
      for (const OpId d : m_p.deps(id)) {
        if (d >= id) {
          op_problem(id, "deps", "dep {} is not an earlier op", d);
          continue;
        }
        if (m_unit[d] == kNoUnit) continue;
        for (int u = 0; u < kNumUnits; ++u) vc[u] = std::max(vc[u], m_vc[d][u]);
        vc[m_unit[d]] = std::max(vc[m_unit[d]], m_seq[d]);
      }
      m_vc[id] = vc;
      unit_vc[unit] = vc;
      m_accesses.clear();
      if (structure(id, op)) hazards(id);
    }
  }

  struct PreloadState {
    bool present = false;
    bool valid = false;
    uint32_t gemm = 0;
    uint64_t k = 0;
    uint64_t n = 0;
  };

  const TileProgram& m_p;
  const ArchConfig& m_arch;
  std::string_view m_fp;
  uint64_t m_dram_bytes;
  std::array<uint64_t, kNumSpaces> m_capacity{};
  std::array<uint32_t, kNumOpcodes + 1> m_used_fields{};
  std::vector<std::string> m_problems;
  std::vector<uint8_t> m_unit;
  std::vector<uint32_t> m_seq;
  std::vector<std::array<uint32_t, kNumUnits>> m_vc;
  std::vector<Access> m_accesses;
  std::vector<std::pair<uint64_t, uint64_t>> m_dram_writes;
  PreloadState m_preload;
  std::pmr::unsynchronized_pool_resource m_pool;
  std::array<Painted, kNumSpaces * kNumUnits * 2> m_maps;
};

}  // namespace

std::vector<std::string> check(const TileProgram& program, const ArchConfig& arch, std::string_view arch_fingerprint,
                               uint64_t dram_bytes) {
  return Checker(program, arch, arch_fingerprint, dram_bytes).run();
}

void verify(const TileProgram& program, const ArchConfig& arch, std::string_view arch_fingerprint,
            uint64_t dram_bytes) {
  const auto problems = check(program, arch, arch_fingerprint, dram_bytes);
  if (problems.empty()) return;
  if (problems.size() == 1) throw Error("tile program: " + problems.front());
  fail("tile program: {} (and {} more problems)", problems.front(), problems.size() - 1);
}

}  // namespace fq::ir
