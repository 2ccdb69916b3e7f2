#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/quant/cluster_codec.h"
#include "model/quant/fineq_encoder.h"
#include "model/quant/i_quantizer.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <random>

namespace {

using fq::FineqPolicy;

uint8_t enc(float a, float b, float c, double s, FineqPolicy p = FineqPolicy::kRatio, double t = 4.0) {
  const std::array<float, 3> w{a, b, c};
  return fq::encode_cluster(w, s, p, t);
}

// The spec's rule written out as plainly as possible, for comparison with the encoder.
uint8_t reference(const std::array<float, 3>& w, double s, FineqPolicy policy, double t) {
  auto q = [&](float x, int lo, int hi) {
    double v = std::round(static_cast<double>(x) / s);
    return static_cast<int>(v < lo ? lo : (v > hi ? hi : v));
  };
  auto encode = [&](int mode, double& err) -> uint8_t {
    int qs[3] = {0, 0, 0};
    if (mode == 0) {
      for (int i = 0; i < 3; ++i) qs[i] = q(w[static_cast<size_t>(i)], -2, 1);
    } else {
      for (int i = 0; i < 3; ++i) qs[i] = i == mode - 1 ? 0 : q(w[static_cast<size_t>(i)], -4, 3);
    }
    err = 0;
    for (int i = 0; i < 3; ++i) {
      const double e = static_cast<double>(w[static_cast<size_t>(i)]) - s * qs[i];
      err += e * e;
    }
    if (mode == 0) return fq::pack_normal_cluster(qs[0], qs[1], qs[2]);
    const int z = mode - 1;
    const int u = z == 0 ? 1 : 0, v = z == 2 ? 1 : 2;
    return fq::pack_outlier_cluster(z, qs[u], qs[v]);
  };
  double err = 0;
  if (policy == FineqPolicy::kRatio) {
    double a[3], mx = 0, mn = 1e300;
    for (int i = 0; i < 3; ++i) {
      a[i] = std::fabs(static_cast<double>(w[static_cast<size_t>(i)]));
      mx = std::max(mx, a[i]);
      mn = std::min(mn, a[i]);
    }
    if (!(mx > t * mn)) return encode(0, err);
    for (int i = 0; i < 3; ++i) {
      if (a[i] == mn) return encode(i + 1, err);
    }
  }
  uint8_t best = encode(0, err);
  double best_err = err;
  for (int mode = 1; mode < 4; ++mode) {
    const uint8_t b = encode(mode, err);
    if (err < best_err) {
      best = b;
      best_err = err;
    }
  }
  return best;
}

}  // namespace

SCENARIO("the spec's worked examples encode to the listed bytes", "[quant][fineq]") {
  CHECK(enc(0.012f, -0.018f, 0.007f, 0.01) == 0x19);
  CHECK(enc(0.031f, -0.004f, 0.012f, 0.01) == 0x99);
  CHECK(enc(-0.052f, 0.009f, 0.001f, 0.01) == 0xE1);
  CHECK(enc(0.0f, 0.0f, 0.0f, 0.01) == 0x00);
  CHECK(enc(0.010f, 0.020f, -0.040f, 0.01) == 0x16);  // 0.04 is not > 4 * 0.01: normal
  // quantizers.md §10's tie example, (0.015, 0, 0) with s = 0.01 -> q = (2, 0, 0) = 0x90, holds in exact
  // decimal arithmetic only: the spec rounds (double)w / (double)s with w an FP32, and
  // 0.015f / 0.01 = 1.49999997 rounds to 1 (0x88). The same tie with exact binary values:
  CHECK(enc(0.015f, 0.0f, 0.0f, 0.01) == 0x88);
  CHECK(enc(0.75f, 0.0f, 0.0f, 0.5) == 0x90);  // 1.5 rounds away from zero; the lowest minimum is pruned
  WHEN("the mse policy sees (0.031, -0.004, 0.012)") {
    // normal (1, 0, 1): err 0.021^2 + 0.004^2 + 0.002^2 = 4.61e-4; prune 1 (3, _, 1): 0.001^2 + 0.004^2
    // + 0.002^2 = 2.1e-5; prune 0 (_, 0, 1): 9.81e-4; prune 2 (3, 0, _): 1.61e-4. Prune 1 wins.
    THEN("it prunes position 1") { CHECK(enc(0.031f, -0.004f, 0.012f, 0.01, FineqPolicy::kMse) == 0x99); }
  }
  WHEN("a cluster is exactly at the ratio threshold") {
    THEN("it stays normal; just above, it is an outlier cluster") {
      CHECK((enc(0.04f, 0.01f, 0.02f, 0.01, FineqPolicy::kRatio, 4.0) >> 6) == 0);
      CHECK((enc(0.04f, 0.01f, 0.02f, 0.01, FineqPolicy::kRatio, 3.99) >> 6) == 2);
    }
  }
}

