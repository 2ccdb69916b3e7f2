#include "model/quant/gptq.h"

#include "model/core/dot.h"
#include "model/core/error.h"
#include "model/core/parallel.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fq {

namespace {

// Rows handled together so that each row of U, once in L1, serves several weight rows.
constexpr int64_t kTileRows = 8;

size_t at(int64_t r, int64_t c, int64_t cols) { return static_cast<size_t>(r * cols + c); }

void check_weights(std::span<const float> w, int rows, int cols, const char* who) {
  if (rows < 1 || cols < 1) fail("{}: shape [{}, {}] must be at least [1, 1]", who, rows, cols);
  if (w.size() != static_cast<size_t>(rows) * static_cast<size_t>(cols)) {
    fail("{}: {} weights for shape [{}, {}]", who, w.size(), rows, cols);
  }
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float v = w[at(r, c, cols)];
      if (!std::isfinite(v)) fail("{}: weight at row {} column {} is not finite ({})", who, r, c, v);
    }
  }
}

// In-place lower Cholesky factor of the n×n matrix a (lower triangle read, upper set to 0).
// Returns -1, or the index of the first pivot that is not finite and positive.
int cholesky_lower(std::vector<double>& a, int n) {
  for (int i = 0; i < n; ++i) {
    double* ri = &a[at(i, 0, n)];
    for (int j = 0; j <= i; ++j) {
      const double* rj = &a[at(j, 0, n)];
      double s = ri[j];
      for (int k = 0; k < j; ++k) s -= ri[k] * rj[k];
      if (j < i) {
        ri[j] = s / rj[j];
      } else {
        if (!(s > 0.0) || !std::isfinite(s)) return i;
        ri[i] = std::sqrt(s);
      }
    }
    for (int j = i + 1; j < n; ++j) ri[j] = 0.0;
  }
  return -1;
}

// Inverse of a lower-triangular n×n matrix with a positive diagonal, row by row:
// row i of L⁻¹ = (e_i - Σ_{k<i} L_ik·row k of L⁻¹) / L_ii, each row an axpy over contiguous memory.
std::vector<double> invert_lower(const std::vector<double>& l, int n) {
  std::vector<double> inv(static_cast<size_t>(n) * static_cast<size_t>(n), 0.0);
  for (int i = 0; i < n; ++i) {
    double* out = &inv[at(i, 0, n)];
    const double* li = &l[at(i, 0, n)];
    for (int k = 0; k < i; ++k) {
      const double f = li[k];
      const double* rk = &inv[at(k, 0, n)];
      for (int j = 0; j <= k; ++j) out[j] -= f * rk[j];
    }
    out[i] = 1.0;
    const double d = li[i];
    for (int j = 0; j <= i; ++j) out[j] /= d;
  }
  return inv;
}

}  // namespace

std::vector<double> gptq_repaired_diagonal(std::span<const double> hessian, int cols, const char* who) {
  const int64_t n = cols;
  std::vector<double> diag(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    const double d = hessian[at(j, j, n)];
    if (d < 0.0) fail("{}: Hessian diagonal entry {} is negative ({})", who, j, d);
    diag[static_cast<size_t>(j)] = d == 0.0 ? 1.0 : d;
  }
  return diag;
}

GptqFactor gptq_factor(std::span<const double> hessian, int cols, std::span<const double> diag, double damp,
                       std::span<const int> perm, const char* who) {
  const int64_t n = cols;
  GptqFactor f;
  f.dead.assign(static_cast<size_t>(n), 0);
  for (int64_t j = 0; j < n; ++j) {
    f.dead[static_cast<size_t>(j)] = hessian[at(j, j, n)] == 0.0 ? 1 : 0;
    f.dead_columns += f.dead[static_cast<size_t>(j)];
  }
  const double mean_diag = std::accumulate(diag.begin(), diag.end(), 0.0) / static_cast<double>(n);
  f.damp_added = damp * mean_diag;

  // U = upper Cholesky factor of Hp⁻¹ (Hp: permuted, repaired, damped). With J the reversal,
  // J·Hp·J = L·Lᵀ gives Hp = V·Vᵀ with V = J·L·J upper, so Hp⁻¹ = (V⁻¹)ᵀ·V⁻¹ and, the factor being
  // unique, U = V⁻¹ = J·L⁻¹·J [derived]: one Cholesky and one triangular inverse.
  std::vector<double> a(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i) {
    const int pi = perm[static_cast<size_t>(n - 1 - i)];
    for (int64_t j = 0; j < n; ++j) {
      const int pj = perm[static_cast<size_t>(n - 1 - j)];
      const double v = pi == pj ? diag[static_cast<size_t>(pi)] + f.damp_added
                                : hessian[at(std::min(pi, pj), std::max(pi, pj), n)];
      a[at(i, j, n)] = v;
    }
  }
  const int bad = cholesky_lower(a, cols);
  if (bad >= 0) {
    fail(
        "{}: Hessian is not positive definite after damping (damp {}, added {} to the diagonal; Cholesky "
        "fails at column {}); check that H is symmetric positive semi-definite or raise damp",
        who, damp, f.damp_added, perm[static_cast<size_t>(n - 1 - bad)]);
  }
  const std::vector<double> linv = invert_lower(a, cols);
  f.u.resize(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) f.u[at(i, j, n)] = linv[at(n - 1 - i, n - 1 - j, n)];
  }
  return f;
}

