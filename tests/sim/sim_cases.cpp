#include "sim_cases.h"

#include "model/arch/arch_config.h"
#include "model/arch/pe_model.h"
#include "model/core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <utility>

namespace fq::test {

ArchConfig base_arch(int rows, int cols, const std::string& kind) {
  ArchConfig a;
  a.name = "case";
  a.rows = rows;
  a.cols = cols;
  a.pe_kind = kind;
  a.window = BeatWindow::kTile;
  a.weight_bits = 8;
  a.weight_bytes = 1 << 16;
  a.act_bytes = 1 << 16;
  a.out_bytes = 1 << 17;
  a.scale_bytes = 1 << 12;
  a.dram_bytes_per_cycle = 16;
  a.dram_latency_cycles = 10;
  a.clock_mhz = 1000;
  a.tech_node_nm = 28;
  a.vdd_v = 0.9;
  return a;
}

compiler::CompiledLayer compile_with(const ArchConfig& arch, const std::vector<QTensor>& weights,
                                     const std::vector<QuantizedActs>& acts, int64_t pick) {
  std::vector<compiler::GemmInput> in;
  std::vector<compiler::GemmPlan> plans;
  for (size_t g = 0; g < weights.size(); ++g) {
    in.push_back({&weights[g], {acts[g].rows, acts[g].cols, acts[g].q, acts[g].scales}});
    const auto& w = weights[g].matrix;
    plans.push_back(compiler::plan_gemm(arch, weights[g].name, acts[g].rows, w.rows, w.cols, w.format, &w));
  }
  if (pick < 0) return compiler::compile_layer(arch, in);
  for (auto& plan : plans) {
    std::vector<int> legal;
    for (size_t i = 0; i < plan.candidates.size(); ++i) {
      if (plan.candidates[i].legal) legal.push_back(static_cast<int>(i));
    }
    if (legal.empty()) fail("gemm '{}': no legal mapping", plan.name);
    plan.chosen = legal[static_cast<size_t>(pick) % legal.size()];
  }
  return compiler::lower_layer(arch, in, std::move(plans));
}

std::string SimCase::describe() const {
  std::string s =
      fmt::format("seed {}: {}x{} {} {} sets {} wslots {} order {} {} dram {}B/c lat {} wbuf {} abuf {} obuf {} |",
                  seed, arch.rows, arch.cols, arch.pe_kind, pe_model(arch).describe(arch), arch.weight_sets,
                  arch.weight_slots, to_string(arch.tile_order), to_string(arch.dataflow), arch.dram_bytes_per_cycle,
                  arch.dram_latency_cycles, arch.weight_bytes, arch.act_bytes, arch.out_bytes);
  for (size_t g = 0; g < weights.size(); ++g) {
    s += fmt::format(" M={} N={} K={}", acts[g].rows, weights[g].matrix.rows, weights[g].matrix.cols);
  }
  return s + fmt::format(" | {} ops", layer.program.size());
}

SimCase random_case(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  SimCase c;
  c.seed = seed;
  const bool temporal = pick(0, 1) == 0;
  c.arch = base_arch(temporal ? pick(3, 12) : pick(1, 10), pick(1, 10), temporal ? "temporal" : "mac");
  if (temporal) {
    c.arch.window = pick(0, 1) == 0 ? BeatWindow::kFixed : BeatWindow::kTile;
  } else {
    const int bits[] = {8, 4, 3, 2};
    c.arch.weight_bits = bits[pick(0, 3)];
    if (pick(0, 2) == 0) c.arch.dataflow = Dataflow::kOutputStationary;
    // A weight-stationary K tile holds whole bytes of packed weights: 8 / gcd(B, 8) rows.
    const int group = c.arch.weight_bits == 8 ? 1 : c.arch.weight_bits == 3 ? 8 : 8 / c.arch.weight_bits;
    if (c.arch.dataflow == Dataflow::kWeightStationary) c.arch.rows = std::max(c.arch.rows, group);
    if (pick(0, 4) == 0) c.arch.timing = TimingModel::kScaleSim;
  }
  const int bw[] = {1, 2, 4, 8, 16, 64};
  const int lat[] = {0, 1, 3, 10, 40};
  c.arch.dram_bytes_per_cycle = bw[pick(0, 5)];
  c.arch.dram_latency_cycles = lat[pick(0, 4)];
  const HwFormat format = temporal ? HwFormat::kFineqR : int_format(c.arch.weight_bits);
  const int gemms = pick(1, 3);
  for (int g = 0; g < gemms; ++g) {
    const int m = pick(1, 20), n = pick(1, 24), k = pick(1, 40);
    c.weights.push_back(random_qtensor(fmt::format("g{}", g), format, n, k, rng()));
    c.acts.push_back(random_acts(m, k, rng()));
  }
  // Small buffers force single slots and stalls; retry larger ones when a tile does not fit.
  const int64_t mapping = pick(0, 1000);
  for (int64_t scale = pick(6, 10);; ++scale) {
    c.arch.weight_bytes = int64_t{1} << scale;
    c.arch.act_bytes = int64_t{1} << scale;
    c.arch.out_bytes = int64_t{1} << (scale + 2);
    c.arch.scale_bytes = int64_t{1} << std::max<int64_t>(scale - 2, 7);
    try {
      c.layer = compile_with(c.arch, c.weights, c.acts, mapping);
      return c;
    } catch (const Error&) {
      if (scale > 20) throw;
    }
  }
}

// A variant of a case compiled for its changed arch, with a legal candidate picked by the case's
// seed and the variant's salt (so each variant explores its own mappings, reproducibly).
namespace {
SimCase recompiled(SimCase b, uint64_t salt) {
  std::mt19937_64 rng(b.seed ^ salt);
  b.layer = compile_with(b.arch, b.weights, b.acts, std::uniform_int_distribution<int64_t>(0, 1000)(rng));
  return b;
}
}  // namespace

SimCase as_bitserial(const SimCase& c) {
  SimCase b = c;
  b.arch.pe_kind = "bitserial";
  b.arch.pe_format = c.weights.front().matrix.format;
  if (b.arch.pe_format != HwFormat::kFineqR) {
    b.arch.window = BeatWindow::kFixed;
    // A weight-stationary K tile holds whole bytes of packed weights (os cases had no such rule).
    const int bits = format_int_bits(b.arch.pe_format);
    b.arch.rows = std::max(b.arch.rows, bits == 8 ? 1 : bits == 3 ? 8 : 8 / bits);
  }
  b.arch.dataflow = Dataflow::kWeightStationary;
  b.arch.timing = TimingModel::kDefault;
  return recompiled(std::move(b), 0xb175e41a11ull);
}

SimCase with_weight_sets(const SimCase& c, int sets) {
  SimCase b = c;
  b.arch.weight_sets = sets;
  return recompiled(std::move(b), 0x5e75ull);
}

SimCase with_weight_slots(const SimCase& c, int slots) {
  SimCase b = c;
  b.arch.weight_slots = slots;
  return recompiled(std::move(b), 0x5107ull);
}

SimCase with_beat_order(const SimCase& c) {
  SimCase b = c;
  b.arch.window = BeatWindow::kTile;
  b.arch.tile_order = TileOrder::kBeat;
  return recompiled(std::move(b), 0xbea7ull);
}

}  // namespace fq::test
