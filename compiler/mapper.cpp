#include "compiler/mapper.h"

#include "model/arch/pe_model.h"

#include "model/core/error.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
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
    // Output tiles: a ring of up to buffers.out_slots, so the array runs that far ahead of the stores.
    mp.o_slots = slots(2 * sb.out_tile, arch.out_bytes, arch.out_slots);
    mp.obuf_bytes = mp.o_slots * 2 * sb.out_tile;
  } else {
    const int64_t y_two = 2 * sb.out_tile;
    mp.o_slots = slots(4 * M * nt, arch.out_bytes - y_two, arch.out_slots);
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
  } else if (mp.schedule == nullptr) {
    const int64_t preloads = mp.order == LoopOrder::kMnk ? e.m.count * e.n.count : e.n.count;  // per K tile
    mp.compute_cycles =
        preloads * sum_over(e.k, [&](int64_t k) { return static_cast<int64_t>(timing::preload_cycles(arch, u(k))); }) +
        e.n.count * e.k.count *
            sum_over(e.m, [&](int64_t m) { return W * static_cast<int64_t>(timing::matmul_beats(arch, u(m))); });
  } else {
    // Beat order: the tiles' real W in the order the lowering emits them. Matmuls of one W follow
    // each other m W cycles apart (their fill and drain overlap); a change of W waits for the
    // array to drain, matmul_beats(m) - m beats of the W left (docs/compiler.md "Beat order").
    const TileSchedule& ts = *mp.schedule;
    const int64_t preloads = mp.order == LoopOrder::kMnk ? e.m.count * e.n.count : e.n.count;
    const auto drain = [&](int64_t m) { return static_cast<int64_t>(timing::matmul_beats(arch, u(m))) - m; };
    if (mp.order == LoopOrder::kNkm) {
      // One sweep over the tiles; a change follows a tile's last m-chunk.
      mp.beat_changes = ts.changes;
      mp.drain_cycles = drain(e.m.last) * ts.changed_from;
    } else {
      // One sweep per m-chunk, and between sweeps the change from the last tile to the first.
      const int64_t wrap = ts.first_w != ts.last_w ? ts.last_w : 0;
      mp.beat_changes = e.m.count * ts.changes + (e.m.count - 1) * (wrap != 0 ? 1 : 0);
      mp.drain_cycles =
          (e.m.count - 1) * drain(e.m.size) * (ts.changed_from + wrap) + drain(e.m.last) * ts.changed_from;
    }
    mp.compute_cycles =
        preloads * sum_over(e.k, [&](int64_t k) { return static_cast<int64_t>(timing::preload_cycles(arch, u(k))); }) +
        M * ts.sum_w + mp.drain_cycles + drain(e.m.last) * ts.last_w;
  }
  // DRAM: the busier channel moving its bytes at full width, plus one latency. Deliberately not
  // rounded per DMA row (timing::dma_transfer_cycles per op): with the max/sum rule below that
  // rounding changes choices both ways (docs/compiler.md "Cost model and choice").
  mp.dram_cycles =
      static_cast<int64_t>(timing::dma_transfer_cycles(arch, 1, u(std::max(mp.dram_read_bytes, mp.dram_write_bytes)))) +
      arch.dram_latency_cycles;
  const bool overlapped = mp.w_slots >= 2 && mp.a_slots == 2 && mp.o_slots >= 2;
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

