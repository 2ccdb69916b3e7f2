#include "model/core/error.h"
#include "model/golden/act_quant.h"
#include "model/quant/gptq.h"
#include "model/quant/quantease.h"
#include "model/quant/row_grid.h"

#include "support/errors.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace {

constexpr fq::Rounding kRne = fq::Rounding::kHalfEven;

double uniform(uint64_t& state) { return static_cast<double>(fq::splitmix64_next(state) >> 11) * 0x1.0p-53; }

// Activations [tokens, cols] with strong neighbour correlation (AR(1) along the channels) and
// unequal channel scales: the case GPTQ and QuantEase exist for.
std::vector<float> correlated_activations(int tokens, int cols, uint64_t seed) {
  uint64_t state = seed;
  std::vector<double> channel_scale(static_cast<size_t>(cols));
  for (auto& s : channel_scale) s = 0.5 + 1.5 * uniform(state);
  std::vector<float> x(static_cast<size_t>(tokens) * static_cast<size_t>(cols));
  for (int t = 0; t < tokens; ++t) {
    double prev = 0.0;
    for (int j = 0; j < cols; ++j) {
      const double z = 2.0 * uniform(state) - 1.0;
      prev = j == 0 ? z : 0.9 * prev + 0.44 * z;
      x[static_cast<size_t>(t) * static_cast<size_t>(cols) + static_cast<size_t>(j)] =
          static_cast<float>(prev * channel_scale[static_cast<size_t>(j)]);
    }
  }
  return x;
}

// Weights in (-1, 1) with an occasional 5x value.
std::vector<float> random_weights(int rows, int cols, uint64_t seed) {
  uint64_t state = seed;
  std::vector<float> w(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  for (auto& v : w) {
    v = static_cast<float>(2.0 * uniform(state) - 1.0);
    if (fq::splitmix64_next(state) % 41 == 0) v *= 5.0f;
  }
  return w;
}

// Σ = XᵀX (un-normalised) for X [tokens, cols]: H·n/2.
std::vector<double> sigma_from(const std::vector<double>& h, int tokens) {
  std::vector<double> s(h);
  for (auto& v : s) v *= static_cast<double>(tokens) / 2.0;
  return s;
}

// Plain RTN onto each row's grid (the baseline GPTQ must beat).
std::vector<double> rtn_rows(const std::vector<float>& w, int rows, int cols, const fq::GridSpec& spec) {
  std::vector<double> out(w.size());
  std::vector<double> row(static_cast<size_t>(cols));
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) row[static_cast<size_t>(c)] = w[static_cast<size_t>(r * cols + c)];
    const fq::RowGrid g = fq::fit_grid(row, spec, 1.0, kRne);
    for (int c = 0; c < cols; ++c)
      out[static_cast<size_t>(r * cols + c)] = g.quantize(row[static_cast<size_t>(c)], kRne);
  }
  return out;
}

using fq::test::require_error_mentions;

}  // namespace

