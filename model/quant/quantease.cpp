#include "model/quant/quantease.h"

#include "model/core/dot.h"
#include "model/core/error.h"
#include "model/core/parallel.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fq {

namespace {

// Rows swept together: Σ's row j, loaded once, serves every row of the tile while g stays in L2.
constexpr int64_t kTileRows = 16;

size_t at(int64_t r, int64_t c, int64_t cols) { return static_cast<size_t>(r * cols + c); }

void check_inputs(std::span<const float> w, int rows, int cols, std::span<const double> sigma, const char* who) {
  if (rows < 1 || cols < 1) fail("{}: shape [{}, {}] must be at least [1, 1]", who, rows, cols);
  if (w.size() != static_cast<size_t>(rows) * static_cast<size_t>(cols)) {
    fail("{}: {} weights for shape [{}, {}]", who, w.size(), rows, cols);
  }
  const int64_t n = cols;
  if (sigma.size() != static_cast<size_t>(n * n)) {
    fail("{}: Σ has {} entries, expected {} x {} = {}", who, sigma.size(), cols, cols, n * n);
  }
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float v = w[at(r, c, n)];
      if (!std::isfinite(v)) fail("{}: weight at row {} column {} is not finite ({})", who, r, c, v);
    }
  }
  for (int64_t i = 0; i < n * n; ++i) {
    if (!std::isfinite(sigma[static_cast<size_t>(i)])) fail("{}: Σ entry ({}, {}) is not finite", who, i / n, i % n);
  }
  for (int64_t j = 0; j < n; ++j) {
    if (sigma[at(j, j, n)] < 0.0) fail("{}: Σ diagonal entry {} is negative ({})", who, j, sigma[at(j, j, n)]);
  }
}

// One sweep over the columns for nr consecutive rows stored with stride n. Rows with active[t] == 0
// are left alone. changed[t] counts the coordinates of row t that moved.
void sweep_rows(int64_t nr, int64_t n, const double* target, double* w_hat, double* g, const RowGrid* grids,
                const double* sigma, Rounding rounding, bool round, const char* active, int64_t* changed,
                double* u_out) {
  for (int64_t j = 0; j < n; ++j) {
    const double* sj = sigma + at(j, 0, n);
    const double d = sj[j];
    for (int64_t t = 0; t < nr; ++t) {
      if (active[t] == 0) continue;
      double* wr = w_hat + at(t, 0, n);
      double* gr = g + at(t, 0, n);
      const double x = wr[j];
      // u = ŵ_j + g_j/Σ_jj is §5.1's [(WΣ)_j - Σ_{k≠j} ŵ_k Σ_kj]/Σ_jj with g = (W - Ŵ)Σ.
      const double u = d > 0.0 ? x + gr[j] / d : target[at(t, j, n)];
      if (u_out != nullptr) u_out[j] = u;
      const double v = round ? grids[t].quantize(u, rounding) : u;
      if (v == x) continue;
      wr[j] = v;
      ++changed[t];
      const double delta = v - x;
      for (int64_t k = 0; k < n; ++k) gr[k] -= delta * sj[k];
    }
  }
}

// λ_max(Σ) by power iteration (Rayleigh quotient), from a fixed pseudo-random start vector so that
// no eigenvector is structurally missed. Stops when the quotient moves by < 1e-6 relative: it
// approaches λ_max from below, and the IHT step stays a descent step for any estimate above λ_max/2.
double lambda_max(const std::vector<double>& sigma, int64_t n, int threads) {
  std::vector<double> v(static_cast<size_t>(n));
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (auto& e : v) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    e = static_cast<double>(state >> 11) * 0x1.0p-53 - 0.5;
  }
  const auto normalise = [](std::vector<double>& x) {
    const double s = std::sqrt(dot4(x.data(), x.data(), static_cast<int64_t>(x.size())));
    if (s > 0.0) {
      for (auto& e : x) e /= s;
    }
    return s;
  };
  normalise(v);
  std::vector<double> y(static_cast<size_t>(n));
  double lambda = 0.0;
  for (int it = 0; it < 1000; ++it) {
    parallel_for(
        n,
        [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) y[static_cast<size_t>(i)] = dot4(&sigma[at(i, 0, n)], v.data(), n);
        },
        threads);
    const double next = dot4(v.data(), y.data(), n);
    if (normalise(y) == 0.0) return 0.0;
    v.swap(y);
    const bool done = it > 0 && std::fabs(next - lambda) <= 1e-6 * std::fabs(next);
    lambda = next;
    if (done) break;
  }
  return lambda;
}