int64_t weight_k0_byte(HwFormat format, int64_t k0) {
  return format == HwFormat::kFineqR ? k0 / 3 : k0 * format_int_bits(format) / 8;
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

bool program_depends_on_codes(const ArchConfig& arch) {
  return arch.tile_order == TileOrder::kBeat && arch.dataflow == Dataflow::kWeightStationary;
}

BeatGrid beat_grid(const ArchConfig& arch, const EncodedMatrix& weights) {
  const PeModel& pe = pe_model(arch);
  const HwFormat format = weights.format;
  const int64_t N = weights.rows, K = weights.cols;
  const int64_t kt = std::min<int64_t>(k_tile(arch, format), K), nt = std::min<int64_t>(arch.cols, N);
  BeatGrid g;
  if (kt <= 0 || nt <= 0) return g;
  g.n_tiles = ceil_div(N, nt);
  g.k_tiles = ceil_div(K, kt);
  g.w.reserve(static_cast<size_t>(g.n_tiles * g.k_tiles));
  const int64_t row = weights.row_bytes();
  for (int64_t n0 = 0; n0 < N; n0 += nt) {
    for (int64_t k0 = 0; k0 < K; k0 += kt) {
      // The tile as a preload reads it (n rows of its k weights, a DRAM row apart).
      const TileStats st =
          pe.tile_stats(arch, format, weights.codes, static_cast<uint64_t>(n0 * row + weight_k0_byte(format, k0)),
                        static_cast<uint64_t>(row), static_cast<uint32_t>(std::min(kt, K - k0)),
                        static_cast<uint32_t>(std::min(nt, N - n0)));
      g.w.push_back(static_cast<uint8_t>(pe.beat(arch, st)));
    }
  }
  return g;
}

TileSchedule beat_schedule(BeatGrid grid) {
  TileSchedule s;
  const int64_t nN = grid.n_tiles, nK = grid.k_tiles;
  s.grid = std::move(grid);
  const auto W = [&](int64_t j, int64_t i) -> uint32_t { return s.grid.w[static_cast<size_t>(j * nK + i)]; };
  // Within an n-tile, tiles of one W are adjacent (a split group only adds changes), so each W
  // present but the last is left once, whatever the order of the groups: the choice is which W
  // comes first and which last. A dynamic program over the n-tiles picks them to minimise the W
  // left at changes (the drain is proportional to it), the boundary between n-tiles included.
  struct State {
    int64_t cost;
    uint32_t first, prev_last;
  };
  std::vector<std::vector<uint32_t>> present(static_cast<size_t>(nN));
  std::vector<std::map<uint32_t, State>> best(static_cast<size_t>(nN));  // by the n-tile's last W
  for (int64_t j = 0; j < nN; ++j) {
    std::vector<uint32_t>& v = present[static_cast<size_t>(j)];
    for (int64_t i = 0; i < nK; ++i) v.push_back(W(j, i));
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    int64_t sum = 0;
    for (uint32_t w : v) sum += w;
    for (uint32_t last : v) {
      for (uint32_t first : v) {
        if (first == last && v.size() > 1) continue;
        const int64_t own = sum - last;
        if (j == 0) {
          auto [it, fresh] = best[0].try_emplace(last, State{own, first, 0});
          if (!fresh && own < it->second.cost) it->second = {own, first, 0};
          continue;
        }
        for (const auto& [prev, st] : best[static_cast<size_t>(j - 1)]) {
          const int64_t c = st.cost + (prev != first ? prev : 0) + own;
          auto [it, fresh] = best[static_cast<size_t>(j)].try_emplace(last, State{c, first, prev});
          if (!fresh && c < it->second.cost) it->second = {c, first, prev};
        }
      }
    }
  }
  std::vector<uint32_t> first(static_cast<size_t>(nN)), last(static_cast<size_t>(nN));
  if (nN > 0) {
    const auto& end = best[static_cast<size_t>(nN - 1)];
    uint32_t l = end.begin()->first;
    for (const auto& [w, st] : end) {
      if (st.cost < end.at(l).cost) l = w;
    }
    for (int64_t j = nN - 1; j >= 0; --j) {
      const State& st = best[static_cast<size_t>(j)].at(l);
      last[static_cast<size_t>(j)] = l;
      first[static_cast<size_t>(j)] = st.first;
      l = st.prev_last;
    }
  }
  s.k_order.reserve(static_cast<size_t>(nN * nK));
  for (int64_t j = 0; j < nN; ++j) {
    // The first W, the others ascending, the last W; within a group the loop's order.
    std::vector<uint32_t> groups = {first[static_cast<size_t>(j)]};
    for (uint32_t w : present[static_cast<size_t>(j)]) {
      if (w != first[static_cast<size_t>(j)] && w != last[static_cast<size_t>(j)]) groups.push_back(w);
    }
    if (last[static_cast<size_t>(j)] != first[static_cast<size_t>(j)]) groups.push_back(last[static_cast<size_t>(j)]);
    for (uint32_t w : groups) {
      for (int64_t i = 0; i < nK; ++i) {
        if (W(j, i) == w) s.k_order.push_back(static_cast<uint32_t>(i));
      }
    }
  }
  uint32_t prev = 0;
  for (int64_t j = 0; j < nN; ++j) {
    for (int64_t r = 0; r < nK; ++r) {
      const uint32_t w = s.beat_at(j, r);
      s.sum_w += w;
      if (j == 0 && r == 0) {
        s.first_w = w;
      } else if (w != prev) {
        ++s.changes;
        s.changed_from += prev;
      }
      prev = w;
    }
  }
  s.last_w = prev;
  return s;
}

void check_pe_format(const ArchConfig& arch, const std::string& gemm, HwFormat format) {
  const PeModel& pe = pe_model(arch);
  if (!pe.runs(arch, format)) {
    fail("gemm '{}': {} PEs run {} weights only, but the tensor is {} (use a preset whose PEs run it)", gemm,
         arch.pe_kind, format_name(pe.weight_format(arch)), format_name(format));
  }
}

GemmPlan plan_gemm(const ArchConfig& arch, const std::string& name, int m, int n, int k, HwFormat format,
                   const EncodedMatrix* weights) {
  if (m <= 0 || n <= 0 || k <= 0) fail("gemm '{}': shape M={} N={} K={} must be positive", name, m, n, k);
  check_pe_format(arch, name, format);
  std::shared_ptr<const TileSchedule> schedule;
  if (program_depends_on_codes(arch)) {
    if (weights == nullptr) {
      fail("gemm '{}': compiler.tile_order: beat orders the tiles by their codes, and the mapper was given none", name);
    }
    if (weights->rows != n || weights->cols != k || weights->format != format ||
        weights->codes.size() != static_cast<size_t>(n) * static_cast<size_t>(weights->row_bytes())) {
      fail("gemm '{}': the weights given to the mapper are {} [{}, {}], the GEMM is {} N={} K={}", name,
           format_name(weights->format), weights->rows, weights->cols, format_name(format), n, k);
    }
    if (k_tile(arch, format) > 0) {
      schedule = std::make_shared<const TileSchedule>(beat_schedule(beat_grid(arch, *weights)));
    }
  }
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
    if (order != LoopOrder::kOs) mp.schedule = schedule;
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
  if (w.schedule != nullptr) {
    const TileSchedule& ts = *w.schedule;
    std::map<uint32_t, int64_t> tiles;
    for (uint8_t b : ts.grid.w) ++tiles[b];
    std::string hist;
    for (const auto& [b, count] : tiles) hist += fmt::format("{}W={}: {}", hist.empty() ? "" : ", ", b, count);
    s += fmt::format(
        "  tile order: beat ({} tiles: {}); per sweep {} changes of W, leaving W {} in all; the chosen mapping "
        "drains {} cycles at {} changes\n",
        ts.grid.w.size(), hist, ts.changes, ts.changed_from, w.drain_cycles, w.beat_changes);
  }
  return s;
}

}  // namespace fq::compiler
