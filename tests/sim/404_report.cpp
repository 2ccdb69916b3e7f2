// The report's arithmetic: stall causes and per-GEMM cycles partition the total; energy and area
// follow the cost tables (hand-checked at 45 nm, where no scaling applies); the PE array, decoder
// and control unit areas follow the synthesis cache (GE x NAND2 area x node factor, recomputed here
// from the YAML files; between synthesized sizes, linear in size); stale synthesis is flagged;
// the JSON carries the schema's required fields and a source per entry; bad cost tables are
// rejected with the key and line.
#include "model/core/error.h"
#include "model/cost/cost_model.h"
#include "sim/fast/fast_engine.h"
#include "sim/report.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

namespace {

fq::cost::CostTables tables() { return fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()); }

fq::cost::CostTables table_only() {
  fq::cost::CostTables t = tables();
  t.pe_source = fq::cost::PeAreaSource::kTable;
  t.synth.reset();
  return t;
}

std::string configs_dir() { return std::filesystem::path(fq::cost::default_cost_tables_path()).parent_path().string(); }

const fq::cost::CostItem& entry(const fq::cost::Breakdown& b, const std::string& name) {
  for (const auto& i : b.items) {
    if (i.name == name) return i;
  }
  FAIL("no item " << name);
  return b.items.front();
}

// um2 of one gate equivalent at `node`, from configs/costs.yaml as a reader would compute it.
double ge_um2_at(int node) {
  const YAML::Node c = YAML::LoadFile(fq::cost::default_cost_tables_path());
  double at = 0, from = 0;
  for (const auto& row : c["scaling"]) {
    if (row["node_nm"].as<int>() == node) at = row["area"].as<double>();
    if (row["node_nm"].as<int>() == c["area"]["nand2"]["node_nm"].as<int>()) from = row["area"].as<double>();
  }
  REQUIRE(at > 0);
  REQUIRE(from > 0);
  return c["area"]["nand2"]["area_um2"].as<double>() * at / from;
}

// The cached GE of the design named `name` in configs/synth_area.yaml.
double cached_ge(const std::string& name) {
  const YAML::Node t = YAML::LoadFile(configs_dir() + "/synth_area.yaml");
  for (const auto& d : t["designs"]) {
    if (d["name"].as<std::string>() == name) return d["ge"].as<double>();
  }
  FAIL("no design " << name << " in synth_area.yaml");
  return 0;
}

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
  fq::ArchConfig arch = fq::test::base_arch(4, 2, "temporal");
  arch.tech_node_nm = 45;
  arch.vdd_v = 0.9;
  arch.weight_bytes = 8 * 1024;  // a CACTI row: 6.1 pJ per 64-bit read at 45 nm
  const fq::cost::CostModel costs(table_only(), arch);
  fq::timing::ActionCounts a;
  a.pe_pulses = 1000;
  a.pe_idle_cycles = 500;
  a.pe_beats = 100;
  a.pe_psum_writes = 300;
  a.pe_valid_clears = 8;
  a.weight_writes = 6;
  a.weight_clears = 8;
  a.decoder_bytes = 10;
  a.buf_read_bytes[static_cast<size_t>(fq::ir::Buffer::kWbuf)] = 80;
  a.dram_read_bytes = 3;
  const auto e = costs.energy_pj(a, 0);
  CHECK(item(e, "pe_pulses") == Approx(1000 * 0.1));               // Horowitz 32-bit add
  CHECK(item(e, "pe_phase_compare") == Approx(1500 * 3 * 0.009));  // 3 register bits per PE-cycle
  CHECK(item(e, "pe_psum_writes") == Approx(300 * 32 * 0.009));    // a 32-bit register per psum write
  CHECK(item(e, "pe_operand_regs") == Approx(100 * 10 * 0.009));    // act, tag and valid per PE-beat
  CHECK(item(e, "pe_valid_clears") == Approx(8 * 0.009));           // one bit per clear
  CHECK(item(e, "weight_load") == Approx((6 + 8) * 4 * 0.009));     // sign and |q|: writes and clears
  CHECK(item(e, "decoder") == Approx(10 * 0.03));                  // an 8-bit add per code byte
  CHECK(item(e, "wbuf") == Approx(80 * 6.1 / 8));                  // CACTI 8 KB, 45 nm
  CHECK(item(e, "dram") == Approx(3 * 8 * 8.0));                   // LPDDR4 8 pJ/bit
  const auto area = costs.area_um2();
  CHECK(item(area, "pe_array") == Approx(8 * (137 + 51 * 5.98)));
  CHECK(entry(area, "pe_array").source == "derived");
  CHECK(entry(area, "wbuf").source == "table");  // exactly CACTI's 8 KB row at 45 nm
  CHECK(item(area, "wbuf") == Approx(0.026e6));
  CHECK(item(area, "epilogue") == Approx(2 * 2 * 7700.0));
}