// Indices (flat or column) of the k largest scores, ties to the lower index, in ascending order.
std::vector<int64_t> top_k(const std::vector<double>& score, int64_t k) {
  std::vector<int64_t> out;
  if (k <= 0) return out;
  const auto size = static_cast<int64_t>(score.size());
  if (k >= size) {
    out.resize(static_cast<size_t>(size));
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  std::vector<double> sorted(score);
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<>());
  const double tau = sorted[static_cast<size_t>(k - 1)];
  int64_t above = 0;
  for (const double s : score) above += s > tau ? 1 : 0;
  int64_t ties = k - above;
  out.reserve(static_cast<size_t>(k));
  for (int64_t i = 0; i < size; ++i) {
    const double s = score[static_cast<size_t>(i)];
    if (s > tau || (s == tau && ties-- > 0)) out.push_back(i);
  }
  return out;
}

// Support of the new Ĥ from the candidate c ([rows, n], processing order): flat indices, ascending.
std::vector<int64_t> select_outliers(const std::vector<double>& c, int64_t rows, int64_t n, int64_t k,
                                     bool structured) {
  if (!structured) {
    std::vector<double> score(c.size());
    for (size_t i = 0; i < c.size(); ++i) score[i] = std::fabs(c[i]);
    return top_k(score, k);
  }
  std::vector<double> norm2(static_cast<size_t>(n), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) norm2[static_cast<size_t>(j)] += c[at(r, j, n)] * c[at(r, j, n)];
  }
  const std::vector<int64_t> columns = top_k(norm2, k);
  std::vector<int64_t> flat;
  flat.reserve(static_cast<size_t>(rows) * columns.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (const int64_t j : columns) flat.push_back(r * n + j);
  }
  return flat;
}

}  // namespace

int quantease_cd_sweep(std::span<const double> target, std::span<double> w_hat, std::span<double> g,
                       std::span<const double> sigma, const RowGrid& grid, Rounding rounding, bool round,
                       std::span<double> u_out) {
  const auto n = static_cast<int64_t>(target.size());
  if (n < 1 || w_hat.size() != target.size() || g.size() != target.size() ||
      sigma.size() != static_cast<size_t>(n * n) || (!u_out.empty() && u_out.size() != target.size())) {
    fail("quantease sweep: sizes target {}, w_hat {}, g {}, Σ {}, u {} do not match", target.size(), w_hat.size(),
         g.size(), sigma.size(), u_out.size());
  }
  const char active = 1;
  int64_t changed = 0;
  sweep_rows(1, n, target.data(), w_hat.data(), g.data(), &grid, sigma.data(), rounding, round, &active, &changed,
             u_out.empty() ? nullptr : u_out.data());
  return static_cast<int>(changed);
}