SCENARIO("the encoder equals the plain reference on a million clusters", "[quant][fineq]") {
  std::mt19937_64 rng(7);
  std::student_t_distribution<float> heavy(3.0f);
  std::uniform_int_distribution<int> pick(0, 9);
  const double scales[] = {0.01, 0.5, 1.0 / 3.0, 0.125};
  for (int i = 0; i < 1000000; ++i) {
    const double s = scales[i % 4];
    std::array<float, 3> w{};
    for (auto& x : w) {
      switch (pick(rng)) {
        case 0: x = 0.0f; break;
        case 1: x = -0.0f; break;
        case 2: x = static_cast<float>(s * (std::floor(heavy(rng) * 4) + 0.5)); break;  // exact .5 ties
        default: x = static_cast<float>(heavy(rng) * s);
      }
    }
    for (const auto policy : {FineqPolicy::kRatio, FineqPolicy::kMse}) {
      const uint8_t got = fq::encode_cluster(w, s, policy, 4.0);
      const uint8_t want = reference(w, s, policy, 4.0);
      if (got != want) {
        FAIL("cluster (" << w[0] << ", " << w[1] << ", " << w[2] << ") s " << s << ": got " << int(got) << " want "
                         << int(want));
      }
    }
  }
  SUCCEED();
}

SCENARIO("rows are padded to whole clusters and scales come from the search", "[quant][fineq]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const int k : {1, 2, 4, 64, 172}) {
    for (const auto policy : {"ratio", "mse"}) {
      fq::Params opts("test");
      opts.set("policy", policy);
      const auto q = fq::make_quantizer("fineq", opts);
      std::vector<float> w(static_cast<size_t>(3 * k));
      for (auto& x : w) x = normal(rng);
      const auto m = q->encode(w, 3, k);
      INFO("K " << k << " policy " << policy);
      CHECK(m.cols_padded == 3 * ((k + 2) / 3));
      CHECK(m.row_bytes() == (k + 2) / 3);
      CHECK(m.codes.size() == static_cast<size_t>(3 * m.row_bytes()));
      const auto pol = std::string(policy) == "mse" ? FineqPolicy::kMse : FineqPolicy::kRatio;
      for (int r = 0; r < 3; ++r) {
        const auto row = std::span<const float>(w).subspan(static_cast<size_t>(r * k), static_cast<size_t>(k));
        // The bytes are the spec's rule applied with the stored FP16 scale.
        std::vector<uint8_t> again(static_cast<size_t>(m.row_bytes()));
        const double s = fq::fp16_to_float(m.scales[static_cast<size_t>(r)]);
        const double err = fq::encode_row(row, s, pol, 4.0, again);
        CHECK(std::equal(again.begin(), again.end(), m.codes.begin() + r * m.row_bytes()));
        // The search picked the best of the 11 candidates (brute force here).
        double absmax = 0;
        for (const float x : row) absmax = std::max(absmax, std::fabs(static_cast<double>(x)));
        for (int i = 0; i <= 10; ++i) {
          const double cand = fq::fp16_to_float(fq::fp16_from_float(static_cast<float>((100 - 5 * i) / 100.0 * absmax / 4.0)));
          std::vector<uint8_t> tmp(again.size());
          CHECK(fq::encode_row(row, cand, pol, 4.0, tmp) >= err * (1 - 1e-12));  // sums differ in order only
        }
        // Padded positions decode to 0.
        if (k % 3 != 0) {
          const auto last = fq::decode_cluster(m.codes[static_cast<size_t>((r + 1) * m.row_bytes() - 1)]);
          for (int p = k % 3; p < 3; ++p) CHECK(last[static_cast<size_t>(p)] == 0);
        }
      }
    }
  }
}

