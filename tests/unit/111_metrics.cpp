#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/quant/metrics.h"
#include "model/quant/rtn.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace {

// An EncodedMatrix of the given shape whose codes are all zero and scales all 1.0.
fq::EncodedMatrix shaped(fq::HwFormat format, int rows, int cols, int group_size = 0) {
  fq::EncodedMatrix m;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  m.cols_padded = format == fq::HwFormat::kFineqR ? 3 * ((cols + 2) / 3) : cols;
  m.group_size = group_size;
  m.codes.assign(static_cast<size_t>(rows) * static_cast<size_t>(m.row_bytes()), 0);
  m.scales.assign(static_cast<size_t>(rows) * static_cast<size_t>(m.scale_groups()), 0x3c00);
  return m;
}

// One INT4 row holding q with an FP16 scale.
fq::EncodedMatrix int4_row(const std::vector<int8_t>& q, uint16_t scale_bits) {
  auto m = shaped(fq::HwFormat::kInt4, 1, static_cast<int>(q.size()));
  fq::pack_int_row(q, 4, m.codes);
  m.scales[0] = scale_bits;
  return m;
}

}  // namespace

SCENARIO("T11: effective bits per weight include padding and FP16 scales", "[quant][metrics]") {
  GIVEN("FineQ-R with K = 4096 (Kp = 4098, one FP16 scale per row)") {
    const auto m = shaped(fq::HwFormat::kFineqR, 3, 4096);
    THEN("(8 * 4098 / 3 + 16) / 4096 = 2.6719") {
      REQUIRE(m.row_bytes() == 1366);
      REQUIRE(fq::bits_per_weight(m) == (1366.0 * 8.0 + 16.0) / 4096.0);
      REQUIRE(fq::bits_per_weight(m) == Approx(2.6719).margin(5e-5));
      REQUIRE(32.0 / fq::bits_per_weight(m) == Approx(11.98).margin(5e-3));
    }
  }
  GIVEN("INT4 per channel with K = 4096") {
    const auto m = shaped(fq::HwFormat::kInt4, 2, 4096);
    THEN("4 + 16 / 4096 = 4.0039") {
      REQUIRE(fq::bits_per_weight(m) == 4.0 + 16.0 / 4096.0);
      REQUIRE(fq::bits_per_weight(m) == Approx(4.0039).margin(5e-5));
    }
  }
  GIVEN("INT4 with groups of 128 along K = 4096") {
    const auto m = shaped(fq::HwFormat::kInt4, 2, 4096, 128);
    THEN("4 + 16 / 128 = 4.125") { REQUIRE(fq::bits_per_weight(m) == 4.125); }
  }
  GIVEN("INT3 with an odd K: the row is padded to whole bytes") {
    const auto m = shaped(fq::HwFormat::kInt3, 1, 5);  // 15 bits -> 2 bytes
    THEN("(16 + 16) / 5 = 6.4") { REQUIRE(fq::bits_per_weight(m) == 32.0 / 5.0); }
  }
}