SCENARIO("T2: asymmetric INT4 grid of g = [-1.5, 0.25, 0.75, 6.0]", "[quant][gptq][quantease]") {
  const std::vector<double> g{-1.5, 0.25, 0.75, 6.0};
  for (const bool include_zero : {true, false}) {
    const fq::RowGrid grid = fq::fit_grid(g, {4, false, include_zero}, 1.0, kRne);
    THEN("scale 0.5, zero 3, codes [0, 3, 5, 15], x̂ = [-1.5, 0, 1, 6] (include_zero " << include_zero << ")") {
      REQUIRE(grid.scale == 0.5);
      REQUIRE(grid.zero == 3.0);
      REQUIRE(grid.qmin == 0);
      REQUIRE(grid.qmax == 15);
      std::vector<int> q;
      std::vector<double> xh;
      for (const double v : g) {
        q.push_back(grid.code(v, kRne));
        xh.push_back(grid.quantize(v, kRne));
      }
      REQUIRE(q == std::vector<int>{0, 3, 5, 15});
      REQUIRE(xh == std::vector<double>{-1.5, 0.0, 1.0, 6.0});
    }
  }
  GIVEN("an all-zero slice") {
    const fq::RowGrid grid = fq::fit_grid(std::vector<double>(3, 0.0), {4, false, true}, 1.0, kRne);
    THEN("min -1 and max +1 are used, and 0 stays exact") {
      REQUIRE(grid.scale == Approx(2.0 / 15.0).epsilon(1e-15));
      REQUIRE(grid.zero == 8.0);  // round(7.5) to even
      REQUIRE(grid.quantize(0.0, kRne) == 0.0);
    }
  }
  GIVEN("an all-positive slice") {
    const std::vector<double> pos{1.0, 2.0, 4.0};
    THEN("include_zero brackets 0, without it the zero point goes negative (not clamped)") {
      const fq::RowGrid with = fq::fit_grid(pos, {2, false, true}, 1.0, kRne);
      REQUIRE(with.scale == Approx(4.0 / 3.0).epsilon(1e-15));
      REQUIRE(with.zero == 0.0);
      const fq::RowGrid without = fq::fit_grid(pos, {2, false, false}, 1.0, kRne);
      REQUIRE(without.scale == 1.0);
      REQUIRE(without.zero == -1.0);
      REQUIRE(without.quantize(1.0, kRne) == 1.0);
      REQUIRE(without.quantize(4.0, kRne) == 4.0);
    }
  }
  GIVEN("T3 (b) through the grid's clip search (symmetric)") {
    const std::vector<double> w{0.5, -1.0, 0.25, -0.75, 4.0, 0.0, 1.5, -0.5};
    double err = 0.0;
    const fq::RowGrid g24 = fq::fit_grid_mse(w, {4, true, true}, 2.4, kRne, &err);
    THEN("norm 2.4 picks p = 0.97, error 0.081532; norm 2 picks p = 0.98, error 0.159") {
      REQUIRE(g24.clip == 0.97);
      REQUIRE(g24.scale == Approx(0.554286).epsilon(1e-6));
      REQUIRE(err == Approx(0.081532).epsilon(1e-5));
      const fq::RowGrid g20 = fq::fit_grid_mse(w, {4, true, true}, 2.0, kRne, &err);
      REQUIRE(g20.clip == 0.98);
      REQUIRE(g20.scale == Approx(0.56).epsilon(1e-12));
      REQUIRE(err == Approx(0.159).epsilon(1e-9));
      std::vector<int> q;
      for (const double v : w) q.push_back(g24.code(v, kRne));
      REQUIRE(q == std::vector<int>{1, -2, 0, -1, 7, 0, 3, -1});
    }
  }
}