SCENARIO("special rows, options and bad weights", "[quant][fineq]") {
  const auto q = fq::make_quantizer("fineq", fq::Params("test"));
  GIVEN("a zero row") {
    const std::vector<float> w(10, 0.0f);
    const auto m = q->encode(w, 1, 10);
    CHECK(m.scales[0] == 0x3c00);
    for (const auto b : m.codes) CHECK(b == 0);
  }
  GIVEN("a NaN weight") {
    std::vector<float> w(12, 0.1f);
    w[7] = std::nanf("");
    CHECK_THROWS_WITH(q->encode(w, 2, 6), Catch::Contains("row 1") && Catch::Contains("column 1"));
    w[7] = INFINITY;
    CHECK_THROWS_WITH(q->encode(w, 2, 6), Catch::Contains("row 1"));
  }
  GIVEN("options") {
    CHECK(q->describe() == std::map<std::string, std::string>{{"policy", "ratio"}, {"threshold", "4"}, {"group", "0"}});
    fq::Params p("quantize --method fineq");
    p.set("policy", "best");
    CHECK_THROWS_WITH(fq::make_quantizer("fineq", p), Catch::Contains("policy"));
    fq::Params g("quantize --method fineq");
    g.set("group", "4");
    CHECK_THROWS_WITH(fq::make_quantizer("fineq", g), Catch::Contains("group"));
    fq::Params t("quantize --method fineq");
    t.set("thresold", "4");
    CHECK_THROWS_WITH(fq::make_quantizer("fineq", t), Catch::Contains("thresold"));
    // The ratio rule's threshold with policy mse would be accepted and ignored: refused.
    fq::Params mse_t("quantize --method fineq");
    mse_t.set("policy", "mse");
    mse_t.set("threshold", "2.5");
    CHECK_THROWS_WITH(fq::make_quantizer("fineq", mse_t),
                      Catch::Contains("'threshold'") && Catch::Contains("policy 'ratio' only"));
    CHECK_THROWS_WITH(fq::make_quantizer("fineq-gptq", mse_t), Catch::Contains("policy 'ratio' only"));
    fq::Params round_trip("test");
    fq::Params mse("test");
    mse.set("policy", "mse");
    mse.set("group", "30");
    const auto a = fq::make_quantizer("fineq", mse);
    CHECK(a->describe() == std::map<std::string, std::string>{{"policy", "mse"}, {"group", "30"}});
    for (const auto& [k, v] : a->describe()) round_trip.set(k, v);
    CHECK(fq::make_quantizer("fineq", round_trip)->describe() == a->describe());
    fq::Params ratio("test");
    ratio.set("threshold", "2.5");
    CHECK(fq::make_quantizer("fineq", ratio)->describe().at("threshold") == "2.5");
  }
  GIVEN("group scales") {
    fq::Params p("test");
    p.set("group", "6");
    std::vector<float> w(20);
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i) * 0.01f - 0.1f;
    const auto m = fq::make_quantizer("fineq", p)->encode(w, 1, 20);
    CHECK(m.scale_groups() == 4);  // Kp = 21: groups of 6, 6, 6, 3
    CHECK(m.scales.size() == 4);
  }
  GIVEN("1 and 2 worker threads") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> w(64 * 100);
    for (auto& x : w) x = normal(rng);
    setenv("FQ_THREADS", "1", 1);
    const auto one = q->encode(w, 64, 100);
    setenv("FQ_THREADS", "2", 1);
    const auto two = q->encode(w, 64, 100);
    unsetenv("FQ_THREADS");
    CHECK(one.codes == two.codes);
    CHECK(one.scales == two.scales);
  }
}
