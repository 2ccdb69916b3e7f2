// The registered PE models (model/arch/pe_model.h): registration, the keys each kind takes, and
// each kind's beat and pulse rules against a direct evaluation of what its PE computes.
#include "model/arch/arch_config.h"
#include "model/arch/pe_model.h"
#include "model/core/error.h"
#include "model/quant/cluster_codec.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::string preset(const char* name) { return (fq::test::source_dir() / "configs" / name).string(); }

std::string arch_text(const std::string& pe) {
  return "name: t\narray: {rows: 6, cols: 4}\npe: " + pe +
         "\ndataflow: ws\ntiming: default\nbuffers: {weight_bytes: 1024, act_bytes: 2048, out_bytes: 4096, "
         "scale_bytes: 256}\ndram: {bytes_per_cycle: 16, latency_cycles: 10}\nclock_mhz: 1000\n"
         "tech: {node_nm: 28, vdd_v: 0.9}\n";
}

// What a PE's register set does over one beat of W cycles, stepped as the cycle model does.
int64_t beat_result(const fq::PeModel& pe, int8_t q, int32_t a, uint32_t W, int& pulses) {
  const fq::CycleWeight w = pe.cycle_weight(q);
  int64_t psum = 0;
  pulses = 0;
  for (uint32_t p = 0; p < W; ++p) {
    if ((w.mask >> p) & 1) {
      psum += static_cast<int64_t>(a * w.mul) << (pe.shift_by_phase() ? p : 0);
      ++pulses;
    }
  }
  return psum;
}

}  // namespace

TEST_CASE("three PE kinds are registered and found by name", "[arch][pe]") {
  CHECK(fq::pe_model_names() == "temporal, mac, bitserial");
  for (const char* name : {"temporal", "mac", "bitserial"}) {
    const fq::PeModel* m = fq::find_pe_model(name);
    REQUIRE(m != nullptr);
    CHECK(m->name() == name);
  }
  CHECK(fq::find_pe_model("systolic") == nullptr);
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: systolic}"), "t"),
                    Catch::Contains("pe.kind") && Catch::Contains("temporal, mac, bitserial"));
  // RTL kind codes are distinct (rtl/fq_array.v KIND).
  CHECK(fq::find_pe_model("temporal")->rtl_kind() == 0);
  CHECK(fq::find_pe_model("mac")->rtl_kind() == 1);
  CHECK(fq::find_pe_model("bitserial")->rtl_kind() == 2);
}

SCENARIO("bitserial PEs take pe.format, and pe.window only for FineQ-R", "[arch][pe]") {
  const auto a = fq::parse_arch(arch_text("{kind: bitserial, format: fineq_r, window: tile}"), "t");
  CHECK(a.pe_kind == "bitserial");
  CHECK(fq::pe_model(a).weight_format(a) == fq::HwFormat::kFineqR);
  CHECK(fq::pe_model(a).uses_window(a));
  const auto i4 = fq::parse_arch(arch_text("{kind: bitserial, format: int4}"), "t");
  CHECK(fq::pe_model(i4).weight_format(i4) == fq::HwFormat::kInt4);
  CHECK_FALSE(fq::pe_model(i4).uses_window(i4));
  THEN("to_yaml round-trips both and the fingerprints differ") {
    for (const auto* x : {&a, &i4}) {
      const auto again = fq::parse_arch(fq::to_yaml(*x), "again");
      CHECK(fq::to_yaml(again) == fq::to_yaml(*x));
    }
    CHECK(fq::fingerprint(a) != fq::fingerprint(i4));
  }
  THEN("inapplicable or missing keys are errors naming the key") {
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: bitserial, format: int4, window: tile}"), "t"),
                      Catch::Contains("pe.window") && Catch::Contains("FineQ-R weights only"));
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: bitserial, format: fineq_r}"), "t"),
                      Catch::Contains("missing key 'pe.window'"));
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: bitserial, window: tile}"), "t"),
                      Catch::Contains("missing key 'pe.format'"));
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: bitserial, format: int8, weight_bits: 8}"), "t"),
                      Catch::Contains("pe.weight_bits"));
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: bitserial, format: bfp8}"), "t"), Catch::Contains("pe.format"));
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: temporal, window: tile, format: int8}"), "t"),
                      Catch::Contains("pe.format") && Catch::Contains("bitserial PEs only"));
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: mac, weight_bits: 8, format: int8}"), "t"),
                      Catch::Contains("pe.format"));
  }
  THEN("output stationary and SCALE-Sim timing stay mac-only") {
    CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: bitserial, format: int8}"), "t", {"dataflow=os"}),
                      Catch::Contains("needs mac PEs"));
  }
}