SCENARIO("T6: QuantEase vs RTN vs GPTQ on Σ = [[2,1],[1,2]], W = [0.6, 0.6]", "[quant][quantease][gptq]") {
  const std::vector<double> sigma{2.0, 1.0, 1.0, 2.0};
  const std::vector<float> w{0.6f, 0.6f};
  const double w0 = static_cast<double>(w[0]);                            // 0.6 as stored in FP32
  const std::vector<fq::RowGrid> grid{fq::make_grid(1.0, 0.0, 8, true)};  // the integer grid, wide range

  GIVEN("the four grid points") {
    const auto err = [&](double a, double b) { return fq::quadratic_error(w, std::vector<double>{a, b}, 1, 2, sigma); };
    THEN("errors 0.96 (= RTN), 0.56, 0.56, 2.16") {
      CHECK(err(1, 1) == Approx(0.96).epsilon(1e-6));
      CHECK(err(1, 0) == Approx(0.56).epsilon(1e-6));
      CHECK(err(0, 1) == Approx(0.56).epsilon(1e-6));
      CHECK(err(0, 0) == Approx(2.16).epsilon(1e-6));
      REQUIRE(grid[0].quantize(w0, kRne) == 1.0);  // RTN gives [1, 1]
    }
  }
  GIVEN("cyclic CD from Ŵ = W") {
    const std::vector<double> target{w0, w0};
    std::vector<double> w_hat(target);
    std::vector<double> g(2, 0.0);  // (W - Ŵ)Σ at Ŵ = W
    std::vector<double> u(2);
    const int changed1 = fq::quantease_cd_sweep(target, w_hat, g, sigma, grid[0], kRne, true, u);
    THEN("sweep 1: u = 0.6 -> 1, u = (1.8 - 1)/2 = 0.4 -> 0") {
      REQUIRE(changed1 == 2);
      CHECK(u[0] == Approx(0.6).epsilon(1e-6));
      CHECK(u[1] == Approx(0.4).epsilon(1e-6));
      REQUIRE(w_hat == std::vector<double>{1.0, 0.0});
      AND_THEN("sweep 2: u = 0.9, 0.4, a fixed point") {
        const int changed2 = fq::quantease_cd_sweep(target, w_hat, g, sigma, grid[0], kRne, true, u);
        REQUIRE(changed2 == 0);
        CHECK(u[0] == Approx(0.9).epsilon(1e-6));
        CHECK(u[1] == Approx(0.4).epsilon(1e-6));
        REQUIRE(w_hat == std::vector<double>{1.0, 0.0});
      }
    }
  }
  GIVEN("quantease_quantize with the same grid") {
    fq::QuantEaseOptions opt;
    opt.fixed_grids = grid;
    const auto r = fq::quantease_quantize(w, 1, 2, sigma, opt);
    THEN("Ŵ = [1, 0], error 0.56 (the optimum), fixed point detected after sweep 2") {
      REQUIRE(r.codes == std::vector<int16_t>{1, 0});
      REQUIRE(r.w_hat == std::vector<double>{1.0, 0.0});
      CHECK(r.objective == Approx(0.56).epsilon(1e-6));
      REQUIRE(r.sweeps_run == 2);
      REQUIRE(r.objective_per_sweep.size() == 30);
      CHECK(r.objective_per_sweep.back() == Approx(0.56).epsilon(1e-6));
    }
  }
  GIVEN("GPTQ without damping on the same grid") {
    fq::GptqOptions opt;
    opt.damp = 0.0;
    opt.fixed_grids = grid;
    const auto r = fq::gptq_quantize(w, 1, 2, sigma, opt);
    THEN("w1 <- 0.6 - (0.6 - 1)(-1/3)/(2/3) = 0.4 -> 0, also [1, 0]") {
      REQUIRE(r.codes == std::vector<int16_t>{1, 0});
      REQUIRE(r.w_hat == std::vector<double>{1.0, 0.0});
      REQUIRE(r.damp_added == 0.0);
      // GPTQ's own loss: e0 = -0.4/U00 with U00² = 2/3; then w1 = 0.4, U11² = 1/2 -> e1 = 0.4/U11.
      CHECK(r.row_loss[0] == Approx(0.5 * (0.16 * 1.5 + 0.16 * 2.0)).epsilon(1e-6));
    }
  }
}

SCENARIO("T7: outlier-aware QuantEase with Σ = I, W = [0.2, 0.4, 9.0, -0.3], 2-bit asym, k = 1", "[quant][quantease]") {
  const std::vector<float> w{0.2f, 0.4f, 9.0f, -0.3f};
  std::vector<double> eye(16, 0.0);
  for (int i = 0; i < 4; ++i) eye[static_cast<size_t>(i * 5)] = 1.0;
  fq::QuantEaseOptions opt;
  opt.bits = 2;
  GIVEN("no outliers") {
    const auto r = fq::quantease_quantize(w, 1, 4, eye, opt);
    THEN("scale 3.1, zero 0, error 0.38") {
      CHECK(r.grids[0].scale == Approx(3.1).epsilon(1e-7));
      REQUIRE(r.grids[0].zero == 0.0);
      REQUIRE(r.codes == std::vector<int16_t>{0, 0, 3, 0});
      CHECK(r.objective == Approx(0.38).epsilon(1e-6));
      REQUIRE(r.outlier_count == 0);
    }
  }
  for (const bool structured : {false, true}) {
    GIVEN("s = 1/4, so one outlier (structured " << structured << ")") {
      opt.outlier_fraction = 0.25;
      opt.structured_outliers = structured;
      const auto r = fq::quantease_quantize(w, 1, 4, eye, opt);
      THEN("grid on non-outliers ∪ {0}: scale 0.7/3, zero 1; codes [2, 3, 1, 0]; error 0.0100") {
        CHECK(r.grids[0].scale == Approx(0.7 / 3.0).epsilon(1e-7));
        REQUIRE(r.grids[0].zero == 1.0);
        REQUIRE(r.codes == std::vector<int16_t>{2, 3, 1, 0});
        const std::vector<double> expected{0.7 / 3.0, 1.4 / 3.0, 0.0, -0.7 / 3.0};
        for (size_t i = 0; i < 4; ++i) CHECK(r.w_hat[i] == Approx(expected[i]).epsilon(1e-7));
        CHECK(r.objective == Approx(0.01).epsilon(1e-5));
        CHECK(fq::quadratic_error(w, std::vector<double>{r.w_hat[0], r.w_hat[1], 9.0, r.w_hat[3]}, 1, 4, eye) ==
              Approx(0.01).epsilon(1e-5));
        REQUIRE(r.outliers == std::vector<double>{0.0, 0.0, 9.0, 0.0});
        REQUIRE(r.outlier_count == 1);
        if (structured) REQUIRE(r.outlier_columns == std::vector<int>{2});
      }
      THEN("η = 1/2 and the IHT step gives [-0.0167, -0.0333, 9.0, -0.0333], whose top-1 is Ĥ: a fixed point") {
        REQUIRE(r.lambda_max == Approx(1.0).epsilon(1e-12));
        REQUIRE(r.eta == Approx(0.5).epsilon(1e-12));
        // Ĥ - η·R with R = (Ŵ + Ĥ - W)·Σ, Σ = I, from the returned state.
        std::vector<double> step(4);
        for (size_t i = 0; i < 4; ++i) {
          step[i] = r.outliers[i] - r.eta * (r.w_hat[i] + r.outliers[i] - static_cast<double>(w[i]));
        }
        const std::vector<double> expected{-0.05 / 3.0, -0.1 / 3.0, 9.0, -0.1 / 3.0};
        for (size_t i = 0; i < 4; ++i) CHECK(step[i] == Approx(expected[i]).epsilon(1e-5));
        // Iteration 1 moves Ŵ onto the grid; iteration 2 changes nothing, so the rest are skipped.
        REQUIRE(r.sweeps_run == 2);
        REQUIRE(r.objective_per_sweep.size() == 30);
        for (const double o : r.objective_per_sweep) CHECK(o == Approx(0.01).epsilon(1e-5));
      }
    }
  }
}