TEST_CASE("energy scales with the Stillmaker-Baas factor and (V/V0)^2", "[sim][report]") {
  fq::ArchConfig arch = fq::test::base_arch(4, 2, "mac");
  arch.tech_node_nm = 28;
  arch.vdd_v = 0.8;
  const fq::cost::CostModel costs(tables(), arch);
  fq::timing::ActionCounts a;
  a.pe_macs = 1;
  const auto e = costs.energy_pj(a, 0);
  const double v = (0.8 / 0.9) * (0.8 / 0.9);
  CHECK(item(e, "pe_macs") == Approx((0.2 + 0.1) * 0.51 * v));  // INT8: full 8x8 multiply
  for (const auto& i : e.items) CHECK(!i.detail.empty());
}

TEST_CASE("the PE array and decoder areas are synthesis GE x NAND2 area x node factor", "[sim][report]") {
  struct Case {
    int rows, cols;
    std::string kind;
    int bits;
    int node;
    const char* design;
  } cases[] = {{8, 8, "temporal", 8, 28, "array_temporal_8x8"},
               {4, 4, "mac", 8, 45, "array_mac_w8_4x4"},
               {8, 8, "mac", 4, 22, "array_mac_w4_8x8"},
               {33, 32, "temporal", 8, 28, "array_temporal_16x16"},  // nearest synthesized size
               {32, 32, "mac", 8, 28, "array_mac_w8_16x16"}};
  for (const auto& c : cases) {
    INFO(c.design << " for " << c.rows << "x" << c.cols << " at " << c.node << " nm");
    fq::ArchConfig arch = fq::test::base_arch(c.rows, c.cols, c.kind);
    arch.weight_bits = c.bits;
    arch.tech_node_nm = c.node;
    const auto area = fq::cost::CostModel(tables(), arch).area_um2();
    const auto& pe = entry(area, "pe_array");
    CHECK(pe.source == "synthesis");
    CHECK(!pe.stale);
    CHECK_THAT(pe.detail, Catch::Contains(c.design));
    const int synth_pes = std::stoi(std::string(c.design).substr(std::string(c.design).rfind('x') + 1));
    const double per_pe_ge = cached_ge(c.design) / (synth_pes * synth_pes);
    CHECK(pe.value == Approx(c.rows * c.cols * per_pe_ge * ge_um2_at(c.node)));
    if (c.kind == "temporal") {
      const auto& dec = entry(area, "decoders");
      CHECK(dec.source == "synthesis");
      CHECK(dec.value == Approx(c.cols * cached_ge("cluster_decoder") * ge_um2_at(c.node)));
    }
  }
}