TEST_CASE("the bitserial preset differs from fineq.yaml only in the PE", "[arch][pe]") {
  auto bs = fq::load_arch(preset("bitserial.yaml"));
  auto fineq = fq::load_arch(preset("fineq.yaml"));
  CHECK(bs.pe_kind == "bitserial");
  CHECK(bs.pe_format == fq::HwFormat::kFineqR);
  bs.name = fineq.name;
  bs.pe_kind = fineq.pe_kind;
  bs.pe_format = fineq.pe_format;
  CHECK(fq::to_yaml(bs) == fq::to_yaml(fineq));
}

SCENARIO("every PE kind computes a * q in one beat, with the pulses its model counts", "[arch][pe]") {
  const auto arch_of = [](const std::string& pe) { return fq::parse_arch(arch_text(pe), "t"); };
  struct Kind {
    fq::ArchConfig arch;
    int lo, hi;  // weight range of the format
  };
  const std::vector<Kind> kinds = {
      {arch_of("{kind: temporal, window: fixed}"), -4, 3},
      {arch_of("{kind: mac, weight_bits: 8}"), -128, 127},
      {arch_of("{kind: mac, weight_bits: 2}"), -2, 1},
      {arch_of("{kind: bitserial, format: fineq_r, window: fixed}"), -4, 3},
      {arch_of("{kind: bitserial, format: int8}"), -128, 127},
      {arch_of("{kind: bitserial, format: int4}"), -8, 7},
      {arch_of("{kind: bitserial, format: int3}"), -4, 3},
  };
  for (const auto& k : kinds) {
    const fq::PeModel& pe = fq::pe_model(k.arch);
    const fq::TileStats none{.k = 1, .n = 1};
    const uint32_t W = pe.beat(k.arch, none);
    INFO(pe.describe(k.arch) << ", W = " << W);
    for (int q = k.lo; q <= k.hi; ++q) {
      for (int32_t a : {-128, -77, -1, 0, 1, 5, 127}) {
        int pulses = 0;
        CHECK(beat_result(pe, static_cast<int8_t>(q), a, W, pulses) == int64_t{a} * q);
        fq::TileStats s{.k = 1, .n = 1};
        pe.tally(k.arch, s, static_cast<int8_t>(q), false);
        const auto acts = pe.matmul_actions(k.arch, s, 1, W);
        // The RTL writes psum at the beat start (the load) and on every later pulse (psum_we);
        // the other PEs of the array, outside the 1 x 1 tile, only load.
        const fq::CycleWeight cw = pe.cycle_weight(static_cast<int8_t>(q));
        uint64_t writes = 0;
        for (uint32_t p = 0; p < W; ++p) writes += (p == 0 || ((cw.mask >> p) & 1)) ? 1 : 0;
        const uint64_t rc = static_cast<uint64_t>(k.arch.rows) * static_cast<uint64_t>(k.arch.cols);
        CHECK(acts.psum_writes == rc - 1 + writes);
        CHECK(pe.beat_actions(1, static_cast<uint64_t>(pulses), static_cast<uint64_t>(cw.mask & 1), W).psum_writes == writes);
        if (pe.work() == fq::PeModel::Work::kPulses) {
          CHECK(static_cast<uint64_t>(pulses) == s.pulses);
          CHECK(acts.pulses == s.pulses);
        } else {
          CHECK(pulses == 1);
          CHECK(acts.macs == 1);
        }
      }
    }
  }
}