SCENARIO("GPTQ beats RTN on the Hessian objective for correlated activations", "[quant][gptq]") {
  const int tokens = 512;
  const int cols = 64;
  const int rows = 32;
  const auto x = correlated_activations(tokens, cols, 11);
  const auto h = fq::hessian_from_activations(x, tokens, cols);
  const auto w = random_weights(rows, cols, 12);
  for (const int bits : {3, 4}) {
    for (const bool symmetric : {true, false}) {
      fq::GptqOptions opt;
      opt.bits = bits;
      opt.symmetric = symmetric;
      opt.clip_search = false;  // the same grid as the RTN baseline
      const auto r = fq::gptq_quantize(w, rows, cols, h, opt);
      const double gptq = fq::quadratic_error(w, r.w_hat, rows, cols, h);
      const double rtn = fq::quadratic_error(w, rtn_rows(w, rows, cols, {bits, symmetric, true}), rows, cols, h);
      THEN("INT" << bits << (symmetric ? " sym" : " asym") << ": GPTQ error " << gptq << " < 0.5 x RTN " << rtn) {
        REQUIRE(gptq < 0.5 * rtn);
      }
      // QuantEase starts from W, not from RTN, but must also land well below it.
      fq::QuantEaseOptions qo;
      qo.bits = bits;
      qo.symmetric = symmetric;
      const auto q = fq::quantease_quantize(w, rows, cols, sigma_from(h, tokens), qo);
      const double qe = fq::quadratic_error(w, q.w_hat, rows, cols, h);
      THEN("INT" << bits << (symmetric ? " sym" : " asym") << ": QuantEase error " << qe << " < 0.5 x RTN " << rtn) {
        REQUIRE(qe < 0.5 * rtn);
      }
    }
  }
}