TEST_CASE("the units around the array are priced from their synthesis, by size between synthesized sizes",
          "[sim][report]") {
  const double ge = ge_um2_at(28);
  struct Unit {
    const char* name;
    const char* design;
  };
  // The presets' sizes were synthesized: every unit is a synthesis figure.
  struct Preset {
    int rows, cols;
    const char* kind;
    int bits;
    const char* ctrl;
  } presets[] = {{33, 32, "temporal", 8, "array_ctrl_temporal_33x32"},
                 {32, 32, "mac", 8, "array_ctrl_mac_w8_32x32"},
                 {32, 32, "mac", 4, "array_ctrl_mac_w4_32x32"},
                 {33, 32, "bitserial", 8, "array_ctrl_bitserial_33x32"}};
  for (const auto& p : presets) {
    INFO(p.ctrl);
    fq::ArchConfig arch = fq::test::base_arch(p.rows, p.cols, p.kind);
    arch.weight_bits = p.bits;
    arch.tech_node_nm = 28;
    const auto area = fq::cost::CostModel(tables(), arch).area_um2();
    for (const Unit& u : {Unit{"array_ctrl", p.ctrl}, Unit{"controller", "controller"}, Unit{"dma_in", "dma_in"},
                          Unit{"dma_out", "dma_out"}, Unit{"epilogue", "epilogue_32"}}) {
      INFO(u.name);
      const auto& it = entry(area, u.name);
      CHECK(it.source == "synthesis");
      CHECK(!it.stale);
      CHECK_THAT(it.detail, Catch::Contains(u.design));
      CHECK(it.value == Approx(cached_ge(u.design) * ge));
    }
    CHECK_THAT(entry(area, "array_ctrl").detail, Catch::Contains("without fq_array, fq_cluster_decoder"));
    CHECK_THAT(entry(area, "controller").detail, Catch::Contains("without its memories imem*"));
  }
  // Other sizes: linear in R + C (lanes for the epilogue) between the synthesized sizes around
  // it, or through the two nearest beyond them.
  const double c4 = cached_ge("array_ctrl_temporal_4x4"), c8 = cached_ge("array_ctrl_temporal_8x8"), c16 = cached_ge("array_ctrl_temporal_16x16"),
               c33 = cached_ge("array_ctrl_temporal_33x32");
  const double e4 = cached_ge("epilogue_4"), e8 = cached_ge("epilogue_8"), e32 = cached_ge("epilogue_32");
  struct Other {
    int rows, cols;
    double ctrl_ge, epi_ge;
  } others[] = {{12, 12, c8 + (c16 - c8) * (24 - 16) / 16.0, e8 + (e32 - e8) * (12 - 8) / 24.0},
                {24, 16, c16 + (c33 - c16) * (40 - 32) / 33.0, e8 + (e32 - e8) * (16 - 8) / 24.0},
                {48, 64, c33 + (c33 - c16) * (112 - 65) / 33.0, e32 + (e32 - e8) * (64 - 32) / 24.0},
                {6, 5, c4 + (c8 - c4) * (11 - 8) / 8.0, e4 + (e8 - e4) * (5 - 4) / 4.0},
                {1, 2, c4 + (c8 - c4) * (3 - 8) / 8.0, e4 + (e8 - e4) * (2 - 4) / 4.0}};
  for (const auto& o : others) {
    INFO(o.rows << "x" << o.cols);
    fq::ArchConfig arch = fq::test::base_arch(o.rows, o.cols, "temporal");
    arch.tech_node_nm = 28;
    const auto area = fq::cost::CostModel(tables(), arch).area_um2();
    CHECK(entry(area, "array_ctrl").source == "derived");
    CHECK_THAT(entry(area, "array_ctrl").detail, Catch::Contains("linear in R + C"));
    CHECK(item(area, "array_ctrl") == Approx(o.ctrl_ge * ge));
    CHECK(entry(area, "epilogue").source == "derived");
    CHECK(item(area, "epilogue") == Approx(o.epi_ge * ge));
    CHECK(item(area, "controller") == Approx(cached_ge("controller") * ge));  // no size parameter
  }
  // Parameters never synthesized for the controller: the nearest design of the kind, saying so.
  fq::ArchConfig four = fq::test::base_arch(8, 8, "temporal");
  four.weight_sets = 4;
  four.tech_node_nm = 28;
  const auto four_area = fq::cost::CostModel(tables(), four).area_um2();
  const auto& ctrl = entry(four_area, "array_ctrl");
  CHECK(ctrl.source == "derived");
  CHECK_THAT(ctrl.detail, Catch::Contains("no synthesized temporal controller") && Catch::Contains("4 weight sets"));
  CHECK(ctrl.value == Approx(c8 * ge));
  // Without the synthesis cache nothing prices the controllers: they are left out, and the
  // epilogue is its two FP32 multipliers per lane from the tables.
  const auto table = fq::cost::CostModel(table_only(), four).area_um2();
  for (const char* u : {"array_ctrl", "controller", "dma_in", "dma_out"}) {
    CHECK(std::none_of(table.items.begin(), table.items.end(), [&](const auto& i) { return i.name == u; }));
  }
  CHECK(entry(table, "epilogue").source == "derived");
}