GptqResult gptq_quantize(std::span<const float> w, int rows, int cols, std::span<const double> hessian,
                         const GptqOptions& opt) {
  check_weights(w, rows, cols, "gptq");
  check_grid_bits(opt.bits, "gptq");
  const int64_t n = cols;
  if (hessian.size() != static_cast<size_t>(n * n)) {
    fail("gptq: Hessian has {} entries, expected {} x {} = {}", hessian.size(), cols, cols, n * n);
  }
  for (int64_t i = 0; i < n * n; ++i) {
    if (!std::isfinite(hessian[static_cast<size_t>(i)])) {
      fail("gptq: Hessian entry ({}, {}) is not finite", i / n, i % n);
    }
  }
  if (opt.group_size < 0) fail("gptq: group_size {} must be >= 0", opt.group_size);
  if (opt.block_size < 1) fail("gptq: block_size {} must be >= 1", opt.block_size);
  if (!(opt.damp >= 0.0) || !std::isfinite(opt.damp)) fail("gptq: damp {} must be finite and >= 0", opt.damp);
  if (opt.clip_search && (!(opt.norm > 0.0) || !std::isfinite(opt.norm))) {
    fail("gptq: clip search norm {} must be finite and > 0", opt.norm);
  }
  if (opt.static_groups && opt.group_size == 0) fail("gptq: static_groups needs group_size > 0");

  const int g = opt.group_size;
  const int groups = g > 0 ? (cols + g - 1) / g : 1;
  if (!opt.fixed_grids.empty() && opt.fixed_grids.size() != static_cast<size_t>(rows) * static_cast<size_t>(groups)) {
    fail("gptq: {} fixed grids for {} rows x {} groups", opt.fixed_grids.size(), rows, groups);
  }
  const GridSpec spec{opt.bits, opt.symmetric, opt.include_zero};
  const auto fit = [&](std::span<const double> x) {
    return opt.clip_search ? fit_grid_mse(x, spec, opt.norm, opt.rounding) : fit_grid(x, spec, 1.0, opt.rounding);
  };

  GptqResult res;
  res.rows = rows;
  res.cols = cols;
  res.groups = groups;

  // Dead columns, then the processing order (act-order sorts the repaired diagonal, as the reference does).
  const std::vector<double> diag = gptq_repaired_diagonal(hessian, cols, "gptq");
  res.perm.resize(static_cast<size_t>(n));
  std::iota(res.perm.begin(), res.perm.end(), 0);
  if (opt.act_order) {
    std::stable_sort(res.perm.begin(), res.perm.end(),
                     [&](int a, int b) { return diag[static_cast<size_t>(a)] > diag[static_cast<size_t>(b)]; });
  }
  res.inv_perm.resize(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p)
    res.inv_perm[static_cast<size_t>(res.perm[static_cast<size_t>(p)])] = static_cast<int>(p);
  const GptqFactor factor = gptq_factor(hessian, cols, diag, opt.damp, res.perm, "gptq");
  const std::vector<char>& dead = factor.dead;
  const std::vector<double>& u = factor.u;
  res.dead_columns = factor.dead_columns;
  res.damp_added = factor.damp_added;

  res.group_of_col.assign(static_cast<size_t>(n), 0);
  if (g > 0) {
    for (int64_t c = 0; c < n; ++c) {
      const int64_t pos = opt.static_groups ? c : res.inv_perm[static_cast<size_t>(c)];
      res.group_of_col[static_cast<size_t>(c)] = static_cast<int>(pos / g);
    }
  }
  res.codes.assign(static_cast<size_t>(rows) * static_cast<size_t>(n), 0);
  res.w_hat.assign(res.codes.size(), 0.0);
  res.grids.resize(static_cast<size_t>(rows) * static_cast<size_t>(groups));
  if (!opt.fixed_grids.empty()) std::copy(opt.fixed_grids.begin(), opt.fixed_grids.end(), res.grids.begin());
  res.row_loss.assign(static_cast<size_t>(rows), 0.0);

  const int64_t bs = opt.block_size;
  const bool fit_grids = opt.fixed_grids.empty();
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        std::vector<double> wt(static_cast<size_t>(kTileRows * n));
        std::vector<double> errs(static_cast<size_t>(kTileRows * bs));
        std::vector<double> orig(static_cast<size_t>(n));
        std::vector<double> group_vals(static_cast<size_t>(std::max(g, 1)));
        for (int64_t r0 = begin; r0 < end; r0 += kTileRows) {
          const int64_t nr = std::min(kTileRows, end - r0);
          for (int64_t t = 0; t < nr; ++t) {
            const int64_t row = r0 + t;
            for (int64_t c = 0; c < n; ++c) orig[static_cast<size_t>(c)] = static_cast<double>(w[at(row, c, n)]);
            if (fit_grids && g == 0) res.grids[static_cast<size_t>(row)] = fit(orig);
            for (int64_t c = 0; c < n; ++c) {
              if (dead[static_cast<size_t>(c)] != 0) orig[static_cast<size_t>(c)] = 0.0;
            }
            if (fit_grids && opt.static_groups) {
              for (int64_t k = 0; k < groups; ++k) {
                const int64_t c0 = k * g;
                const int64_t len = std::min<int64_t>(g, n - c0);
                res.grids[at(row, k, groups)] =
                    fit(std::span<const double>(orig).subspan(static_cast<size_t>(c0), static_cast<size_t>(len)));
              }
            }
            double* wr = &wt[at(t, 0, n)];
            for (int64_t p = 0; p < n; ++p) wr[p] = orig[static_cast<size_t>(res.perm[static_cast<size_t>(p)])];
          }
          for (int64_t b1 = 0; b1 < n; b1 += bs) {
            const int64_t b2 = std::min(b1 + bs, n);
            for (int64_t j = b1; j < b2; ++j) {
              const double* uj = &u[at(j, 0, n)];
              const double d = uj[j];
              const int col = res.perm[static_cast<size_t>(j)];
              for (int64_t t = 0; t < nr; ++t) {
                const int64_t row = r0 + t;
                double* wr = &wt[at(t, 0, n)];
                if (fit_grids && g > 0 && !opt.static_groups && j % g == 0) {
                  // Columns past this block still miss this block's batched update: add it here.
                  const int64_t len = std::min<int64_t>(g, n - j);
                  for (int64_t k = j; k < j + len; ++k) {
                    double v = wr[k];
                    if (k >= b2) {
                      for (int64_t c = b1; c < j; ++c) v -= errs[at(t, c - b1, bs)] * u[at(c, k, n)];
                    }
                    group_vals[static_cast<size_t>(k - j)] = v;
                  }
                  res.grids[at(row, j / g, groups)] =
                      fit(std::span<const double>(group_vals).first(static_cast<size_t>(len)));
                }
                const RowGrid& grid = res.grids[at(row, res.group_of_col[static_cast<size_t>(col)], groups)];
                const double x = wr[j];
                const int q = grid.code(x, opt.rounding);
                const double v = grid.value(q);
                res.codes[at(row, col, n)] = static_cast<int16_t>(q);
                res.w_hat[at(row, col, n)] = v;
                const double e = (x - v) / d;
                res.row_loss[static_cast<size_t>(row)] += 0.5 * e * e;
                errs[at(t, j - b1, bs)] = e;
                for (int64_t k = j + 1; k < b2; ++k) wr[k] -= e * uj[k];
              }
            }
            for (int64_t j = b1; j < b2; ++j) {
              const double* uj = &u[at(j, 0, n)];
              for (int64_t t = 0; t < nr; ++t) {
                const double e = errs[at(t, j - b1, bs)];
                double* wr = &wt[at(t, 0, n)];
                for (int64_t k = b2; k < n; ++k) wr[k] -= e * uj[k];
              }
            }
          }
        }
      },
      opt.threads);
  return res;
}

