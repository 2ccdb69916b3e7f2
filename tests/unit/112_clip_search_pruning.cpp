// The pruned MSE clip searches (clip_bounds.h) against the full searches they replace: every
// candidate scored with pow(), the first strictly smallest wins. Same choice, codes and error.
#include "model/golden/act_quant.h"
#include "model/quant/clip_bounds.h"
#include "model/quant/row_grid.h"
#include "model/quant/rtn.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace {

double uniform(uint64_t& s) { return (static_cast<double>(fq::splitmix64_next(s) >> 11) + 0.5) * 0x1.0p-53; }

// Gaussian weights with a fraction of 10x outliers, an optional offset, optionally duplicated values.
std::vector<float> slice(uint64_t& s, size_t n, double outliers, double offset, bool coarse) {
  std::vector<float> x(n);
  for (auto& v : x) {
    const double g = std::sqrt(-2.0 * std::log(uniform(s))) * std::cos(6.283185307179586 * uniform(s));
    double w = 0.02 * g * (uniform(s) < outliers ? 10.0 : 1.0) + offset;
    if (coarse) w = std::round(w * 200.0) / 200.0;  // many equal values, errors that tie
    v = static_cast<float>(w);
  }
  return x;
}

// quantizers.md §2 as first written: all 80 candidates, rtn_quantize() + rtn_error().
fq::ClipChoice full_rtn_search(std::span<const float> x, int bits, double norm, fq::Rounding r,
                               fq::ScalePrecision precision, std::vector<int8_t>& q_out) {
  std::vector<int8_t> q(x.size());
  fq::ClipChoice best{-1, 0.0, 0.0, 0.0};
  for (int i = 0; i < 80; ++i) {
    const double p = 1.0 - static_cast<double>(i) / 100.0;
    const double scale = fq::rtn_quantize(x, bits, p, r, precision, q);
    const double err = fq::rtn_error(x, q, scale, norm);
    if (best.index < 0 || err < best.error) {
      best = {i, p, scale, err};
      q_out = q;
    }
  }
  return best;
}

fq::RowGrid full_grid_search(std::span<const double> x, const fq::GridSpec& spec, double norm, fq::Rounding r,
                             double& error) {
  fq::RowGrid best;
  for (int i = 0; i < 80; ++i) {
    const fq::RowGrid g = fq::fit_grid(x, spec, 1.0 - static_cast<double>(i) / 100.0, r);
    const double err = fq::grid_error(x, g, norm, r);
    if (i == 0 || err < error) {
      best = g;
      error = err;
    }
  }
  return best;
}

}  // namespace

SCENARIO("The pruned RTN clip search makes the full search's choice", "[quant][rtn][clip]") {
  uint64_t seed = 11;
  int cases = 0;
  for (const double norm : {2.4, 2.0, 1.0, 3.0, 0.5, 20.0}) {
    for (const int bits : {2, 3, 4, 8}) {
      for (const size_t n : {size_t{7}, size_t{64}, size_t{300}, size_t{4096}}) {
        // No outliers, 1 % and 20 % (the longer slices only): the order of the candidates and
        // their floors differ (clip_bounds.cpp).
        for (const double outliers : {0.01, 0.0, 0.2}) {
          if (outliers != 0.01 && n < 300) continue;
          for (const bool coarse : {false, true}) {
            const auto x = slice(seed, n, outliers, 0.0, coarse);
            for (const auto precision : {fq::ScalePrecision::kFp16, fq::ScalePrecision::kDouble}) {
              for (const auto r : {fq::Rounding::kHalfAway, fq::Rounding::kHalfEven}) {
                std::vector<int8_t> q_full, q(x.size()), q_quiet(x.size());
                const fq::ClipChoice want = full_rtn_search(x, bits, norm, r, precision, q_full);
                const fq::ClipChoice got = fq::mse_clip_search(x, bits, norm, r, precision, q);
                const fq::ClipChoice quiet = fq::mse_clip_search(x, bits, norm, r, precision, q_quiet, false);
                INFO("norm " << norm << " bits " << bits << " n " << n << " outliers " << outliers << " coarse "
                             << coarse);
                REQUIRE(got.index == want.index);
                REQUIRE(got.scale == want.scale);
                REQUIRE(got.error == want.error);
                REQUIRE(q == q_full);
                // Without the error: the same choice and codes, no score.
                REQUIRE(quiet.index == want.index);
                REQUIRE(quiet.ratio == want.ratio);
                REQUIRE(quiet.scale == want.scale);
                REQUIRE(std::isnan(quiet.error));
                REQUIRE(q_quiet == q_full);
                ++cases;
              }
            }
          }
        }
      }
    }
  }
  CHECK(cases == 6 * 4 * (2 + 2 * 3) * 2 * 2 * 2);
}

