#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/golden/act_quant.h"
#include "model/golden/int_gemm.h"
#include "model/quant/cluster_codec.h"

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

struct Rng {
  uint64_t state;
  int uniform(int lo, int hi) {  // [lo, hi]
    return lo + static_cast<int>(fq::splitmix64_next(state) % static_cast<uint64_t>(hi - lo + 1));
  }
};

// An EncodedMatrix in an INT format holding the given [rows, cols] codes, scales 1.0.
fq::EncodedMatrix int_matrix(fq::HwFormat format, int rows, int cols, const std::vector<int8_t>& q) {
  fq::EncodedMatrix m;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  m.cols_padded = cols;
  const auto stride = static_cast<size_t>(m.row_bytes());
  m.codes.assign(static_cast<size_t>(rows) * stride, 0);
  m.scales.assign(static_cast<size_t>(rows), 0x3c00);
  for (int n = 0; n < rows; ++n) {
    fq::pack_int_row(std::span<const int8_t>(q).subspan(static_cast<size_t>(n * cols), static_cast<size_t>(cols)),
                     fq::format_int_bits(format),
                     std::span<uint8_t>(m.codes).subspan(static_cast<size_t>(n) * stride, stride));
  }
  return m;
}

fq::QuantizedActs acts(int rows, int cols, std::vector<int8_t> q) {
  return fq::QuantizedActs{rows, cols, std::move(q), std::vector<float>(static_cast<size_t>(rows), 1.0f)};
}

// Double-precision reference: sum_k a[m][k] * w[n][k] (exact: every sum is far below 2^53).
std::vector<double> reference(const std::vector<int8_t>& a, const std::vector<int8_t>& w, int m_len, int n_len,
                              int k_len) {
  std::vector<double> y(static_cast<size_t>(m_len * n_len), 0.0);
  for (int m = 0; m < m_len; ++m) {
    for (int n = 0; n < n_len; ++n) {
      double s = 0.0;
      for (int k = 0; k < k_len; ++k) {
        s += static_cast<double>(a[static_cast<size_t>(m * k_len + k)]) * w[static_cast<size_t>(n * k_len + k)];
      }
      y[static_cast<size_t>(m * n_len + n)] = s;
    }
  }
  return y;
}

}  // namespace

SCENARIO("int_gemm on a hand example", "[golden][gemm]") {
  GIVEN("A = [[1, -2, 3], [127, -127, 0]] and INT4 W = [[1, 2, 3], [-8, 7, 0]]") {
    const auto a = acts(2, 3, {1, -2, 3, 127, -127, 0});
    const auto w = int_matrix(fq::HwFormat::kInt4, 2, 3, {1, 2, 3, -8, 7, 0});
    THEN("acc = [[6, -22], [-127, -1905]]") {
      REQUIRE(fq::int_gemm(a, w) == std::vector<int32_t>{6, -22, -127, -1905});
    }
  }
  GIVEN("FineQ-R weights with K = 4 (one padded cluster)") {
    // Row 0: clusters (1, -2, 1) normal and (3, pad, pad) outlier prune 1 -> (3, 0, 0 pad).
    // Row 1: (-4, 1, 0) outlier prune 2 and (-2, pad 1, pad -1): padded codes must not count.
    fq::EncodedMatrix w;
    w.format = fq::HwFormat::kFineqR;
    w.rows = 2;
    w.cols = 4;
    w.cols_padded = 6;
    w.codes = {fq::pack_normal_cluster(1, -2, 1), fq::pack_outlier_cluster(1, 3, 0),
               fq::pack_outlier_cluster(2, -4, 1), fq::pack_normal_cluster(-2, 1, -1)};
    w.scales = {0x211f, 0x3c00};
    const auto a = acts(1, 4, {10, 20, 30, 40});
    THEN("acc = [10 - 40 + 30 + 120, -40 + 20 - 80]") {
      REQUIRE(fq::int_gemm(a, w) == std::vector<int32_t>{120, -100});
    }
  }
}