SCENARIO("GPTQ outputs are consistent for every option combination", "[quant][gptq]") {
  const int tokens = 200;
  const int cols = 40;
  const int rows = 9;
  const auto x = correlated_activations(tokens, cols, 21);
  const auto h = fq::hessian_from_activations(x, tokens, cols);
  const auto w = random_weights(rows, cols, 22);
  for (const int group : {0, 16}) {
    for (const bool act_order : {false, true}) {
      for (const bool static_groups : {false, true}) {
        if (static_groups && group == 0) continue;
        fq::GptqOptions opt;
        opt.group_size = group;
        opt.act_order = act_order;
        opt.static_groups = static_groups;
        opt.block_size = 12;  // groups straddle blocks
        const auto r = fq::gptq_quantize(w, rows, cols, h, opt);
        THEN("group " << group << " act_order " << act_order << " static " << static_groups
                      << ": perm is a permutation, inv_perm its inverse, ŵ = grid value of the code") {
          REQUIRE(r.groups == (group == 0 ? 1 : 3));
          std::vector<int> sorted(r.perm);
          std::sort(sorted.begin(), sorted.end());
          std::vector<int> iota(static_cast<size_t>(cols));
          std::iota(iota.begin(), iota.end(), 0);
          REQUIRE(sorted == iota);
          for (int p = 0; p < cols; ++p) REQUIRE(r.inv_perm[static_cast<size_t>(r.perm[static_cast<size_t>(p)])] == p);
          if (act_order) {
            for (int p = 1; p < cols; ++p) {
              REQUIRE(h[static_cast<size_t>(r.perm[p - 1] * (cols + 1))] >=
                      h[static_cast<size_t>(r.perm[p] * (cols + 1))]);
            }
          } else {
            REQUIRE(r.perm == iota);
          }
          for (int c = 0; c < cols; ++c) {
            const int expected_group =
                group == 0 ? 0 : (static_groups ? c : r.inv_perm[static_cast<size_t>(c)]) / group;
            REQUIRE(r.group_of_col[static_cast<size_t>(c)] == expected_group);
          }
          for (int rr = 0; rr < rows; ++rr) {
            for (int c = 0; c < cols; ++c) {
              const size_t i = static_cast<size_t>(rr * cols + c);
              const auto& grid = r.grids[static_cast<size_t>(rr * r.groups + r.group_of_col[static_cast<size_t>(c)])];
              REQUIRE(r.codes[i] >= grid.qmin);
              REQUIRE(r.codes[i] <= grid.qmax);
              REQUIRE(r.w_hat[i] == grid.value(r.codes[i]));
            }
          }
        }
        THEN("the block size changes only the summation order (group " << group << ", act_order " << act_order << ")") {
          fq::GptqOptions one_block = opt;
          one_block.block_size = 1000;
          const auto r2 = fq::gptq_quantize(w, rows, cols, h, one_block);
          REQUIRE(r2.codes == r.codes);
          for (size_t i = 0; i < r.w_hat.size(); ++i) REQUIRE(r2.w_hat[i] == Approx(r.w_hat[i]).epsilon(1e-12));
        }
      }
    }
  }
}

SCENARIO("act-order maps back to the original columns", "[quant][gptq][quantease]") {
  const int tokens = 300;
  const int cols = 24;
  const int rows = 5;
  const auto x = correlated_activations(tokens, cols, 31);
  const auto h = fq::hessian_from_activations(x, tokens, cols);
  const auto w = random_weights(rows, cols, 32);
  // A column permutation q: W' = W[:, q], H' = H[q][:, q].
  std::vector<int> q(static_cast<size_t>(cols));
  std::iota(q.begin(), q.end(), 0);
  uint64_t state = 33;
  for (int i = cols - 1; i > 0; --i) {
    std::swap(q[static_cast<size_t>(i)],
              q[static_cast<size_t>(fq::splitmix64_next(state) % static_cast<uint64_t>(i + 1))]);
  }
  std::vector<float> wq(w.size());
  std::vector<double> hq(h.size());
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c)
      wq[static_cast<size_t>(r * cols + c)] = w[static_cast<size_t>(r * cols + q[static_cast<size_t>(c)])];
  }
  for (int i = 0; i < cols; ++i) {
    for (int j = 0; j < cols; ++j) {
      hq[static_cast<size_t>(i * cols + j)] =
          h[static_cast<size_t>(q[static_cast<size_t>(i)] * cols + q[static_cast<size_t>(j)])];
    }
  }
  GIVEN("GPTQ with act_order on W and on W' (no clip search, so the grids are order-free)") {
    fq::GptqOptions opt;
    opt.act_order = true;
    opt.clip_search = false;
    const auto a = fq::gptq_quantize(w, rows, cols, h, opt);
    const auto b = fq::gptq_quantize(wq, rows, cols, hq, opt);
    THEN("both process the same columns in the same order and agree after mapping back") {
      for (int p = 0; p < cols; ++p)
        REQUIRE(q[static_cast<size_t>(b.perm[static_cast<size_t>(p)])] == a.perm[static_cast<size_t>(p)]);
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
          const size_t ib = static_cast<size_t>(r * cols + c);
          const size_t ia = static_cast<size_t>(r * cols + q[static_cast<size_t>(c)]);
          REQUIRE(b.codes[ib] == a.codes[ia]);
          REQUIRE(b.w_hat[ib] == a.w_hat[ia]);
        }
      }
    }
  }
  GIVEN("a diagonal Hessian, where GPTQ has nothing to compensate") {
    std::vector<double> diag(h.size(), 0.0);
    for (int j = 0; j < cols; ++j) diag[static_cast<size_t>(j * (cols + 1))] = h[static_cast<size_t>(j * (cols + 1))];
    fq::GptqOptions opt;
    opt.act_order = true;
    opt.clip_search = false;
    const auto r = fq::gptq_quantize(w, rows, cols, diag, opt);
    THEN("act-order GPTQ equals RTN column for column") {
      REQUIRE(r.w_hat == rtn_rows(w, rows, cols, {4, true, true}));
    }
  }
  GIVEN("QuantEase with act_order on W and on W'") {
    const auto s = sigma_from(h, tokens);
    const auto sq = sigma_from(hq, tokens);
    fq::QuantEaseOptions opt;
    opt.act_order = true;
    const auto a = fq::quantease_quantize(w, rows, cols, s, opt);
    const auto b = fq::quantease_quantize(wq, rows, cols, sq, opt);
    THEN("they agree after mapping back") {
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
          REQUIRE(b.codes[static_cast<size_t>(r * cols + c)] ==
                  a.codes[static_cast<size_t>(r * cols + q[static_cast<size_t>(c)])]);
        }
      }
      REQUIRE(b.objective == Approx(a.objective).epsilon(1e-12));
    }
  }
}