TEST_CASE("a PE kind the synthesis cache lacks falls back to the tables, saying so", "[sim][report]") {
  fq::ArchConfig arch = fq::test::base_arch(4, 4, "mac");
  arch.weight_bits = 3;
  arch.tech_node_nm = 45;
  const auto area = fq::cost::CostModel(tables(), arch).area_um2();
  const auto& pe = entry(area, "pe_array");
  CHECK(pe.source == "derived");
  CHECK_THAT(pe.detail, Catch::Contains("has no mac 3-bit array"));
  CHECK(pe.value == Approx(16 * (282 * 3 / 8.0 + 137 + (40 + 6) * 5.98)));
}

TEST_CASE("synthesis of RTL changed since the cache is used but marked stale", "[sim][report]") {
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / fmt::format("fq404_{}", ::getpid());
  fs::create_directories(tmp / "rtl");
  fs::create_directories(tmp / "configs");
  const fs::path rtl = fs::path(configs_dir()) / ".." / "rtl";
  for (const auto& e : fs::directory_iterator(rtl)) {  // every design's files, so only the edit makes one stale
    if (e.is_regular_file()) fs::copy_file(e.path(), tmp / "rtl" / e.path().filename());
  }
  fs::copy_file(fs::path(configs_dir()) / "synth_area.yaml", tmp / "configs" / "synth_area.yaml");
  std::ofstream(tmp / "rtl" / "fq_pe_temporal.v", std::ios::app) << "// edited\n";
  const fq::cost::SynthTable t = fq::cost::load_synth_table((tmp / "configs" / "synth_area.yaml").string());
  for (const auto& d : t.designs) {
    INFO(d.name);
    const bool uses_pe = std::find(d.files.begin(), d.files.end(), "fq_pe_temporal.v") != d.files.end();
    CHECK(d.stale == uses_pe);
  }
  fq::cost::CostTables ct = tables();
  ct.synth = t;
  fq::ArchConfig arch = fq::test::base_arch(4, 4, "temporal");
  const auto area = fq::cost::CostModel(ct, arch).area_um2();
  CHECK(entry(area, "pe_array").source == "synthesis");
  CHECK(entry(area, "pe_array").stale);
  CHECK_THAT(entry(area, "pe_array").detail, Catch::Contains("synth_area.sh --update"));
  CHECK(!entry(area, "decoders").stale);
  fs::remove_all(tmp);
}