SCENARIO("int_gemm equals a double-precision reference on random shapes", "[golden][gemm]") {
  Rng rng{77};
  const std::vector<std::array<int, 3>> shapes{{1, 1, 1},  {1, 1, 5},   {3, 4, 1},   {2, 3, 7},  {5, 17, 8},
                                               {4, 33, 64}, {7, 18, 100}, {1, 40, 172}, {9, 5, 13}, {16, 20, 65}};
  for (const auto format : {fq::HwFormat::kInt8, fq::HwFormat::kInt4, fq::HwFormat::kInt3, fq::HwFormat::kInt2,
                            fq::HwFormat::kFineqR}) {
    for (const auto& [m_len, n_len, k_len] : shapes) {
      INFO("format " << fq::format_name(format) << " M " << m_len << " N " << n_len << " K " << k_len);
      std::vector<int8_t> aq(static_cast<size_t>(m_len * k_len));
      for (auto& v : aq) v = static_cast<int8_t>(rng.uniform(-127, 127));
      aq[0] = -127;
      fq::EncodedMatrix w;
      std::vector<int8_t> wq(static_cast<size_t>(n_len * k_len));
      if (format == fq::HwFormat::kFineqR) {
        w.format = format;
        w.rows = n_len;
        w.cols = k_len;
        w.cols_padded = 3 * ((k_len + 2) / 3);
        w.codes.resize(static_cast<size_t>(n_len * w.row_bytes()));
        for (auto& b : w.codes) b = static_cast<uint8_t>(rng.uniform(0, 255));
        w.scales.assign(static_cast<size_t>(n_len), 0x3c00);
        for (int n = 0; n < n_len; ++n) {
          for (int k = 0; k < k_len; ++k) {
            const auto cluster = fq::decode_cluster(w.codes[static_cast<size_t>(n * w.row_bytes() + k / 3)]);
            wq[static_cast<size_t>(n * k_len + k)] = cluster[static_cast<size_t>(k % 3)];
          }
        }
      } else {
        const int bits = fq::format_int_bits(format);
        for (auto& v : wq) v = static_cast<int8_t>(rng.uniform(-(1 << (bits - 1)), (1 << (bits - 1)) - 1));
        wq[0] = static_cast<int8_t>(-(1 << (bits - 1)));
        w = int_matrix(format, n_len, k_len, wq);
      }
      const auto acc = fq::int_gemm(acts(m_len, k_len, aq), w);
      const auto ref = reference(aq, wq, m_len, n_len, k_len);
      REQUIRE(acc.size() == ref.size());
      for (size_t i = 0; i < acc.size(); ++i) REQUIRE(static_cast<double>(acc[i]) == ref[i]);
    }
  }
}

SCENARIO("int_gemm reaches the accumulator bound exactly and rejects K beyond it", "[golden][gemm]") {
  GIVEN("the bound formula") {
    CHECK(fq::weight_absmax(fq::HwFormat::kFineqR) == 4);
    CHECK(fq::weight_absmax(fq::HwFormat::kInt8) == 128);
    CHECK(fq::weight_absmax(fq::HwFormat::kInt4) == 8);
    CHECK(fq::weight_absmax(fq::HwFormat::kInt3) == 4);
    CHECK(fq::weight_absmax(fq::HwFormat::kInt2) == 2);
    const auto ok = fq::accumulator_bound(132104, 127, 128);
    CHECK(ok.bound == 2147482624);
    CHECK(ok.fits_int32);
    const auto bad = fq::accumulator_bound(132105, 127, 128);
    CHECK(bad.bound == 2147498880);
    CHECK_FALSE(bad.fits_int32);
    CHECK(fq::accumulator_bound(4096, 127, 4).bound == 4096 * 508);
    CHECK_THROWS_AS(fq::accumulator_bound(-1, 127, 4), fq::Error);
  }
  GIVEN("INT8 weights at the largest K that fits, every product -127 * -128") {
    const int k = 132104;
    const auto a = acts(1, k, std::vector<int8_t>(static_cast<size_t>(k), -127));
    const auto w = int_matrix(fq::HwFormat::kInt8, 1, k, std::vector<int8_t>(static_cast<size_t>(k), -128));
    THEN("acc = 2147482624, the bound itself") { REQUIRE(fq::int_gemm(a, w) == std::vector<int32_t>{2147482624}); }
  }
  GIVEN("one more column") {
    const int k = 132105;
    const auto a = acts(1, k, std::vector<int8_t>(static_cast<size_t>(k), 1));
    const auto w = int_matrix(fq::HwFormat::kInt8, 1, k, std::vector<int8_t>(static_cast<size_t>(k), 1));
    THEN("int_gemm refuses, naming K and the bound") {
      try {
        fq::int_gemm(a, w);
        FAIL("no overflow error");
      } catch (const fq::Error& e) {
        const std::string msg = e.what();
        REQUIRE(msg.find("132105") != std::string::npos);
        REQUIRE(msg.find("2147498880") != std::string::npos);
      }
    }
  }
}