SCENARIO("QuantEase coordinate descent never increases the objective", "[quant][quantease]") {
  const int tokens = 256;
  const int cols = 48;
  const int rows = 20;
  const auto x = correlated_activations(tokens, cols, 41);
  const auto sigma = sigma_from(fq::hessian_from_activations(x, tokens, cols), tokens);
  const auto w = random_weights(rows, cols, 42);
  for (const double s : {0.0, 0.02}) {
    for (const bool structured : {false, true}) {
      if (s == 0.0 && structured) continue;
      fq::QuantEaseOptions opt;
      opt.bits = 3;
      opt.outlier_fraction = s;
      opt.structured_outliers = structured;
      const auto r = fq::quantease_quantize(w, rows, cols, sigma, opt);
      THEN("outliers " << s << " structured " << structured << ": per-sweep objective non-increasing, final = direct") {
        REQUIRE(r.objective_per_sweep.size() == 30);
        for (size_t t = 1; t < r.objective_per_sweep.size(); ++t) {
          INFO("sweep " << t + 1);
          REQUIRE(r.objective_per_sweep[t] <= r.objective_per_sweep[t - 1] * (1.0 + 1e-12));
        }
        std::vector<double> sum(r.w_hat);
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += r.outliers[i];
        REQUIRE(fq::quadratic_error(w, sum, rows, cols, sigma) == Approx(r.objective).epsilon(1e-9));
        if (s > 0.0) {
          int64_t nonzero = 0;
          for (const double v : r.outliers) nonzero += v != 0.0 ? 1 : 0;
          REQUIRE(r.outlier_count == (structured ? 1 * rows : std::llround(0.02 * rows * cols)));
          REQUIRE(nonzero <= r.outlier_count);
          if (structured) REQUIRE(r.outlier_columns.size() == 1);
        }
      }
    }
  }
  GIVEN("the relaxed schedule") {
    fq::QuantEaseOptions opt;
    opt.bits = 3;
    opt.relaxed_schedule = true;
    const auto r = fq::quantease_quantize(w, rows, cols, sigma, opt);
    THEN("the result is still on the grid and below RTN") {
      for (int rr = 0; rr < rows; ++rr) {
        for (int c = 0; c < cols; ++c) {
          const size_t i = static_cast<size_t>(rr * cols + c);
          REQUIRE(r.w_hat[i] == r.grids[static_cast<size_t>(rr)].value(r.codes[i]));
        }
      }
      const double rtn = fq::quadratic_error(w, rtn_rows(w, rows, cols, {3, false, true}), rows, cols, sigma);
      REQUIRE(r.objective < rtn);
    }
  }
}

