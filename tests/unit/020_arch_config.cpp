#include "compiler/mapper.h"
#include "model/arch/arch_config.h"
#include "model/core/error.h"
#include "support/paths.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <tuple>

namespace {

std::string preset(const char* name) { return (fq::test::source_dir() / "configs" / name).string(); }

const char* kMinimal = R"(name: t
array: {rows: 6, cols: 4}
pe: {kind: temporal, window: fixed}
dataflow: ws
timing: default
buffers: {weight_bytes: 1024, act_bytes: 2048, out_bytes: 4096, scale_bytes: 256}
dram: {bytes_per_cycle: 16, latency_cycles: 10}
clock_mhz: 1000
tech: {node_nm: 28, vdd_v: 0.9}
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

SCENARIO("the presets load with their documented values", "[arch]") {
  const auto fineq = fq::load_arch(preset("fineq.yaml"));
  CHECK(fineq.name == "fineq");
  CHECK(fineq.rows == 33);
  CHECK(fineq.cols == 32);
  CHECK(fineq.pe_kind == "temporal");
  CHECK(fineq.window == fq::BeatWindow::kTile);
  CHECK(fineq.dataflow == fq::Dataflow::kWeightStationary);
  const auto int8 = fq::load_arch(preset("int8.yaml"));
  const auto int4 = fq::load_arch(preset("int4.yaml"));
  CHECK(int8.pe_kind == "mac");
  CHECK(int8.weight_bits == 8);
  CHECK(int4.weight_bits == 4);
  CHECK(int8.rows == 32);
  THEN("the baselines share buffers, DRAM, clock and node with the FineQ preset") {
    for (const auto* b : {&int8, &int4}) {
      CHECK(b->weight_bytes == fineq.weight_bytes);
      CHECK(b->act_bytes == fineq.act_bytes);
      CHECK(b->out_bytes == fineq.out_bytes);
      CHECK(b->scale_bytes == fineq.scale_bytes);
      CHECK(b->dram_bytes_per_cycle == fineq.dram_bytes_per_cycle);
      CHECK(b->dram_latency_cycles == fineq.dram_latency_cycles);
      CHECK(b->clock_mhz == fineq.clock_mhz);
      CHECK(b->tech_node_nm == fineq.tech_node_nm);
    }
  }
  THEN("to_yaml round-trips and the fingerprints differ") {
    for (const auto* a : {&fineq, &int8, &int4}) {
      const auto again = fq::parse_arch(fq::to_yaml(*a), "canonical");
      CHECK(fq::to_yaml(again) == fq::to_yaml(*a));
      CHECK(fq::fingerprint(again) == fq::fingerprint(*a));
    }
    CHECK(fq::fingerprint(fineq) != fq::fingerprint(int8));
    CHECK(fq::fingerprint(int8) != fq::fingerprint(int4));
  }
}

SCENARIO("the fingerprint covers every field but the name", "[arch]") {
  const auto base = fq::parse_arch(kMinimal, "t");
  CHECK(fq::fingerprint(base).size() == 16);
  auto renamed = base;
  renamed.name = "other";
  CHECK(fq::fingerprint(renamed) == fq::fingerprint(base));
  const std::vector<std::string> changes = {
      "array.rows=7",          "array.cols=5",       "pe.window=tile",       "dataflow=ws",
      "buffers.weight_bytes=1025", "buffers.act_bytes=2049", "buffers.out_bytes=4097",
      "buffers.scale_bytes=257", "dram.bytes_per_cycle=8", "dram.latency_cycles=11",
      "clock_mhz=900",         "tech.node_nm=22",    "tech.vdd_v=0.8"};
  for (const auto& c : changes) {
    const auto changed = fq::parse_arch(kMinimal, "t", {c});
    INFO(c);
    if (c == "dataflow=ws") {
      CHECK(fq::fingerprint(changed) == fq::fingerprint(base));  // the same value
    } else {
      CHECK(fq::fingerprint(changed) != fq::fingerprint(base));
    }
  }
  THEN("timing (scalesim needs mac PEs) changes it too") {
    const std::string mac = replace(replace(kMinimal, "kind: temporal", "kind: mac"), "window: fixed", "weight_bits: 8");
    const auto mac_base = fq::parse_arch(mac, "t");
    CHECK(fq::fingerprint(fq::parse_arch(mac, "t", {"timing=scalesim"})) != fq::fingerprint(mac_base));
    CHECK_THROWS_WITH(fq::parse_arch(kMinimal, "t", {"timing=scalesim"}), Catch::Contains("needs pe.kind: mac"));
  }
  THEN("key order in the file does not matter") {
    const std::string reordered = replace(kMinimal, "clock_mhz: 1000\n", "") + "clock_mhz: 1000\n";
    CHECK(fq::fingerprint(fq::parse_arch(reordered, "t")) == fq::fingerprint(base));
  }
}

SCENARIO("--set overrides are validated like the file", "[arch]") {
  const auto a = fq::parse_arch(kMinimal, "t", {"array.rows=12", "pe.window=tile", "buffers.act_bytes=100"});
  CHECK(a.rows == 12);
  CHECK(a.window == fq::BeatWindow::kTile);
  CHECK(a.act_bytes == 100);
  CHECK_THROWS_WITH(fq::parse_arch(kMinimal, "t", {"array.row=12"}), Catch::Contains("unknown key 'array.row'"));
  CHECK_THROWS_WITH(fq::parse_arch(kMinimal, "t", {"array.rows"}), Catch::Contains("KEY=VALUE"));
  CHECK_THROWS_WITH(fq::parse_arch(kMinimal, "t", {"array.rows=0"}),
                    Catch::Contains("array.rows") && Catch::Contains("--set array.rows=0"));
  CHECK_THROWS_WITH(fq::parse_arch(kMinimal, "t", {"pe.kind=mac"}), Catch::Contains("pe.window"));
  const auto mac = fq::parse_arch(replace(kMinimal, "window: fixed", "weight_bits: 4"), "t", {"pe.kind=mac"});
  CHECK(mac.weight_bits == 4);
}

SCENARIO("invalid architectures fail with the key path", "[arch]") {
  struct Case {
    std::string text;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {std::string(kMinimal) + "colour: blue\n", "unknown key 'colour'"},
      {replace(kMinimal, "cols: 4}", "cols: 4, depth: 2}"), "unknown key 'array.depth'"},
      {replace(kMinimal, "clock_mhz: 1000\n", ""), "missing key 'clock_mhz'"},
      {replace(kMinimal, "rows: 6", "rows: 2000"), "array.rows"},
      {replace(kMinimal, "rows: 6", "rows: six"), "array.rows"},
      {replace(kMinimal, "act_bytes: 2048", "act_bytes: -1"), "buffers.act_bytes"},
      {replace(kMinimal, "node_nm: 28", "node_nm: 65"), "tech.node_nm"},
      {replace(kMinimal, "dataflow: ws", "dataflow: os"), "'dataflow'"},
      {replace(kMinimal, "window: fixed", "window: fixed, weight_bits: 8"), "pe.weight_bits"},
      {replace(kMinimal, "kind: temporal, window: fixed", "kind: mac, weight_bits: 8, window: tile"), "pe.window"},
      {replace(kMinimal, "kind: temporal, window: fixed", "kind: mac, weight_bits: 5"), "pe.weight_bits"},
      {replace(kMinimal, "timing: default", "timing: [a, b]"), "timing"},
      {replace(kMinimal, "array: {rows: 6, cols: 4}", "array: 6"), "'array'"},
      // Banks were keys without a model behind them; they are refused now, not ignored.
      {replace(kMinimal, "buffers: {weight_bytes: 1024", "buffers: {weight_banks: 1, weight_bytes: 1024"),
       "buffers.weight_banks"},
      {replace(kMinimal, "pe: {kind", "pe: {kind: [}"), "YAML syntax error at line"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH(fq::parse_arch(c.text, "bad.yaml"), Catch::Contains("bad.yaml") && Catch::Contains(c.expect));
  }
  CHECK_THROWS_WITH(fq::load_arch("/nonexistent/arch.yaml"), Catch::Contains("/nonexistent/arch.yaml"));
}

SCENARIO("buffers.weight_slots: 1..64, the default keeps fingerprints, and the mapper fills the ring as far as it fits",
         "[arch][compiler]") {
  const auto two = fq::load_arch(preset("fineq.yaml"));
  const auto six = fq::load_arch(preset("fineq.yaml"), {"buffers.weight_slots=6"});
  CHECK(two.weight_slots == 2);
  CHECK(six.weight_slots == 6);
  CHECK(fq::fingerprint(fq::load_arch(preset("fineq.yaml"), {"buffers.weight_slots=2"})) == fq::fingerprint(two));
  CHECK(fq::fingerprint(six) != fq::fingerprint(two));
  CHECK(fq::to_yaml(two).find("weight_slots") == std::string::npos);
  CHECK(fq::parse_arch(fq::to_yaml(six), "again").weight_slots == 6);
  CHECK_THROWS_WITH(fq::load_arch(preset("fineq.yaml"), {"buffers.weight_slots=0"}), Catch::Contains("buffers.weight_slots"));
  CHECK_THROWS_WITH(fq::load_arch(preset("fineq.yaml"), {"buffers.weight_slots=65"}), Catch::Contains("buffers.weight_slots"));
  // One 33 x 32 FineQ-R weight tile (K = 33: 11 code bytes per row, 32 rows) is 352 B.
  for (const auto& [slots, bytes, expect] : {std::tuple{6, 4096, 6}, std::tuple{12, 4096, 11}, std::tuple{8, 1056, 3},
                                             std::tuple{2, 65536, 2}, std::tuple{4, 352, 1}}) {
    const auto a = fq::load_arch(preset("fineq.yaml"), {fmt::format("buffers.weight_slots={}", slots),
                                                        fmt::format("buffers.weight_bytes={}", bytes)});
    const auto plan = fq::compiler::plan_gemm(a, "g", 1, 32, 33, fq::HwFormat::kFineqR);
    INFO(slots << " slots in " << bytes << " B");
    int seen = 0;  // candidates with the one-tile shape, in this configuration
    for (const auto& c : plan.candidates) {
      if (c.mapping.kt != 33 || c.mapping.nt != 32) continue;
      CHECK(fq::compiler::slot_bytes(c.mapping, fq::HwFormat::kFineqR, 33).w == 352);
      CHECK(c.mapping.w_slots == expect);
      ++seen;
    }
    CHECK(seen >= 1);
  }
}

SCENARIO(
    "compiler.tile_order: loop or beat, tile window only; the default keeps fingerprints; the mapper needs the codes",
    "[arch][compiler]") {
  const auto loop = fq::load_arch(preset("fineq.yaml"));
  const auto beat = fq::load_arch(preset("fineq.yaml"), {"compiler.tile_order=beat"});
  CHECK(loop.tile_order == fq::TileOrder::kLoop);
  CHECK(beat.tile_order == fq::TileOrder::kBeat);
  CHECK(fq::fingerprint(fq::load_arch(preset("fineq.yaml"), {"compiler.tile_order=loop"})) == fq::fingerprint(loop));
  CHECK(fq::fingerprint(beat) != fq::fingerprint(loop));
  CHECK(fq::to_yaml(loop).find("tile_order") == std::string::npos);
  CHECK(fq::parse_arch(fq::to_yaml(beat), "again").tile_order == fq::TileOrder::kBeat);
  CHECK(fq::load_arch(preset("bitserial.yaml"), {"compiler.tile_order=beat"}).tile_order == fq::TileOrder::kBeat);
  CHECK_THROWS_WITH(fq::load_arch(preset("fineq.yaml"), {"compiler.tile_order=sorted"}),
                    Catch::Contains("compiler.tile_order") && Catch::Contains("loop, beat"));
  // Where every tile has the same W, beat order would change nothing: refused. Loop order is what
  // the compiler does anyway, valid everywhere (a sweep may cross it with pe.window).
  for (const auto& [file, set] : {std::pair{"fineq.yaml", "pe.window=fixed"}, std::pair{"int8.yaml", "timing=default"},
                                  std::pair{"bitserial.yaml", "pe.window=fixed"}}) {
    INFO(file << " " << set);
    CHECK_THROWS_WITH(fq::load_arch(preset(file), {set, "compiler.tile_order=beat"}),
                      Catch::Contains("key 'compiler.tile_order' (--set compiler.tile_order=beat): beat applies") &&
                          Catch::Contains("pe.window: tile"));
    const auto a = fq::load_arch(preset(file), {set, "compiler.tile_order=loop"});
    CHECK(fq::fingerprint(a) == fq::fingerprint(fq::load_arch(preset(file), {set})));
  }
  CHECK_THROWS_WITH(
      fq::parse_arch(std::string(kMinimal) + "compiler: {tile_order: beat}\n", "fixed.yaml"),
      Catch::Contains("fixed.yaml") && Catch::Contains("compiler.tile_order") && Catch::Contains("line 10"));
  CHECK_THROWS_WITH(fq::compiler::plan_gemm(beat, "g", 1, 32, 33, fq::HwFormat::kFineqR),
                    Catch::Contains("gemm 'g'") && Catch::Contains("compiler.tile_order: beat"));
}
