#include "model/core/error.h"
#include "model/golden/act_quant.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

SCENARIO("INT8 per-token activation quantization (spec §4)", "[golden][act]") {
  GIVEN("a row with exact ties (absmax 127, so s_a = 1)") {
    const std::vector<float> x{127.0f, 0.5f, -0.5f, 2.5f, -1.5f, -127.0f};
    const auto a = fq::quantize_activations(x, 1, 6);
    THEN("ties round away from zero") {
      REQUIRE(a.rows == 1);
      REQUIRE(a.cols == 6);
      REQUIRE(a.scales == std::vector<float>{1.0f});
      REQUIRE(a.q == std::vector<int8_t>{127, 1, -1, 3, -2, -127});
    }
  }
  GIVEN("a row with absmax 1.27") {
    const std::vector<float> x{0.5f, -1.27f, 0.0f, 1.27f, 0.006f, -0.004f};
    const auto a = fq::quantize_activations(x, 1, 6);
    THEN("s_a = float(1.27 / 127) and q uses the stored float scale") {
      const float s = static_cast<float>(static_cast<double>(1.27f) / 127.0);
      REQUIRE(a.scales[0] == s);
      REQUIRE(a.q == std::vector<int8_t>{50, -127, 0, 127, 1, 0});
    }
  }
  GIVEN("an all-zero row between two others") {
    const std::vector<float> x{1.0f, -2.0f, 0.0f, 0.0f, -0.0f, 3.0f};
    const auto a = fq::quantize_activations(x, 3, 2);
    THEN("it gets scale 1.0 and zero codes") {
      REQUIRE(a.scales[1] == 1.0f);
      REQUIRE(a.q[2] == 0);
      REQUIRE(a.q[3] == 0);
      REQUIRE(a.scales[0] == static_cast<float>(2.0 / 127.0));
      REQUIRE(a.q[0] == 64);  // 1 / float(2/127) = 63.5000002 -> 64
      REQUIRE(a.q[1] == -127);
      REQUIRE(a.scales[2] == static_cast<float>(3.0 / 127.0));
      REQUIRE(a.q[4] == 0);
      REQUIRE(a.q[5] == 127);
    }
  }
  GIVEN("seeded synthetic activations") {
    const auto x = fq::synthetic_activations(16, 100, 5);
    const auto a = fq::quantize_activations(x, 16, 100);
    THEN("every code is in [-127, 127], each row reaches ±127, and s_a * q is within s_a / 2") {
      for (int m = 0; m < 16; ++m) {
        int row_max = 0;
        const double s = a.scales[static_cast<size_t>(m)];
        for (int k = 0; k < 100; ++k) {
          const size_t i = static_cast<size_t>(m * 100 + k);
          REQUIRE(a.q[i] >= -127);
          row_max = std::max(row_max, std::abs(static_cast<int>(a.q[i])));
          REQUIRE(std::fabs(s * a.q[i] - x[i]) <= 0.5 * s * (1.0 + 1e-6));
        }
        REQUIRE(row_max == 127);
      }
      REQUIRE_NOTHROW(fq::validate(a, "acts"));
    }
  }
  GIVEN("bad input") {
    std::vector<float> x(6, 1.0f);
    x[4] = std::numeric_limits<float>::infinity();
    try {
      fq::quantize_activations(x, 2, 3);
      FAIL("no error for Inf");
    } catch (const fq::Error& e) {
      REQUIRE(std::string(e.what()).find("row 1, column 1") != std::string::npos);
    }
    x[4] = std::nanf("");
    REQUIRE_THROWS_AS(fq::quantize_activations(x, 2, 3), fq::Error);
    REQUIRE_THROWS_AS(fq::quantize_activations(std::vector<float>(5, 1.0f), 2, 3), fq::Error);
    REQUIRE_THROWS_AS(fq::quantize_activations(std::vector<float>{}, 0, 3), fq::Error);
  }
  GIVEN("a hand-made QuantizedActs with -128") {
    fq::QuantizedActs a{1, 2, {5, -128}, {1.0f}};
    REQUIRE_THROWS_AS(fq::validate(a, "acts"), fq::Error);
    a.q[1] = -127;
    REQUIRE_NOTHROW(fq::validate(a, "acts"));
    a.scales[0] = 0.0f;
    REQUIRE_THROWS_AS(fq::validate(a, "acts"), fq::Error);
  }
}

