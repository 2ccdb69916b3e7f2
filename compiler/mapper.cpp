#include "compiler/mapper.h"

#include "model/arch/pe_model.h"

#include "model/core/error.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

namespace fq::compiler {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t align_up(int64_t v, int64_t a) { return ceil_div(v, a) * a; }

// Smallest K step that keeps a tile on a cluster (FineQ-R) or byte (INTb) boundary.
int k_step(HwFormat format) { return format == HwFormat::kFineqR ? 3 : 8 / std::gcd(format_int_bits(format), 8); }

// Largest K extent of a weight-stationary tile.
int k_tile(const ArchConfig& arch, HwFormat format) { return arch.rows / k_step(format) * k_step(format); }

// The tiles of one loop dimension: `count` tiles of `size`, the last one `last` extents long.
struct Extent {
  int64_t count, size, last;
};
Extent extent(int64_t total, int64_t tile) {
  const int64_t count = ceil_div(total, tile);
  return {count, tile, total - (count - 1) * tile};
}
struct Extents {
  Extent m, n, k;
};
// Sum of f(extent) over the tiles of one dimension.
template <class F>
int64_t sum_over(const Extent& e, F f) {
  return (e.count - 1) * f(e.size) + f(e.last);
}

// Fills buffer use, legality and the cost model of one candidate mapping.
Candidate evaluate(const ArchConfig& arch, int64_t M, int64_t N, int64_t K, HwFormat format, Mapping mp) {
  Candidate c;
  const int64_t kt = mp.kt, nt = mp.nt, mc = mp.mc;
  const int64_t nK = ceil_div(K, kt), nN = ceil_div(N, nt), nM = ceil_div(M, mc);
  auto slots = [](int64_t slot_bytes, int64_t capacity, int most = 2) -> int {
    if (capacity < slot_bytes) return 0;  // also a negative capacity (nkm: obuf less the two output slots)
    return static_cast<int>(std::min<int64_t>(most, capacity / std::max<int64_t>(slot_bytes, 1)));
  };
  const SlotBytes sb = slot_bytes(mp, format, K);
  // Weight tiles: a ring of up to buffers.weight_slots, so loads run that far ahead of the array.
  mp.w_slots = slots(sb.w, arch.weight_bytes, arch.weight_slots);
  mp.a_slots = slots(sb.a, arch.act_bytes);
  mp.s_slots = slots(sb.s, arch.scale_bytes);
  if (mp.order != LoopOrder::kNkm) {
    mp.o_slots = slots(2 * sb.out_tile, arch.out_bytes);
    mp.obuf_bytes = mp.o_slots * 2 * sb.out_tile;
  } else {
    const int64_t y_two = 2 * sb.out_tile;
    mp.o_slots = slots(4 * M * nt, arch.out_bytes - y_two);
    mp.obuf_bytes = mp.o_slots * 4 * M * nt + y_two;
  }
  mp.wbuf_bytes = mp.w_slots * sb.w;
  mp.abuf_bytes = mp.a_slots * sb.a;
  mp.sbuf_bytes = mp.s_slots * sb.s;

  const int64_t w_bytes = N * ((nK - 1) * weight_row_bytes(format, kt) + weight_row_bytes(format, K - (nK - 1) * kt));
  const int64_t s_reads = nM * N * 2 + nN * M * 4;
  if (mp.order == LoopOrder::kOs) {
    mp.dram_read_bytes = nM * w_bytes + nN * M * K + s_reads;
    mp.ops = nM * nN * nK * 3 + nM * nN * 5;
  } else if (mp.order == LoopOrder::kMnk) {
    mp.dram_read_bytes = nM * w_bytes + (mp.a_resident ? M * K : nN * M * K) + s_reads;
    mp.ops = nM * nN * nK * (mp.a_resident ? 3 : 4) + nM * nN * 5 + (mp.a_resident ? nM : 0);
  } else {
    mp.dram_read_bytes = w_bytes + nN * M * K + s_reads;
    mp.ops = nN * nK * 2 + nN * nK * nM * 2 + nN * nM * 5;
  }
  mp.dram_write_bytes = 8 * M * N;

  // Compute: the array's ops back to back, each as long as the timing contract says
  // (model/timing: the fast engine's per-op closed forms), with the beat of beat_estimate().
  const Extents e{extent(M, mc), extent(N, nt), extent(K, kt)};
  const int64_t W = beat_estimate(arch);
  const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  if (mp.order == LoopOrder::kOs) {
    mp.compute_cycles = sum_over(e.m, [&](int64_t m) {
      return sum_over(e.n, [&](int64_t n) {
        return sum_over(
            e.k, [&](int64_t k) { return static_cast<int64_t>(timing::os_matmul_cycles(arch, u(m), u(k), u(n))); });
      });
    });
  } else {
    const int64_t preloads = mp.order == LoopOrder::kMnk ? e.m.count * e.n.count : e.n.count;  // per K tile
    mp.compute_cycles =
        preloads * sum_over(e.k, [&](int64_t k) { return static_cast<int64_t>(timing::preload_cycles(arch, u(k))); }) +
        e.n.count * e.k.count *
            sum_over(e.m, [&](int64_t m) { return W * static_cast<int64_t>(timing::matmul_beats(arch, u(m))); });
  }
  // DRAM: the busier channel moving its bytes at full width, plus one latency. Deliberately not
  // rounded per DMA row (timing::dma_transfer_cycles per op): with the max/sum rule below that
  // rounding changes choices both ways (docs/compiler.md "Cost model and choice").
  mp.dram_cycles =
      static_cast<int64_t>(timing::dma_transfer_cycles(arch, 1, u(std::max(mp.dram_read_bytes, mp.dram_write_bytes)))) +
      arch.dram_latency_cycles;
  const bool overlapped = mp.w_slots >= 2 && mp.a_slots == 2 && mp.o_slots == 2;
  mp.est_cycles = overlapped ? std::max(mp.compute_cycles, mp.dram_cycles) : mp.compute_cycles + mp.dram_cycles;
  c.mapping = mp;

  if (mp.w_slots == 0) {
    c.reason = fmt::format("a weight tile needs {} B, buffers.weight_bytes is {}", sb.w, arch.weight_bytes);
  } else if (mp.a_slots == 0) {
    c.reason = fmt::format("an activation tile needs {} B, buffers.act_bytes is {}", sb.a, arch.act_bytes);
  } else if (mp.o_slots == 0) {
    c.reason = mp.order != LoopOrder::kNkm
                   ? fmt::format("accumulators and outputs need {} B, buffers.out_bytes is {}", 2 * sb.out_tile,
                                 arch.out_bytes)
                   : fmt::format("all-M accumulators and two output tiles need {} B, buffers.out_bytes is {}",
                                 4 * M * nt + 2 * sb.out_tile, arch.out_bytes);
  } else if (mp.s_slots == 0) {
    c.reason = fmt::format("scales need {} B, buffers.scale_bytes is {}", sb.s, arch.scale_bytes);
  } else if (sb.a > std::numeric_limits<uint32_t>::max() || 4 * M * N > std::numeric_limits<uint32_t>::max()) {
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

}  // namespace

const char* to_string(LoopOrder order) {
  switch (order) {
    case LoopOrder::kMnk: return "mnk";
    case LoopOrder::kNkm: return "nkm";
    case LoopOrder::kOs: return "os";
  }
  return "invalid";
}

int64_t weight_row_bytes(HwFormat format, int64_t k) {
  return static_cast<int64_t>(ir::weight_row_bytes(format, static_cast<uint64_t>(k)));
}

SlotBytes slot_bytes(const Mapping& mp, HwFormat format, int64_t K) {
  SlotBytes s;
  const int64_t mc = mp.mc, nt = mp.nt;
  s.w = nt * weight_row_bytes(format, mp.kt);
  s.a = mp.a_resident ? mc * K : mc * mp.kt;
  s.ws = align_up(2 * nt, 4);
  s.s = s.ws + 4 * mc;
  s.out_tile = 4 * mc * nt;
  return s;
}

int64_t beat_estimate(const ArchConfig& arch) { return pe_model(arch).beat_estimate(arch); }

void check_pe_format(const ArchConfig& arch, const std::string& gemm, HwFormat format) {
  const PeModel& pe = pe_model(arch);
  if (!pe.runs(arch, format)) {
    fail("gemm '{}': {} PEs run {} weights only, but the tensor is {} (use a preset whose PEs run it)", gemm,
         arch.pe_kind, format_name(pe.weight_format(arch)), format_name(format));
  }
}

GemmPlan plan_gemm(const ArchConfig& arch, const std::string& name, int m, int n, int k, HwFormat format) {
  if (m <= 0 || n <= 0 || k <= 0) fail("gemm '{}': shape M={} N={} K={} must be positive", name, m, n, k);
  check_pe_format(arch, name, format);
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
  auto add = [&](LoopOrder order, bool resident, int k_extent, int mc) {
    Mapping mp;
    mp.order = order;
    mp.a_resident = resident;
    mp.kt = k_extent;
    mp.nt = nt;
    mp.mc = mc;
    plan.candidates.push_back(evaluate(arch, m, n, k, format, mp));
  };
  if (arch.dataflow == Dataflow::kOutputStationary) {
    // Output stationary: an mc x nt output tile per array pass; the search varies the K chunk.
    std::vector<int> kcs;
    for (int kc = k_step(format); kc < k; kc *= 2) kcs.push_back(kc);
    kcs.push_back(k);
    for (int kc : kcs) add(LoopOrder::kOs, false, kc, std::min(arch.rows, m));
  }
  if (arch.dataflow == Dataflow::kWeightStationary) {
    std::vector<int> chunks;
    for (int mc = 1; mc < m; mc *= 2) chunks.push_back(mc);
    chunks.push_back(m);
    for (int mc : chunks) {
      add(LoopOrder::kMnk, false, kt, mc);
      add(LoopOrder::kMnk, true, kt, mc);
      add(LoopOrder::kNkm, false, kt, mc);
    }
  }
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const Candidate& c = plan.candidates[i];
    if (!c.legal) continue;
    if (plan.chosen < 0 || better(c.mapping, plan.mapping())) plan.chosen = static_cast<int>(i);
  }
  if (plan.chosen < 0) {
    const Candidate& smallest = plan.candidates.front();
    fail(
        "gemm '{}' (M={} N={} K={}, {}): no mapping fits the buffers; the smallest candidate ({} order, kt={} "
        "nt={} mc={}): {}",
        name, m, n, k, format_name(format), to_string(smallest.mapping.order), smallest.mapping.kt, smallest.mapping.nt,
        smallest.mapping.mc, smallest.reason);
  }
  return plan;
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
                     fmt::format("{}{}{}{}", mp.w_slots <= 9 ? std::to_string(mp.w_slots) : fmt::format("({})", mp.w_slots), mp.a_slots, mp.o_slots, mp.s_slots), mp.dram_read_bytes,
                     mp.compute_cycles, mp.dram_cycles, mp.est_cycles, verdict);
  }
  const Mapping& w = plan.mapping();
  s += fmt::format(
      "  chosen: {}{} mc={}: lowest estimated cycles ({} = {} of compute {} and DRAM {}); ties go to fewer DRAM bytes, "
      "then fewer ops\n",
      to_string(w.order), w.a_resident ? "+A" : "", w.mc, w.est_cycles,
      w.w_slots >= 2 && w.a_slots == 2 && w.o_slots == 2 ? "max" : "sum (not double-buffered)", w.compute_cycles,
      w.dram_cycles);
  return s;
}

}  // namespace fq::compiler
