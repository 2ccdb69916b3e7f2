// No architecture key is accepted and then ignored: for every key path of the schema
// (arch_key_paths()), another value either is rejected or changes what the report of a small
// GEMM says (cycles, time, energy or area), on a preset the key applies to. A key added to the
// schema without a line here fails the first check.
#include "model/arch/arch_config.h"
#include "model/arch/pe_model.h"
#include "model/core/params.h"
#include "model/cost/cost_model.h"
#include "model/golden/act_quant.h"
#include "model/quant/i_quantizer.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "sim_cases.h"
#include "support/paths.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct Outcome {
  uint64_t cycles = 0;
  double time_s = 0, energy_pj = 0, area_um2 = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome run(const fq::ArchConfig& arch, int m) {
  fq::test::SimCase c;
  c.arch = arch;
  const fq::HwFormat format = fq::pe_model(arch).weight_format(arch);
  if (format == fq::HwFormat::kFineqR) {
    // Quantized smooth weights: tiles without outlier clusters have W <= 2 (pe.window shows).
    const auto q = fq::make_quantizer("fineq", fq::Params("409"));
    const std::vector<float> w = fq::synthetic_activations(256, 264, 3);
    c.weights.push_back({"w", "fineq", q->describe(), q->encode(w, 256, 264)});
  } else {
    c.weights.push_back(fq::random_qtensor("w", format, 256, 264, 3));
  }
  c.acts.push_back(fq::random_acts(m, 264, 4));
  c.layer = fq::test::compile_with(arch, c.weights, c.acts, -1);
  const auto r = fq::sim::find_engine("fast").run(arch, c.layer.program, c.layer.memory);
  const fq::cost::CostModel costs(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), arch);
  const fq::sim::Report rep = fq::sim::build_report(c.layer.program, arch, r, costs, "every key");
  return {rep.total_cycles, rep.seconds, rep.energy_pj.total, rep.area_um2.total};
}

}  // namespace

TEST_CASE("every architecture key changes the report or is rejected", "[sim][arch]") {
  // key -> (preset it applies to, another value, M of the GEMM that shows it)
  const std::map<std::string, std::tuple<const char*, const char*, int>> alternatives = {
      {"array.rows", {"fineq.yaml", "24", 16}},
      {"array.cols", {"fineq.yaml", "16", 16}},
      {"pe.kind", {"fineq.yaml", "bitserial", 16}},  // with pe.format below: the key set of the kind
      {"pe.window", {"fineq.yaml", "fixed", 16}},
      {"pe.weight_bits", {"int8.yaml", "4", 16}},
      {"pe.weight_sets", {"fineq.yaml", "3", 1}},
      {"pe.acc_bits", {"fineq.yaml", "16", 16}},
      {"pe.format", {"bitserial.yaml", "int4", 16}},
      {"dataflow", {"int8.yaml", "os", 16}},
      {"timing", {"int8.yaml", "scalesim", 16}},
      {"buffers.weight_bytes", {"fineq.yaml", "32768", 16}},
      {"buffers.weight_slots", {"fineq.yaml", "8", 1}},
      {"buffers.out_slots", {"fineq.yaml", "8", 1}},
      {"buffers.act_bytes", {"fineq.yaml", "32768", 16}},
      {"buffers.out_bytes", {"fineq.yaml", "65536", 16}},
      {"buffers.scale_bytes", {"fineq.yaml", "8192", 16}},
      {"dram.bytes_per_cycle", {"fineq.yaml", "8", 16}},
      {"dram.latency_cycles", {"fineq.yaml", "300", 16}},
      {"clock_mhz", {"fineq.yaml", "1000", 16}},
      {"tech.node_nm", {"fineq.yaml", "45", 16}},
      {"tech.vdd_v", {"fineq.yaml", "0.8", 16}},
      {"compiler.tile_order", {"fineq.yaml", "beat", 16}},
  };
  int checked = 0;
  for (const auto& [key, description] : fq::arch_key_paths()) {
    INFO(key << ": " << description);
    if (key == "name") {  // informative: not in the fingerprint, by contract
      const auto a = fq::load_arch((fq::test::source_dir() / "configs/fineq.yaml").string());
      const auto b = fq::load_arch((fq::test::source_dir() / "configs/fineq.yaml").string(), {"name=other"});
      CHECK(fq::fingerprint(a) == fq::fingerprint(b));
      continue;
    }
    const auto it = alternatives.find(key);
    REQUIRE(it != alternatives.end());
    const auto& [preset, value, m] = it->second;
    const std::string path = (fq::test::source_dir() / "configs" / preset).string();
    std::vector<std::string> set = {fmt::format("{}={}", key, value)};
    if (key == "pe.kind") set.push_back("pe.format=fineq_r");
    // The output ring shows once the array is not waiting on preloads: deep weight sets and ring in both.
    std::vector<std::string> context;
    if (key == "buffers.out_slots") context = {"pe.weight_sets=8", "buffers.weight_slots=64"};
    set.insert(set.end(), context.begin(), context.end());
    const fq::ArchConfig base = fq::load_arch(path, context);
    fq::ArchConfig changed;
    if (key == "pe.format") {  // INTb takes no pe.window: drop it with the format change
      std::string text = fq::to_yaml(base);
      const auto cut = [&](const std::string& from, const std::string& to) {
        const size_t at = text.find(from);
        REQUIRE(at != std::string::npos);
        text.replace(at, from.size(), to);
      };
      cut("  window: tile\n", "");
      cut("format: fineq_r", fmt::format("format: {}", value));
      changed = fq::parse_arch(text, "pe.format changed");
    } else {
      changed = fq::load_arch(path, set);
    }
    CHECK(fq::fingerprint(base) != fq::fingerprint(changed));
    const Outcome before = run(base, m), after = run(changed, m);
    INFO(fmt::format("cycles {} -> {}, energy {} -> {} pJ, area {} -> {} um2", before.cycles, after.cycles,
                     before.energy_pj, after.energy_pj, before.area_um2, after.area_um2));
    CHECK_FALSE(before == after);
    ++checked;
  }
  CHECK(checked == static_cast<int>(alternatives.size()));
}