SCENARIO("beat rules: temporal W = max |q|, bitserial W = the width of the tile's codes", "[arch][pe]") {
  const auto t = fq::parse_arch(arch_text("{kind: temporal, window: tile}"), "t");
  const auto b = fq::parse_arch(arch_text("{kind: bitserial, format: fineq_r, window: tile}"), "t");
  const auto bf = fq::parse_arch(arch_text("{kind: bitserial, format: fineq_r, window: fixed}"), "t");
  const auto b8 = fq::parse_arch(arch_text("{kind: bitserial, format: int8}"), "t");
  // Two columns of 4 weights (two code bytes each, the second cluster split at k = 4).
  const auto tile = [](uint8_t c0, uint8_t c1) { return std::vector<uint8_t>{c0, c1, c0, c1}; };
  const auto normal = tile(fq::pack_normal_cluster(1, -2, 0), fq::pack_normal_cluster(1, 1, 1));
  // The second cluster is an outlier cluster, but only its position 0 (q = 0, pruned) is in the tile.
  const auto split = tile(fq::pack_normal_cluster(1, 0, 0), fq::pack_outlier_cluster(0, 3, -4));
  const auto outlier = tile(fq::pack_outlier_cluster(2, -4, 1), fq::pack_normal_cluster(0, 0, 0));
  for (const auto* a : {&t, &b, &bf}) {
    const fq::PeModel& pe = fq::pe_model(*a);
    const auto stats = [&](const std::vector<uint8_t>& w) { return pe.tile_stats(*a, fq::HwFormat::kFineqR, w, 0, 2, 4, 2); };
    // The LUT paths agree with the weight-by-weight tally of the cycle model.
    for (const auto* w : {&normal, &split, &outlier}) {
      const auto fast = stats(*w);
      fq::TileStats slow{.k = 4, .n = 2};
      for (uint32_t j = 0; j < 2; ++j) {
        for (uint32_t i = 0; i < 4; ++i) {
          const uint8_t code = (*w)[j * 2 + i / 3];
          pe.tally(*a, slow, fq::decode_cluster(code)[i % 3], (code >> 6) != 0);
        }
      }
      CHECK(fast.basis == slow.basis);
      CHECK(fast.pulses == slow.pulses);
      CHECK(fast.first_pulses == slow.first_pulses);
    }
    if (a == &t) {
      CHECK(pe.beat(*a, stats(normal)) == 2);
      CHECK(pe.beat(*a, stats(outlier)) == 4);
      CHECK(stats(normal).pulses == 2 * (1 + 2 + 0 + 1));
      CHECK(stats(normal).first_pulses == 2 * 3);  // q != 0
    } else if (a == &b) {
      CHECK(pe.beat(*a, stats(normal)) == 2);
      CHECK(pe.beat(*a, stats(split)) == 3);  // a touched outlier cluster has 3-bit codes
      CHECK(pe.beat(*a, stats(outlier)) == 3);
      // popcount |q|: (1, 2, 0, 1) -> 1 + 1 + 0 + 1, per column.
      CHECK(stats(normal).pulses == 2 * 3);
      CHECK(stats(normal).first_pulses == 2 * 2);  // odd |q|: 1 and 1
    } else {
      CHECK(pe.beat(*a, stats(normal)) == 3);
    }
  }
  CHECK(fq::pe_model(b8).beat(b8, {}) == 8);
}

