// The report's arithmetic: stall causes and per-GEMM cycles partition the total; energy and area
// follow the cost tables (hand-checked at 45 nm, where no scaling applies); the JSON carries the
// schema's required fields; bad cost tables are rejected with the key and line.
#include "model/core/error.h"
#include "model/cost/cost_model.h"
#include "sim/fast/fast_engine.h"
#include "sim/report.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

namespace {

fq::cost::CostTables tables() { return fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()); }

double item(const fq::cost::Breakdown& b, const std::string& name) {
  for (const auto& i : b.items) {
    if (i.name == name) return i.value;
  }
  FAIL("no item " << name);
  return 0;
}

}  // namespace

TEST_CASE("stall causes and per-GEMM cycles partition the total", "[sim][report]") {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const auto c = fq::test::random_case(seed);
    INFO(c.describe());
    const auto tl = fq::sim::run_fast(c.layer.program, c.arch, c.layer.memory);
    fq::ArchConfig arch = c.arch;
    arch.tech_node_nm = 45;
    const fq::cost::CostModel costs(tables(), arch);
    const auto r = fq::sim::build_report(c.layer.program, arch, tl, costs, "fast", "test");
    uint64_t sum = r.array_busy_cycles;
    for (const auto& [cause, cycles] : r.stall_cycles) sum += cycles;
    CHECK(sum == r.total_cycles);
    uint64_t gemm_sum = 0;
    for (const auto& g : r.gemms) gemm_sum += g.cycles;
    CHECK(gemm_sum == r.total_cycles);
    double energy_sum = 0;
    for (const auto& g : r.gemms) energy_sum += g.energy_pj.total;
    CHECK(energy_sum == Approx(r.energy_pj.total).epsilon(1e-9));
  }
}

TEST_CASE("energy and area at 45 nm, 0.9 V are the table values times the counts", "[sim][report]") {
  fq::ArchConfig arch = fq::test::base_arch(4, 2, fq::PeKind::kTemporal);
  arch.tech_node_nm = 45;
  arch.vdd_v = 0.9;
  arch.weight_bytes = 8 * 1024;  // a CACTI row: 6.1 pJ per 64-bit read at 45 nm
  const fq::cost::CostModel costs(tables(), arch);
  fq::timing::ActionCounts a;
  a.pe_pulses = 1000;
  a.pe_idle_cycles = 500;
  a.pe_beats = 100;
  a.decoder_bytes = 10;
  a.buf_read_bytes[static_cast<size_t>(fq::ir::Buffer::kWbuf)] = 80;
  a.dram_read_bytes = 3;
  const auto e = costs.energy_pj(a);
  CHECK(item(e, "pe_pulses") == Approx(1000 * 0.1));               // Horowitz 32-bit add
  CHECK(item(e, "pe_phase_compare") == Approx(1500 * 3 * 0.009));  // 3 register bits per PE-cycle
  CHECK(item(e, "pe_registers") == Approx(100 * 40 * 0.009));      // 40 register bits per PE-beat
  CHECK(item(e, "decoder") == Approx(10 * 0.03));                  // an 8-bit add per code byte
  CHECK(item(e, "wbuf") == Approx(80 * 6.1 / 8));                  // CACTI 8 KB, 45 nm
  CHECK(item(e, "dram") == Approx(3 * 8 * 8.0));                   // LPDDR4 8 pJ/bit
  const auto area = costs.area_um2();
  CHECK(item(area, "pe_array") == Approx(8 * (137 + 51 * 5.98)));
  CHECK(item(area, "wbuf") == Approx(0.026e6));
  CHECK(item(area, "epilogue") == Approx(2 * 2 * 7700.0));
}

TEST_CASE("energy scales with the Stillmaker-Baas factor and (V/V0)^2", "[sim][report]") {
  fq::ArchConfig arch = fq::test::base_arch(4, 2, fq::PeKind::kMac);
  arch.tech_node_nm = 28;
  arch.vdd_v = 0.8;
  const fq::cost::CostModel costs(tables(), arch);
  fq::timing::ActionCounts a;
  a.pe_macs = 1;
  const auto e = costs.energy_pj(a);
  const double v = (0.8 / 0.9) * (0.8 / 0.9);
  CHECK(item(e, "pe_macs") == Approx((0.2 + 0.1) * 0.51 * v));  // INT8: full 8x8 multiply
  for (const auto& i : e.items) CHECK(!i.detail.empty());
}

TEST_CASE("bad cost tables are rejected naming the key and line", "[sim][report]") {
  std::ifstream in(fq::cost::default_cost_tables_path());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string good = ss.str();
  REQUIRE_NOTHROW(fq::cost::parse_cost_tables(good, "costs.yaml"));
  std::string bad = good;
  bad.replace(bad.find("  add_int8:"), 11, "  add_int9:");
  CHECK_THROWS_WITH(fq::cost::parse_cost_tables(bad, "costs.yaml"),
                    Catch::Contains("unknown key 'logic.add_int9'") && Catch::Contains("line"));
  bad = good;
  bad.replace(bad.find("energy_pj: 0.1,"), 15, "energy_pj: -1, ");
  CHECK_THROWS_WITH(fq::cost::parse_cost_tables(bad, "costs.yaml"), Catch::Contains("logic.add_int32.energy_pj"));
}

TEST_CASE("the JSON report carries the schema's required fields", "[sim][report]") {
  const auto c = fq::test::random_case(7);
  const auto tl = fq::sim::run_fast(c.layer.program, c.arch, c.layer.memory);
  const fq::cost::CostModel costs(tables(), c.arch);
  const auto j = fq::sim::to_json(fq::sim::build_report(c.layer.program, c.arch, tl, costs, "fast", "test"));
  CHECK(j["schema"] == fq::sim::kReportSchema);
  CHECK(j["total_cycles"].get<uint64_t>() == tl.total_cycles);
  REQUIRE(j["gemms"].size() == c.weights.size());
  for (const auto& g : j["gemms"]) {
    for (const char* key : {"name", "M", "N", "K", "cycles", "energy_pj", "area_um2"}) CHECK(g.contains(key));
    CHECK(g["energy_pj"].contains("total"));
    CHECK(g["energy_pj"].contains("breakdown"));
    CHECK(g["area_um2"].contains("total"));
    CHECK(g["area_um2"].contains("breakdown"));
  }
}