SCENARIO("Synthetic activations are seeded and platform independent", "[golden][act]") {
  GIVEN("splitmix64 from state 0") {
    uint64_t s = 0;
    THEN("it matches the reference outputs") {
      REQUIRE(fq::splitmix64_next(s) == 0xe220a8397b1dcdafull);
      REQUIRE(fq::splitmix64_next(s) == 0x6e789e6aa1b965f4ull);
      REQUIRE(fq::splitmix64_next(s) == 0x06c45d188009454full);
    }
  }
  GIVEN("two calls with one seed and one with another") {
    const auto a = fq::synthetic_activations(8, 64, 11);
    const auto b = fq::synthetic_activations(8, 64, 11);
    const auto c = fq::synthetic_activations(8, 64, 12);
    THEN("the same seed gives identical values, another seed different ones") {
      REQUIRE(a.size() == 8 * 64);
      REQUIRE(a == b);
      REQUIRE(a != c);
    }
  }
  GIVEN("a large sample") {
    const int rows = 64;
    const int cols = 256;
    const auto x = fq::synthetic_activations(rows, cols, 2024);
    // Normalise each row by its gain: the median |x| of a unit normal is 0.674, and the row gains
    // are 1/2, 1, 2; outlier channels are 32x.
    std::vector<double> channel_rms(static_cast<size_t>(cols), 0.0);
    for (int m = 0; m < rows; ++m) {
      for (int k = 0; k < cols; ++k) {
        const double v = x[static_cast<size_t>(m * cols + k)];
        REQUIRE(std::isfinite(v));
        channel_rms[static_cast<size_t>(k)] += v * v / rows;
      }
    }
    std::vector<double> sorted = channel_rms;
    std::sort(sorted.begin(), sorted.end());
    THEN("exactly cols / 16 channels are outliers, far above the rest") {
      const size_t n_out = static_cast<size_t>(cols / 16);
      const double top_normal = std::sqrt(sorted[sorted.size() - n_out - 1]);
      const double low_outlier = std::sqrt(sorted[sorted.size() - n_out]);
      REQUIRE(top_normal < 3.0);
      REQUIRE(low_outlier > 10.0 * top_normal);
      // Typical channels: E[x^2] = E[gain^2] = (1/4 + 1 + 4) / 3 = 1.75.
      const double median_ms = sorted[sorted.size() / 2];
      REQUIRE(median_ms == Approx(1.75).margin(0.6));
    }
  }
}

namespace {

// The generator as the header defines it, one draw after another: the outlier shuffle, then per
// row a gain draw and 6 draws (12 uniform 32-bit halves) per value.
std::vector<float> serial_synthetic(int rows, int cols, uint64_t seed) {
  uint64_t state = seed;
  const auto n = static_cast<size_t>(cols);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  for (size_t i = 0; i < n / 16; ++i) std::swap(order[i], order[i + fq::splitmix64_next(state) % (n - i)]);
  std::vector<double> gain(n, 1.0);
  for (size_t i = 0; i < n / 16; ++i) gain[order[i]] = 32.0;
  std::vector<float> x;
  for (int m = 0; m < rows; ++m) {
    const double row_gain = std::ldexp(1.0, static_cast<int>(fq::splitmix64_next(state) % 3) - 1);
    for (size_t k = 0; k < n; ++k) {
      int64_t sum = 0;
      for (int d = 0; d < 6; ++d) {
        const uint64_t r = fq::splitmix64_next(state);
        sum += static_cast<int64_t>(r >> 32) + static_cast<int64_t>(r & 0xffffffffu);
      }
      x.push_back(
          static_cast<float>(std::ldexp(static_cast<double>(sum - (int64_t{6} << 32)), -32) * row_gain * gain[k]));
    }
  }
  return x;
}

// Index of the first element where a and b differ, or -1 (also for a length difference, the shorter
// length): a failure names one value instead of printing a million.
template <typename T>
int64_t first_difference(const std::vector<T>& a, const std::vector<T>& b) {
  const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return ia == a.end() && ib == b.end() ? -1 : ia - a.begin();
}

}  // namespace

SCENARIO("The row-parallel, vectorised generator draws the serial sequence", "[golden][act]") {
  // No THEN inside the loop: Catch runs a section once per test run, so only the first shape would
  // be checked. 300 x 4000 = 1.2 M values: above the 2^20 at which rows go to the worker threads.
  GIVEN("small shapes (one thread) and a large one (rows over threads)") {
    for (const auto& [rows, cols, seed] :
         {std::tuple{1, 1, 3ull}, std::tuple{5, 37, 9ull}, std::tuple{300, 4000, 77ull}}) {
      CAPTURE(rows, cols, seed);
      const auto ref = serial_synthetic(rows, cols, seed);
      REQUIRE(first_difference(fq::synthetic_activations(rows, cols, seed), ref) == -1);
      // The fused form against spec §4 written with libm (std::round rounds half away from zero),
      // not through the vectorised row quantizer both library paths share.
      std::vector<int8_t> q;
      std::vector<float> scales;
      for (int m = 0; m < rows; ++m) {
        double absmax = 0.0;
        for (int k = 0; k < cols; ++k) absmax = std::max(absmax, std::fabs(static_cast<double>(ref[m * cols + k])));
        const float s = absmax == 0.0 ? 1.0f : static_cast<float>(absmax / 127.0);
        scales.push_back(s);
        for (int k = 0; k < cols; ++k) {
          const double r = std::round(static_cast<double>(ref[m * cols + k]) / static_cast<double>(s));
          q.push_back(static_cast<int8_t>(std::clamp(r, -127.0, 127.0)));
        }
      }
      const auto a = fq::quantize_activations(ref, rows, cols);
      REQUIRE(first_difference(a.q, q) == -1);
      REQUIRE(first_difference(a.scales, scales) == -1);
      const auto b = fq::synthetic_quantized_activations(rows, cols, seed);
      REQUIRE(b.rows == rows);
      REQUIRE(b.cols == cols);
      REQUIRE(first_difference(b.q, q) == -1);
      REQUIRE(first_difference(b.scales, scales) == -1);
    }
  }
  GIVEN("a bad shape") {
    REQUIRE_THROWS_AS(fq::synthetic_quantized_activations(0, 4, 1), fq::Error);
    REQUIRE_THROWS_AS(fq::synthetic_quantized_activations(4, -1, 1), fq::Error);
  }
}