std::vector<double> hessian_from_activations(std::span<const float> x, int tokens, int cols, int threads) {
  if (tokens < 1 || cols < 1) fail("hessian: shape [{}, {}] must be at least [1, 1]", tokens, cols);
  if (x.size() != static_cast<size_t>(tokens) * static_cast<size_t>(cols)) {
    fail("hessian: {} activations for shape [{}, {}]", x.size(), tokens, cols);
  }
  const int64_t n = cols;
  const int64_t m = tokens;
  // Columns of X as contiguous double rows, so each entry is a dot product of two contiguous rows.
  std::vector<double> xt(static_cast<size_t>(n * m));
  for (int64_t t = 0; t < m; ++t) {
    for (int64_t j = 0; j < n; ++j) {
      const float v = x[at(t, j, n)];
      if (!std::isfinite(v)) fail("hessian: activation at token {} column {} is not finite ({})", t, j, v);
      xt[at(j, t, m)] = static_cast<double>(v);
    }
  }
  const double f = 2.0 / static_cast<double>(m);
  std::vector<double> h(static_cast<size_t>(n * n));
  const auto row = [&](int64_t j) {
    const double* a = &xt[at(j, 0, m)];
    for (int64_t k = j; k < n; ++k) {
      const double* b = &xt[at(k, 0, m)];
      const double v = f * dot4(a, b, m);
      h[at(j, k, n)] = v;
      h[at(k, j, n)] = v;
    }
  };
  // Item i owns rows i and n-1-i, which balances the triangle's work across threads.
  parallel_for((n + 1) / 2,
               [&](int64_t begin, int64_t end) {
                 for (int64_t i = begin; i < end; ++i) {
                   row(i);
                   if (n - 1 - i != i) row(n - 1 - i);
                 }
               },
               threads);
  return h;
}

}  // namespace fq