SCENARIO("GPTQ and QuantEase give identical results for any thread count", "[quant][gptq][quantease]") {
  const int tokens = 128;
  const int cols = 56;
  const int rows = 37;
  const auto x = correlated_activations(tokens, cols, 51);
  const auto h1 = fq::hessian_from_activations(x, tokens, cols, 1);
  const auto h3 = fq::hessian_from_activations(x, tokens, cols, 3);
  REQUIRE(h1 == h3);
  const auto w = random_weights(rows, cols, 52);
  fq::GptqOptions g;
  g.group_size = 16;
  g.act_order = true;
  g.block_size = 20;
  g.threads = 1;
  const auto a = fq::gptq_quantize(w, rows, cols, h1, g);
  g.threads = 3;
  const auto b = fq::gptq_quantize(w, rows, cols, h1, g);
  REQUIRE(a.codes == b.codes);
  REQUIRE(a.w_hat == b.w_hat);
  REQUIRE(a.row_loss == b.row_loss);
  const auto sigma = sigma_from(h1, tokens);
  for (const double s : {0.0, 0.01}) {
    fq::QuantEaseOptions q;
    q.outlier_fraction = s;
    q.act_order = true;
    q.threads = 1;
    const auto c = fq::quantease_quantize(w, rows, cols, sigma, q);
    q.threads = 3;
    const auto d = fq::quantease_quantize(w, rows, cols, sigma, q);
    REQUIRE(c.codes == d.codes);
    REQUIRE(c.w_hat == d.w_hat);
    REQUIRE(c.outliers == d.outliers);
    REQUIRE(c.objective_per_sweep == d.objective_per_sweep);
    REQUIRE(fq::quadratic_error(w, c.w_hat, rows, cols, sigma, 1) ==
            fq::quadratic_error(w, c.w_hat, rows, cols, sigma, 3));
  }
}

SCENARIO("GPTQ handles dead columns", "[quant][gptq]") {
  const int cols = 6;
  const int rows = 3;
  const auto x = correlated_activations(64, cols, 61);
  auto h = fq::hessian_from_activations(x, 64, cols);
  for (int j = 0; j < cols; ++j) {
    h[static_cast<size_t>(2 * cols + j)] = 0.0;
    h[static_cast<size_t>(j * cols + 2)] = 0.0;
  }
  const auto w = random_weights(rows, cols, 62);
  const auto r = fq::gptq_quantize(w, rows, cols, h, {});
  REQUIRE(r.dead_columns == 1);
  for (int rr = 0; rr < rows; ++rr) REQUIRE(r.w_hat[static_cast<size_t>(rr * cols + 2)] == 0.0);
}

SCENARIO("GPTQ and QuantEase reject bad input", "[quant][gptq][quantease]") {
  const std::vector<double> h{2.0, 1.0, 1.0, 2.0};
  const std::vector<float> w{0.5f, -0.25f, 1.0f, 0.75f};
  require_error_mentions([&] { fq::gptq_quantize(w, 2, 3, h, {}); }, "weights for shape [2, 3]");
  require_error_mentions([&] { fq::gptq_quantize(w, 1, 4, h, {}); }, "Hessian has 4 entries");
  std::vector<float> bad(w);
  bad[3] = std::numeric_limits<float>::quiet_NaN();
  require_error_mentions([&] { fq::gptq_quantize(bad, 2, 2, h, {}); }, "row 1 column 1");
  require_error_mentions([&] { fq::quantease_quantize(bad, 2, 2, h, {}); }, "row 1 column 1");
  fq::GptqOptions g;
  g.bits = 9;
  require_error_mentions([&] { fq::gptq_quantize(w, 2, 2, h, g); }, "bits 9 outside [2, 8]");
  fq::QuantEaseOptions q;
  q.bits = 1;
  require_error_mentions([&] { fq::quantease_quantize(w, 2, 2, h, q); }, "bits 1 outside [2, 8]");
  fq::GptqOptions undamped;
  undamped.damp = 0.0;
  require_error_mentions(
      [&] {
        fq::gptq_quantize(w, 2, 2, std::vector<double>{1.0, 2.0, 2.0, 1.0}, undamped);
      },
      "not positive definite after damping");
  require_error_mentions([&] { fq::gptq_quantize(w, 2, 2, std::vector<double>{1.0, 0.0, 0.0, -1.0}, {}); }, "negative");
  q.bits = 4;
  q.outlier_fraction = 1.0;
  require_error_mentions([&] { fq::quantease_quantize(w, 2, 2, h, q); }, "outlier fraction");
  require_error_mentions([&] { fq::hessian_from_activations(w, 3, 2); }, "activations for shape [3, 2]");
}