SCENARIO("int_gemm checks its operands", "[golden][gemm]") {
  const auto w = int_matrix(fq::HwFormat::kInt4, 2, 3, {1, 2, 3, 4, 5, 6});
  GIVEN("K mismatch") {
    try {
      fq::int_gemm(acts(1, 4, {1, 2, 3, 4}), w);
      FAIL("no shape error");
    } catch (const fq::Error& e) {
      const std::string msg = e.what();
      REQUIRE(msg.find("K = 4") != std::string::npos);
      REQUIRE(msg.find("K = 3") != std::string::npos);
    }
  }
  GIVEN("an activation code of -128 or a short code vector") {
    REQUIRE_THROWS_AS(fq::int_gemm(acts(1, 3, {1, -128, 3}), w), fq::Error);
    REQUIRE_THROWS_AS(fq::int_gemm(acts(1, 3, {1, 2}), w), fq::Error);
  }
  GIVEN("weights with missing code bytes") {
    auto broken = w;
    broken.codes.pop_back();
    REQUIRE_THROWS_AS(fq::int_gemm(acts(1, 3, {1, 2, 3}), broken), fq::Error);
  }
}

SCENARIO("dequant multiplies (float)acc * s_w[n] * s_a[m] in that order", "[golden][gemm]") {
  GIVEN("acc chosen so that the three float orders give three different answers") {
    const auto w = int_matrix(fq::HwFormat::kInt4, 2, 1, {1, 1});
    fq::EncodedMatrix ws = w;
    ws.scales = {0x211f, 0x3c00};  // 0.01000213623046875, 1.0
    fq::QuantizedActs a = acts(2, 1, {1, 1});
    a.scales = {0.1f, 0.7f};
    const std::vector<int32_t> acc{1000003, 16777217, -98765, 7};
    const auto y = fq::dequant(acc, a, ws);
    const float sw = fq::fp16_to_float(0x211f);
    THEN("the result follows the spec's order") {
      const float expected = (static_cast<float>(1000003) * sw) * 0.1f;
      REQUIRE(y[0] == expected);
      REQUIRE(y[0] == 1000.2166137695312f);
      REQUIRE(y[0] != static_cast<float>(1000003) * (sw * 0.1f));
      REQUIRE(y[0] != (static_cast<float>(1000003) * 0.1f) * sw);
      REQUIRE(y[1] == static_cast<float>(16777216) * 0.1f);  // acc rounds to float first; s_w = 1
      REQUIRE(y[2] == (static_cast<float>(-98765) * sw) * 0.7f);
      REQUIRE(y[3] == 7.0f * 0.7f);
    }
  }
  GIVEN("group scales or a wrong acc size") {
    auto wg = int_matrix(fq::HwFormat::kInt4, 1, 4, {1, 2, 3, 4});
    const auto a = acts(1, 4, {1, 1, 1, 1});
    REQUIRE_THROWS_AS(fq::dequant({1, 2}, a, wg), fq::Error);
    wg.group_size = 2;
    wg.scales = {0x3c00, 0x3c00};
    REQUIRE_THROWS_AS(fq::dequant({10}, a, wg), fq::Error);
    REQUIRE(fq::int_gemm(a, wg) == std::vector<int32_t>{10});  // int_gemm works for any format
  }
}

SCENARIO("golden path end to end: quantized acts times weights, dequantised", "[golden][gemm]") {
  const int m_len = 3;
  const int k_len = 64;
  const auto x = fq::synthetic_activations(m_len, k_len, 99);
  const auto a = fq::quantize_activations(x, m_len, k_len);
  Rng rng{5};
  std::vector<int8_t> wq(static_cast<size_t>(2 * k_len));
  for (auto& v : wq) v = static_cast<int8_t>(rng.uniform(-8, 7));
  auto w = int_matrix(fq::HwFormat::kInt4, 2, k_len, wq);
  w.scales = {fq::fp16_from_float(0.02f), fq::fp16_from_float(0.003f)};
  const auto acc = fq::int_gemm(a, w);
  const auto y = fq::dequant(acc, a, w);
  THEN("y approximates x · Ŵᵀ within the activation rounding error") {
    for (int m = 0; m < m_len; ++m) {
      for (int n = 0; n < 2; ++n) {
        const double sw = fq::fp16_to_float(w.scales[static_cast<size_t>(n)]);
        double exact = 0.0;
        double bound = 0.0;
        for (int k = 0; k < k_len; ++k) {
          const double wk = sw * wq[static_cast<size_t>(n * k_len + k)];
          exact += x[static_cast<size_t>(m * k_len + k)] * wk;
          bound += 0.5 * a.scales[static_cast<size_t>(m)] * std::fabs(wk);
        }
        REQUIRE(std::fabs(y[static_cast<size_t>(m * 2 + n)] - exact) <= bound * 1.001 + 1e-4);
      }
    }
  }
}