SCENARIO("pe.weight_sets: 1..8, weight stationary with default timing only; the default keeps fingerprints", "[arch][pe]") {
  const auto two = fq::parse_arch(arch_text("{kind: temporal, window: tile}"), "t");
  const auto also_two = fq::parse_arch(arch_text("{kind: temporal, window: tile, weight_sets: 2}"), "t");
  const auto four = fq::parse_arch(arch_text("{kind: temporal, window: tile, weight_sets: 4}"), "t");
  CHECK(two.weight_sets == 2);
  CHECK(four.weight_sets == 4);
  CHECK(fq::fingerprint(also_two) == fq::fingerprint(two));
  CHECK(fq::fingerprint(four) != fq::fingerprint(two));
  CHECK(fq::to_yaml(two).find("weight_sets") == std::string::npos);
  CHECK(fq::parse_arch(fq::to_yaml(four), "again").weight_sets == 4);
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: temporal, window: tile, weight_sets: 9}"), "t"),
                    Catch::Contains("pe.weight_sets"));
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: mac, weight_bits: 8, weight_sets: 3}"), "t", {"dataflow=os"}),
                    Catch::Contains("pe.weight_sets") && Catch::Contains("weight-stationary"));
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: mac, weight_bits: 8, weight_sets: 3}"), "t", {"timing=scalesim"}),
                    Catch::Contains("pe.weight_sets"));
}

// 6 rows: FineQ-R sums reach 6 x 128 x 4 = 3072 (13 bits with the sign), INT8 6 x 128 x 128 =
// 98,304 (18), INT4 6 x 128 x 8 = 6144 (14), INT2 6 x 128 x 2 = 1536 (12). One row of INT8 MACs
// sums 16,384 (16 bits), but the PE sign-extends its 16-bit product into the sum: 17.
SCENARIO("pe.acc_bits: at least min_acc_bits, weight stationary only; the default keeps fingerprints", "[arch][pe]") {
  const auto temporal = fq::parse_arch(arch_text("{kind: temporal, window: tile}"), "t");
  CHECK(temporal.acc_bits == 32);
  CHECK(fq::max_column_sum(temporal) == 3072);
  CHECK(fq::min_acc_bits(temporal) == 13);
  CHECK(fq::min_acc_bits(fq::parse_arch(arch_text("{kind: mac, weight_bits: 8}"), "t")) == 18);
  CHECK(fq::min_acc_bits(fq::parse_arch(arch_text("{kind: mac, weight_bits: 4}"), "t")) == 14);
  CHECK(fq::min_acc_bits(fq::parse_arch(arch_text("{kind: mac, weight_bits: 2}"), "t")) == 12);
  CHECK(fq::min_acc_bits(fq::parse_arch(arch_text("{kind: bitserial, format: int2}"), "t")) == 12);
  CHECK(fq::min_acc_bits(fq::parse_arch(arch_text("{kind: bitserial, format: int8}"), "t")) == 18);
  CHECK(fq::min_acc_bits(fq::parse_arch(arch_text("{kind: mac, weight_bits: 8}"), "t", {"array.rows=1"})) == 17);
  const auto narrow = fq::parse_arch(arch_text("{kind: temporal, window: tile, acc_bits: 13}"), "t");
  CHECK(narrow.acc_bits == 13);
  CHECK(fq::fingerprint(fq::parse_arch(arch_text("{kind: temporal, window: tile, acc_bits: 32}"), "t")) ==
        fq::fingerprint(temporal));
  CHECK(fq::fingerprint(narrow) != fq::fingerprint(temporal));
  CHECK(fq::to_yaml(temporal).find("acc_bits") == std::string::npos);
  CHECK(fq::parse_arch(fq::to_yaml(narrow), "again").acc_bits == 13);
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: temporal, window: tile, acc_bits: 12}"), "t"),
                    Catch::Contains("pe.acc_bits") && Catch::Contains("3072") && Catch::Contains("13 bits"));
  // More rows need more bits: the limit follows array.rows.
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: temporal, window: tile, acc_bits: 13}"), "t", {"array.rows=9"}),
                    Catch::Contains("pe.acc_bits"));
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: mac, weight_bits: 8, acc_bits: 24}"), "t", {"dataflow=os"}),
                    Catch::Contains("pe.acc_bits") && Catch::Contains("weight-stationary"));
  CHECK_THROWS_WITH(fq::parse_arch(arch_text("{kind: temporal, window: tile, acc_bits: 33}"), "t"),
                    Catch::Contains("pe.acc_bits"));
}