QuantEaseResult quantease_quantize(std::span<const float> w, int rows, int cols, std::span<const double> sigma,
                                   const QuantEaseOptions& opt) {
  check_inputs(w, rows, cols, sigma, "quantease");
  check_grid_bits(opt.bits, "quantease");
  if (opt.sweeps < 1) fail("quantease: sweeps {} must be >= 1", opt.sweeps);
  if (!(opt.outlier_fraction >= 0.0 && opt.outlier_fraction < 1.0)) {
    fail("quantease: outlier fraction {} outside [0, 1)", opt.outlier_fraction);
  }
  if (!(opt.iht_alpha > 0.0) || !std::isfinite(opt.iht_alpha)) {
    fail("quantease: IHT alpha {} must be finite and > 0", opt.iht_alpha);
  }
  if (!opt.fixed_grids.empty() && opt.fixed_grids.size() != static_cast<size_t>(rows)) {
    fail("quantease: {} fixed grids for {} rows", opt.fixed_grids.size(), rows);
  }
  const int64_t n = cols;
  const int64_t nrows = rows;
  const int64_t count = nrows * n;
  const bool outlier_aware = opt.outlier_fraction > 0.0;
  const int sweeps = opt.sweeps;
  const GridSpec spec{opt.bits, opt.symmetric, opt.include_zero};

  QuantEaseResult res;
  res.rows = rows;
  res.cols = cols;
  res.perm.resize(static_cast<size_t>(n));
  std::iota(res.perm.begin(), res.perm.end(), 0);
  if (opt.act_order) {
    std::stable_sort(res.perm.begin(), res.perm.end(),
                     [&](int a, int b) { return sigma[at(a, a, n)] > sigma[at(b, b, n)]; });
  }
  // Σ in processing order (a private copy, permuted under act_order).
  std::vector<double> sp(sigma.begin(), sigma.end());
  if (opt.act_order) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        sp[at(i, j, n)] = sigma[at(res.perm[static_cast<size_t>(i)], res.perm[static_cast<size_t>(j)], n)];
      }
    }
  }
  // round_sweep[t] for t = 0..T-1 (sweep t + 1); last_relaxed: index of the last unrounded sweep.
  std::vector<char> round_sweep(static_cast<size_t>(sweeps), 1);
  int last_relaxed = -1;
  for (int t = 1; t <= sweeps; ++t) {
    if (opt.relaxed_schedule && t % 3 == 1 && t <= 25 && t != sweeps) {
      round_sweep[static_cast<size_t>(t - 1)] = 0;
      last_relaxed = t - 1;
    }
  }

  // Working state in processing order: target = W - Ĥ, Ŵ, g = (target - Ŵ)·Σ, Ĥ.
  std::vector<double> target(static_cast<size_t>(count));
  for (int64_t r = 0; r < nrows; ++r) {
    for (int64_t p = 0; p < n; ++p) {
      target[at(r, p, n)] = static_cast<double>(w[at(r, res.perm[static_cast<size_t>(p)], n)]);
    }
  }
  std::vector<double> hh(static_cast<size_t>(count), 0.0);
  int64_t k = 0;
  std::vector<int64_t> support;  // flat indices of Ĥ's support, ascending
  if (outlier_aware) {
    k = opt.structured_outliers ? std::llround(opt.outlier_fraction * static_cast<double>(n))
                                : std::llround(opt.outlier_fraction * static_cast<double>(count));
    support = select_outliers(target, nrows, n, k, opt.structured_outliers);
    for (const int64_t i : support) hh[static_cast<size_t>(i)] = target[static_cast<size_t>(i)];
  }
  // Grids on the non-outlier entries of each row (all entries when plain).
  res.grids.resize(static_cast<size_t>(nrows));
  if (!opt.fixed_grids.empty()) {
    std::copy(opt.fixed_grids.begin(), opt.fixed_grids.end(), res.grids.begin());
  } else {
    std::vector<char> outlier(static_cast<size_t>(count), 0);
    for (const int64_t i : support) outlier[static_cast<size_t>(i)] = 1;
    parallel_for(
        nrows,
        [&](int64_t begin, int64_t end) {
          std::vector<double> vals;
          for (int64_t r = begin; r < end; ++r) {
            vals.clear();
            for (int64_t p = 0; p < n; ++p) {
              if (outlier[at(r, p, n)] == 0) vals.push_back(target[at(r, p, n)]);
            }
            res.grids[static_cast<size_t>(r)] = fit_grid(vals, spec, 1.0, opt.rounding);
          }
        },
        opt.threads);
  }
  for (size_t i = 0; i < target.size(); ++i) target[i] -= hh[i];
  std::vector<double> w_hat(target);
  std::vector<double> g(static_cast<size_t>(count), 0.0);

  std::vector<double> row_obj(static_cast<size_t>(nrows) * static_cast<size_t>(sweeps), 0.0);
  std::vector<int> row_sweeps(static_cast<size_t>(nrows), sweeps);
  const auto row_objective = [&](int64_t r) {
    const size_t off = at(r, 0, n);
    double s = 0.0;
    for (int64_t j = 0; j < n; ++j)
      s += (target[off + static_cast<size_t>(j)] - w_hat[off + static_cast<size_t>(j)]) *
           g[off + static_cast<size_t>(j)];
    return s;
  };

  if (!outlier_aware) {
    parallel_for(
        nrows,
        [&](int64_t begin, int64_t end) {
          std::vector<char> active(static_cast<size_t>(kTileRows));
          std::vector<int64_t> changed(static_cast<size_t>(kTileRows));
          for (int64_t r0 = begin; r0 < end; r0 += kTileRows) {
            const int64_t nr = std::min(kTileRows, end - r0);
            std::fill(active.begin(), active.end(), 1);
            int64_t live = nr;
            for (int t = 0; t < sweeps && live > 0; ++t) {
              std::fill(changed.begin(), changed.end(), 0);
              const bool round = round_sweep[static_cast<size_t>(t)] != 0;
              sweep_rows(nr, n, &target[at(r0, 0, n)], &w_hat[at(r0, 0, n)], &g[at(r0, 0, n)],
                         &res.grids[static_cast<size_t>(r0)], sp.data(), opt.rounding, round, active.data(),
                         changed.data(), nullptr);
              for (int64_t i = 0; i < nr; ++i) {
                if (active[static_cast<size_t>(i)] == 0) continue;
                const int64_t r = r0 + i;
                const double obj = row_objective(r);
                if (round && changed[static_cast<size_t>(i)] == 0 && t > last_relaxed) {
                  // Fixed point: the remaining sweeps would repeat this one exactly.
                  for (int s = t; s < sweeps; ++s) row_obj[at(r, s, sweeps)] = obj;
                  row_sweeps[static_cast<size_t>(r)] = t + 1;
                  active[static_cast<size_t>(i)] = 0;
                  --live;
                } else {
                  row_obj[at(r, t, sweeps)] = obj;
                }
              }
            }
          }
        },
        opt.threads);
    res.sweeps_run = *std::max_element(row_sweeps.begin(), row_sweeps.end());
    res.objective_per_sweep.assign(static_cast<size_t>(sweeps), 0.0);
    for (int64_t r = 0; r < nrows; ++r) {
      for (int t = 0; t < sweeps; ++t) res.objective_per_sweep[static_cast<size_t>(t)] += row_obj[at(r, t, sweeps)];
    }
  } else {
    res.lambda_max = lambda_max(sp, n, opt.threads);
    res.eta = res.lambda_max > 0.0 ? opt.iht_alpha / (2.0 * res.lambda_max) : 0.0;
    std::vector<double> cand(static_cast<size_t>(count));
    std::vector<double> hh_new(static_cast<size_t>(count));
    std::vector<int64_t> row_changed(static_cast<size_t>(nrows), 0);
    std::vector<double> obj(static_cast<size_t>(nrows), 0.0);
    for (int t = 0; t < sweeps; ++t) {
      const bool round = round_sweep[static_cast<size_t>(t)] != 0;
      // (2) one CD sweep against W - Ĥ.
      parallel_for(
          nrows,
          [&](int64_t begin, int64_t end) {
            const std::vector<char> active(static_cast<size_t>(kTileRows), 1);
            for (int64_t r0 = begin; r0 < end; r0 += kTileRows) {
              const int64_t nr = std::min(kTileRows, end - r0);
              sweep_rows(nr, n, &target[at(r0, 0, n)], &w_hat[at(r0, 0, n)], &g[at(r0, 0, n)],
                         &res.grids[static_cast<size_t>(r0)], sp.data(), opt.rounding, round, active.data(),
                         &row_changed[static_cast<size_t>(r0)], nullptr);
            }
          },
          opt.threads);
      // (3) IHT: R = (Ŵ + Ĥ - W)·Σ = -g, so Ĥ - η·R = Ĥ + η·g.
      for (size_t i = 0; i < cand.size(); ++i) cand[i] = hh[i] + res.eta * g[i];
      std::fill(hh_new.begin(), hh_new.end(), 0.0);
      support = select_outliers(cand, nrows, n, k, opt.structured_outliers);
      for (const int64_t i : support) hh_new[static_cast<size_t>(i)] = cand[static_cast<size_t>(i)];
      // Moving Ĥ by Δ moves the target by -Δ, so g -= Δ·Σ_j for every changed entry.
      int64_t h_changed = 0;
      for (size_t i = 0; i < hh.size(); ++i) h_changed += hh_new[i] != hh[i] ? 1 : 0;
      parallel_for(
          nrows,
          [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r) {
              double* gr = &g[at(r, 0, n)];
              for (int64_t j = 0; j < n; ++j) {
                const size_t i = at(r, j, n);
                const double delta = hh_new[i] - hh[i];
                if (delta == 0.0) continue;
                target[i] -= delta;
                hh[i] = hh_new[i];
                const double* sj = &sp[at(j, 0, n)];
                for (int64_t c = 0; c < n; ++c) gr[c] -= delta * sj[c];
              }
              obj[static_cast<size_t>(r)] = row_objective(r);
            }
          },
          opt.threads);
      res.objective_per_sweep.push_back(std::accumulate(obj.begin(), obj.end(), 0.0));
      res.sweeps_run = t + 1;
      const int64_t cd_changed = std::accumulate(row_changed.begin(), row_changed.end(), int64_t{0});
      std::fill(row_changed.begin(), row_changed.end(), 0);
      if (round && cd_changed == 0 && h_changed == 0 && t > last_relaxed) {
        // Fixed point of the whole iteration: the remaining ones would repeat it exactly.
        res.objective_per_sweep.resize(static_cast<size_t>(sweeps), res.objective_per_sweep.back());
        break;
      }
    }
  }

  // Back to original column order.
  res.codes.assign(static_cast<size_t>(count), 0);
  res.w_hat.assign(static_cast<size_t>(count), 0.0);
  res.outliers.assign(static_cast<size_t>(count), 0.0);
  for (int64_t r = 0; r < nrows; ++r) {
    const RowGrid& grid = res.grids[static_cast<size_t>(r)];
    for (int64_t p = 0; p < n; ++p) {
      const int64_t c = res.perm[static_cast<size_t>(p)];
      const size_t src = at(r, p, n);
      const size_t dst = at(r, c, n);
      const int q = grid.code(w_hat[src], opt.rounding);
      res.codes[dst] = static_cast<int16_t>(q);
      res.w_hat[dst] = grid.value(q);
      res.outliers[dst] = hh[src];
    }
  }
  // The support is whatever the last selection picked, even where a value happens to be 0.
  res.outlier_count = static_cast<int64_t>(support.size());
  if (outlier_aware && opt.structured_outliers) {
    for (const int64_t i : support) {
      if (i >= n) break;  // row 0 lists every selected column
      res.outlier_columns.push_back(res.perm[static_cast<size_t>(i)]);
    }
    std::sort(res.outlier_columns.begin(), res.outlier_columns.end());
  }
  res.objective = res.objective_per_sweep.empty() ? 0.0 : res.objective_per_sweep.back();
  return res;
}

double quadratic_error(std::span<const float> w, std::span<const double> w_hat, int rows, int cols,
                       std::span<const double> sigma, int threads) {
  check_inputs(w, rows, cols, sigma, "quadratic error");
  const int64_t n = cols;
  if (w_hat.size() != w.size()) fail("quadratic error: {} dequantised values for {} weights", w_hat.size(), w.size());
  std::vector<double> per_row(static_cast<size_t>(rows), 0.0);
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        std::vector<double> d(static_cast<size_t>(n));
        for (int64_t r = begin; r < end; ++r) {
          for (int64_t j = 0; j < n; ++j)
            d[static_cast<size_t>(j)] = static_cast<double>(w[at(r, j, n)]) - w_hat[at(r, j, n)];
          double s = 0.0;
          for (int64_t j = 0; j < n; ++j) s += d[static_cast<size_t>(j)] * dot4(&sigma[at(j, 0, n)], d.data(), n);
          per_row[static_cast<size_t>(r)] = s;
        }
      },
      threads);
  return std::accumulate(per_row.begin(), per_row.end(), 0.0);
}

}  // namespace fq