TEST_CASE("leakage is area x cited density x time, logic and SRAM apart", "[sim][report]") {
  const fq::ArchConfig arch = fq::test::base_arch(8, 8, "temporal");
  const auto t = tables();
  const fq::cost::CostModel costs(t, arch);
  const auto area = costs.area_um2();
  const double sram = entry(area, "wbuf").value + entry(area, "abuf").value + entry(area, "obuf").value +
                      entry(area, "sbuf").value;
  const double logic = area.total - sram;
  const uint64_t cycles = 123456;
  const double seconds = static_cast<double>(cycles) / (arch.clock_mhz * 1e6);
  const auto e = costs.energy_pj(fq::timing::ActionCounts{}, cycles);
  CHECK(t.logic_leak_nw_per_um2 == 13.4);  // Aladdin adder: 2.4 uW / 179 um2 at 45 nm
  CHECK(t.sram_leak_nw_per_um2 == 0.049);  // CACTI 1 MB LSTP: 0.16 mW / 3.26 mm2 at 45 nm
  CHECK(item(e, "leakage_logic") == Approx(logic * 13.4 * seconds * 1e3));
  CHECK(item(e, "leakage_sram") == Approx(sram * 0.049 * seconds * 1e3));
  CHECK(entry(e, "leakage_logic").source == "derived");
  CHECK(e.total == Approx(item(e, "leakage_logic") + item(e, "leakage_sram")));  // no actions: leakage only
  CHECK(item(costs.energy_pj(fq::timing::ActionCounts{}, 0), "leakage_logic") == 0);
}

TEST_CASE("bad cost tables are rejected naming the key and line", "[sim][report]") {
  const auto text = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string good = text(fq::cost::default_cost_tables_path());
  REQUIRE_NOTHROW(fq::cost::parse_cost_tables(good, "costs.yaml"));
  std::string bad = good;
  bad.replace(bad.find("  add_int8:"), 11, "  add_int9:");
  CHECK_THROWS_WITH(fq::cost::parse_cost_tables(bad, "costs.yaml"),
                    Catch::Contains("unknown key 'logic.add_int9'") && Catch::Contains("line"));
  bad = good;
  bad.replace(bad.find("energy_pj: 0.1,"), 15, "energy_pj: -1, ");
  CHECK_THROWS_WITH(fq::cost::parse_cost_tables(bad, "costs.yaml"), Catch::Contains("logic.add_int32.energy_pj"));
  bad = good;
  bad.replace(bad.find("\n  pe_source: synthesis"), 23, "\n  pe_source: guesswork");
  CHECK_THROWS_WITH(fq::cost::parse_cost_tables(bad, "costs.yaml"),
                    Catch::Contains("area.pe_source") && Catch::Contains("synthesis or table"));
  bad = good;
  bad.replace(bad.find("nw_per_um2: 13.4"), 16, "nw_per_um2: 0   ");
  CHECK_THROWS_WITH(fq::cost::parse_cost_tables(bad, "costs.yaml"), Catch::Contains("leakage.logic.nw_per_um2"));
  CHECK_THROWS_WITH(fq::cost::load_synth_table("/nonexistent/synth_area.yaml"),
                    Catch::Contains("/nonexistent/synth_area.yaml") && Catch::Contains("synth_area.sh --update"));
  CHECK_THROWS_WITH(fq::cost::parse_synth_table("schema: fqsim.synth_area/1\nrtl_dir: x\n", "s.yaml"),
                    Catch::Contains("s.yaml") && Catch::Contains("missing key"));
  // The control units' designs: kind `any`, and only the roles the cost model prices.
  const std::string synth = text(configs_dir() + "/synth_area.yaml");
  REQUIRE_NOTHROW(fq::cost::parse_synth_table(synth, "synth_area.yaml"));
  for (const auto& [from, to, says] :
       {std::tuple{"role: controller, kind: any", "role: controller, kind: mac", "must be 'any' for a controller"},
        std::tuple{"role: dma_in,", "role: dma_inn,", "not 'dma_inn'"}}) {
    std::string s = synth;
    s.replace(s.find(from), std::string(from).size(), to);
    CHECK_THROWS_WITH(fq::cost::parse_synth_table(s, "synth_area.yaml"), Catch::Contains(says));
  }
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
  const std::set<std::string> sources = {"synthesis", "table", "scaled", "derived"};
  for (const char* what : {"energy_pj", "area_um2"}) {
    for (const auto& [name, src] : j[what]["sources"].items()) {
      INFO(what << "." << name);
      CHECK(sources.count(src["source"].get<std::string>()) == 1);
      CHECK(src["kind"] == src["source"]);
    }
  }
}