SCENARIO("T11: SQNR of T1's x", "[quant][metrics]") {
  const std::vector<float> x{0.5f, -2.5f, 3.5f, 7.0f};
  GIVEN("c = 1.0, rne: scale 1 is exact in FP16, x̂ = [0, -2, 4, 7]") {
    const auto m = int4_row({0, -2, 4, 7}, 0x3c00);
    const auto e = fq::error_metrics(x, m);
    THEN("10 log10(67.75 / 0.75) = 19.56 dB") {
      REQUIRE(e.sqnr_db == Approx(10.0 * std::log10(67.75 / 0.75)).epsilon(1e-14));
      REQUIRE(e.sqnr_db == Approx(19.56).margin(5e-3));
      REQUIRE(e.min_row_sqnr_db == e.sqnr_db);
      REQUIRE(e.mse == 0.75 / 4.0);
      REQUIRE(e.max_abs_err == 0.5);
      REQUIRE(e.bits_per_weight == (2.0 * 8.0 + 16.0) / 4.0);
    }
  }
  GIVEN("c = 0.9 in pure double: x̂ = 0.9 * [1, -3, 4, 7]") {
    std::vector<int8_t> q(4);
    const double s = fq::rtn_scale(fq::abs_max(x), 4, 0.9);
    fq::rtn_codes(x, s, 4, fq::Rounding::kHalfEven, q);
    double signal = 0.0;
    double error = 0.0;
    for (size_t i = 0; i < 4; ++i) {
      signal += static_cast<double>(x[i]) * x[i];
      error += std::pow(s * q[i] - x[i], 2.0);
    }
    THEN("10 log10(67.75 / 0.70) = 19.86 dB") {
      REQUIRE(signal == 67.75);
      REQUIRE(error == Approx(0.70).epsilon(1e-12));
      REQUIRE(fq::sqnr_db(signal, error) == Approx(19.86).margin(5e-3));
    }
    AND_THEN("with the scale stored in FP16 the SQNR moves only slightly") {
      const auto m = int4_row(q, fq::fp16_from_float(0.9f));
      const auto e = fq::error_metrics(x, m);
      REQUIRE(e.sqnr_db == Approx(19.86).margin(0.02));
      REQUIRE(e.sqnr_db != Approx(19.86).margin(1e-6));
    }
  }
}

SCENARIO("SQNR edge cases and per-row minimum", "[quant][metrics]") {
  GIVEN("an exact reconstruction") {
    const std::vector<float> x{1.0f, -2.0f, 0.0f, 7.0f};
    const auto e = fq::error_metrics(x, int4_row({1, -2, 0, 7}, 0x3c00));
    THEN("SQNR is +inf and the errors are 0") {
      REQUIRE(std::isinf(e.sqnr_db));
      REQUIRE(e.sqnr_db > 0.0);
      REQUIRE(std::isinf(e.min_row_sqnr_db));
      REQUIRE(e.mse == 0.0);
      REQUIRE(e.max_abs_err == 0.0);
    }
  }
  GIVEN("direct values") {
    REQUIRE(fq::sqnr_db(0.0, 0.0) == std::numeric_limits<double>::infinity());
    REQUIRE(fq::sqnr_db(0.0, 1.0) == -std::numeric_limits<double>::infinity());
    REQUIRE(fq::sqnr_db(100.0, 1.0) == 20.0);
  }
  GIVEN("two rows, one exact and one with error") {
    auto m = shaped(fq::HwFormat::kInt8, 2, 2);
    const std::vector<int8_t> r0{3, -4};
    const std::vector<int8_t> r1{1, 1};
    fq::pack_int_row(r0, 8, std::span<uint8_t>(m.codes).subspan(0, 2));
    fq::pack_int_row(r1, 8, std::span<uint8_t>(m.codes).subspan(2, 2));
    const std::vector<float> w{3.0f, -4.0f, 1.0f, 2.0f};
    const auto e = fq::error_metrics(w, m);
    THEN("the tensor SQNR pools both rows, the minimum is the worse row") {
      REQUIRE(e.sqnr_db == Approx(10.0 * std::log10(30.0 / 1.0)).epsilon(1e-14));
      REQUIRE(e.min_row_sqnr_db == Approx(10.0 * std::log10(5.0 / 1.0)).epsilon(1e-14));
      REQUIRE(e.mse == 0.25);
      REQUIRE(e.max_abs_err == 1.0);
    }
  }
  GIVEN("bad input") {
    const auto m = int4_row({1, 2}, 0x3c00);
    REQUIRE_THROWS_AS(fq::error_metrics(std::vector<float>{1.0f}, m), fq::Error);
    REQUIRE_THROWS_AS(fq::error_metrics(std::vector<float>{1.0f, std::nanf("")}, m), fq::Error);
  }
}