SCENARIO("The pruned grid clip search makes the full search's choice", "[quant][gptq][clip]") {
  uint64_t seed = 12;
  for (const double norm : {2.4, 2.0, 1.5, 0.7}) {
    for (const bool symmetric : {true, false}) {
      for (const bool include_zero : {true, false}) {
        for (const double offset : {0.0, 0.05}) {
          for (const auto& [n, outliers] :
               {std::pair<size_t, double>{40, 0.02}, {128, 0.02}, {2048, 0.02}, {2048, 0.0}, {2048, 0.2}}) {
            const auto xf = slice(seed, n, outliers, offset, false);
            const std::vector<double> x(xf.begin(), xf.end());
            const fq::GridSpec spec{3, symmetric, include_zero};
            for (const auto r : {fq::Rounding::kHalfAway, fq::Rounding::kHalfEven}) {
              double want_error = 0.0;
              const fq::RowGrid want = full_grid_search(x, spec, norm, r, want_error);
              double error = -1.0;
              const fq::RowGrid got = fq::fit_grid_mse(x, spec, norm, r, &error);
              const fq::RowGrid quiet = fq::fit_grid_mse(x, spec, norm, r);
              INFO("norm " << norm << " symmetric " << symmetric << " offset " << offset << " n " << n << " outliers "
                           << outliers);
              REQUIRE(got.clip == want.clip);
              REQUIRE(got.scale == want.scale);
              REQUIRE(got.zero == want.zero);
              REQUIRE(error == want_error);
              REQUIRE(quiet.clip == want.clip);
            }
          }
        }
      }
    }
  }
}

SCENARIO("clip_contenders keeps the winner and prunes the rest", "[quant][clip]") {
  uint64_t seed = 13;
  const auto xf = slice(seed, 4096, 0.01, 0.0, false);
  const std::vector<double> x(xf.begin(), xf.end());
  double absmax = 0.0;
  for (const double v : x) absmax = std::max(absmax, std::fabs(v));
  std::vector<fq::ClipCandidate> c;
  for (int i = 0; i < 80; ++i) c.push_back({fq::rtn_scale(absmax, 4, 1.0 - i / 100.0), 0.0, -8, 7});
  std::vector<int8_t> q(x.size());
  const auto want = fq::mse_clip_search(xf, 4, 2.4, fq::Rounding::kHalfAway, fq::ScalePrecision::kDouble, q);
  const auto got = fq::clip_contenders(x, c, 2.4);
  REQUIRE(std::find(got.begin(), got.end(), want.index) != got.end());
  CHECK(got.size() < 5);
  REQUIRE(want.index < 79);
  GIVEN("a repeated candidate") {
    c[want.index + 1] = c[want.index];
    THEN("the later copy is never a contender") {
      const auto again = fq::clip_contenders(x, c, 2.4);
      CHECK(std::find(again.begin(), again.end(), want.index + 1) == again.end());
    }
  }
  GIVEN("a norm the estimate does not bound") {
    THEN("every candidate is returned") { CHECK(fq::clip_contenders(x, c, 40.0).size() == 80); }
  }
}
