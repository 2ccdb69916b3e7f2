#include "model/quant/fineq_calibrated.h"

#include "model/core/dot.h"
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/parallel.h"
#include "model/quant/cluster_codec.h"
#include "model/quant/gptq.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

namespace fq {
namespace {

size_t at(int64_t r, int64_t c, int64_t cols) { return static_cast<size_t>(r * cols + c); }

void check_inputs(std::span<const float> w, int rows, int cols, std::span<const double> h, const FineqGptqOptions& opt,
                  const char* who) {
  if (rows < 1 || cols < 1) fail("{}: shape [{}, {}] must be at least [1, 1]", who, rows, cols);
  if (w.size() != static_cast<size_t>(rows) * static_cast<size_t>(cols)) {
    fail("{}: {} weights for shape [{}, {}]", who, w.size(), rows, cols);
  }
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      fail("{}: weight at row {} column {} is not finite ({})", who, i / static_cast<size_t>(cols),
           i % static_cast<size_t>(cols), w[i]);
    }
  }
  const int64_t n = cols;
  if (h.size() != static_cast<size_t>(n * n)) {
    fail("{}: Hessian has {} entries, expected {} x {} = {}", who, h.size(), cols, cols, n * n);
  }
  for (int64_t i = 0; i < n * n; ++i) {
    if (!std::isfinite(h[static_cast<size_t>(i)])) fail("{}: Hessian entry ({}, {}) is not finite", who, i / n, i % n);
  }
  if (!(opt.threshold > 0.0) || !std::isfinite(opt.threshold)) fail("{}: threshold {} must be > 0", who, opt.threshold);
  if (opt.block_size < 3 || opt.block_size % 3 != 0) {
    fail("{}: block size {} must be a positive multiple of 3 (whole clusters)", who, opt.block_size);
  }
  if (!(opt.damp >= 0.0) || !std::isfinite(opt.damp)) fail("{}: damp {} must be finite and >= 0", who, opt.damp);
}

// The plain FineQ-R scale of every row (fineq_r.cpp's search) and its codes.
void plain_fineq(std::span<const float> w, int rows, int cols, const FineqGptqOptions& opt, FineqCalibratedResult& res,
                 const char* who) {
  const auto rb = static_cast<size_t>(res.cols_padded / 3);
  res.codes.assign(static_cast<size_t>(rows) * rb, 0);
  res.scales.assign(static_cast<size_t>(rows), 0);
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const auto row = w.subspan(static_cast<size_t>(r) * static_cast<size_t>(cols), static_cast<size_t>(cols));
          try {
            res.scales[static_cast<size_t>(r)] =
                search_and_encode(row, opt.policy, opt.threshold, std::span<uint8_t>(res.codes).subspan(static_cast<size_t>(r) * rb, rb));
          } catch (const Error& e) {
            fail("{}: row {}: {}", who, r, e.what());
          }
        }
      },
      opt.threads);
}

// ŵ from codes and scales, [rows, cols].
std::vector<double> dequantized(const FineqCalibratedResult& res) {
  const auto rb = static_cast<size_t>(res.cols_padded / 3);
  std::vector<double> w_hat(static_cast<size_t>(res.rows) * static_cast<size_t>(res.cols));
  for (int64_t r = 0; r < res.rows; ++r) {
    const double s = fp16_to_float(res.scales[static_cast<size_t>(r)]);
    for (int64_t c = 0; c < res.cols; ++c) {
      const auto q = decode_cluster(res.codes[static_cast<size_t>(r) * rb + static_cast<size_t>(c / 3)]);
      w_hat[at(r, c, res.cols)] = s * q[static_cast<size_t>(c % 3)];
    }
  }
  return w_hat;
}

// Σ_rows (w − ŵ)ᵀ·H·(w − ŵ), one fixed-order sum per row, rows summed in order.
double objective(std::span<const float> w, const std::vector<double>& w_hat, int rows, int cols,
                 std::span<const double> h, int threads) {
  const int64_t n = cols;
  std::vector<double> per_row(static_cast<size_t>(rows), 0.0);
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        std::vector<double> d(static_cast<size_t>(n));
        for (int64_t r = begin; r < end; ++r) {
          for (int64_t j = 0; j < n; ++j) d[static_cast<size_t>(j)] = static_cast<double>(w[at(r, j, n)]) - w_hat[at(r, j, n)];
          double s = 0.0;
          for (int64_t j = 0; j < n; ++j) s += d[static_cast<size_t>(j)] * dot4(&h[at(j, 0, n)], d.data(), n);
          per_row[static_cast<size_t>(r)] = s;
        }
      },
      threads);
  return std::accumulate(per_row.begin(), per_row.end(), 0.0);
}

FineqCalibratedResult make_result(int rows, int cols) {
  FineqCalibratedResult res;
  res.rows = rows;
  res.cols = cols;
  res.cols_padded = 3 * ((cols + 2) / 3);
  return res;
}

int count_dead(std::span<const double> h, int cols) {
  int dead = 0;
  for (int64_t j = 0; j < cols; ++j) dead += h[at(j, j, cols)] == 0.0 ? 1 : 0;
  return dead;
}

// Codes of `res` replaced by GPTQ with the cluster codec (the scales stay).
void gptq_codes(std::span<const float> w, std::span<const double> h, const FineqGptqOptions& opt,
                FineqCalibratedResult& res) {
  const int rows = res.rows, cols = res.cols;
  const int64_t k = cols, n = res.cols_padded;
  // H padded to Kp: the padded columns are dead (zero rows and columns).
  std::vector<double> hp(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < k; ++i) std::copy_n(&h[at(i, 0, k)], k, &hp[at(i, 0, n)]);
  const std::vector<double> diag = gptq_repaired_diagonal(hp, static_cast<int>(n), "fineq-gptq");
  std::vector<int> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  const GptqFactor f = gptq_factor(hp, static_cast<int>(n), diag, opt.damp, perm, "fineq-gptq");
  const auto& u = f.u;
  const auto rb = static_cast<size_t>(n / 3);
  const int64_t bs = opt.block_size;
  res.targets.assign(static_cast<size_t>(rows) * static_cast<size_t>(n), 0.0f);
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        std::vector<double> wr(static_cast<size_t>(n));
        std::vector<double> errs(static_cast<size_t>(bs));
        for (int64_t r = begin; r < end; ++r) {
          std::fill(wr.begin(), wr.end(), 0.0);
          for (int64_t c = 0; c < k; ++c) {
            wr[static_cast<size_t>(c)] = f.dead[static_cast<size_t>(c)] != 0 ? 0.0 : static_cast<double>(w[at(r, c, k)]);
          }
          const double s = fp16_to_float(res.scales[static_cast<size_t>(r)]);
          uint8_t* codes = &res.codes[static_cast<size_t>(r) * rb];
          float* targets = &res.targets[at(r, 0, n)];
          for (int64_t b1 = 0; b1 < n; b1 += bs) {
            const int64_t b2 = std::min(b1 + bs, n);
            for (int64_t j0 = b1; j0 < b2; j0 += 3) {
              const std::array<float, 3> t{static_cast<float>(wr[static_cast<size_t>(j0)]),
                                           static_cast<float>(wr[static_cast<size_t>(j0 + 1)]),
                                           static_cast<float>(wr[static_cast<size_t>(j0 + 2)])};
              std::copy(t.begin(), t.end(), targets + j0);
              const uint8_t byte = encode_cluster(t, s, opt.policy, opt.threshold);
              codes[j0 / 3] = byte;
              const auto q = decode_cluster(byte);
              for (int64_t j = j0; j < j0 + 3; ++j) {
                const double* uj = &u[at(j, 0, n)];
                const double e = (wr[static_cast<size_t>(j)] - s * q[static_cast<size_t>(j - j0)]) / uj[j];
                errs[static_cast<size_t>(j - b1)] = e;
                for (int64_t kk = j + 1; kk < b2; ++kk) wr[static_cast<size_t>(kk)] -= e * uj[kk];
              }
            }
            for (int64_t j = b1; j < b2; ++j) {
              const double* uj = &u[at(j, 0, n)];
              const double e = errs[static_cast<size_t>(j - b1)];
              for (int64_t kk = b2; kk < n; ++kk) wr[static_cast<size_t>(kk)] -= e * uj[kk];
            }
          }
        }
      },
      opt.threads);
}

// Distinct decoded triples, each with the lowest byte that decodes to it (normal before outlier).
struct Candidate {
  std::array<int8_t, 3> q;
  uint8_t byte;
};

const std::vector<Candidate>& candidates() {
  static const std::vector<Candidate> list = [] {
    std::vector<Candidate> out;
    for (int b = 0; b < 256; ++b) {
      const auto q = decode_cluster(static_cast<uint8_t>(b));
      const bool seen = std::any_of(out.begin(), out.end(), [&](const Candidate& c) { return c.q == q; });
      if (!seen) out.push_back({q, static_cast<uint8_t>(b)});
    }
    return out;
  }();
  return list;
}

// Coordinate descent over the clusters of one row. wh: ŵ [cols], g = (w − ŵ)·H [cols].
// Returns the number of cluster updates; sweeps_out receives the sweeps run.
int64_t cd_row(const float* w, int64_t k, std::span<const double> h, double s, uint8_t* codes, double* wh, double* g,
               int sweeps, int& sweeps_out) {
  const auto& cands = candidates();
  const int64_t clusters = (k + 2) / 3;
  int64_t updates = 0;
  sweeps_out = 0;
  for (int t = 0; t < sweeps; ++t) {
    ++sweeps_out;
    int64_t changed = 0;
    for (int64_t c = 0; c < clusters; ++c) {
      const int64_t j0 = 3 * c;
      const int live = static_cast<int>(std::min<int64_t>(3, k - j0));  // positions past K stay 0
      double a[3][3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
      double b[3] = {0, 0, 0}, wt[3] = {0, 0, 0};
      for (int i = 0; i < live; ++i) {
        for (int m = 0; m < live; ++m) a[i][m] = h[at(j0 + i, j0 + m, k)];
        wt[i] = static_cast<double>(w[j0 + i]);
      }
      for (int i = 0; i < live; ++i) {
        b[i] = g[j0 + i];
        for (int m = 0; m < live; ++m) b[i] += a[i][m] * wh[j0 + m];
      }
      const auto score = [&](const std::array<int8_t, 3>& q, double& secondary) {
        const double q0 = q[0], q1 = q[1], q2 = q[2];
        const double quad = a[0][0] * q0 * q0 + a[1][1] * q1 * q1 + a[2][2] * q2 * q2 +
                            2.0 * (a[0][1] * q0 * q1 + a[0][2] * q0 * q2 + a[1][2] * q1 * q2);
        const double lin = b[0] * q0 + b[1] * q1 + b[2] * q2;
        const double e0 = wt[0] - s * q0, e1 = wt[1] - s * q1, e2 = wt[2] - s * q2;
        secondary = e0 * e0 + e1 * e1 + e2 * e2;
        return s * s * quad - 2.0 * s * lin;
      };
      const uint8_t current = codes[c];
      const auto cur_q = decode_cluster(current);
      double best_sec = 0;
      double best = score(cur_q, best_sec);
      const Candidate* pick = nullptr;
      for (const Candidate& cand : cands) {
        if ((live < 3 && cand.q[2] != 0) || (live < 2 && cand.q[1] != 0)) continue;
        double sec = 0;
        const double v = score(cand.q, sec);
        if (v < best || (v == best && sec < best_sec)) {
          best = v;
          best_sec = sec;
          pick = &cand;
        }
      }
      if (pick == nullptr || pick->q == cur_q) continue;
      codes[c] = pick->byte;
      ++changed;
      for (int i = 0; i < live; ++i) {
        const double v = s * pick->q[static_cast<size_t>(i)];
        const double delta = v - wh[j0 + i];
        if (delta == 0.0) continue;
        wh[j0 + i] = v;
        const double* hj = &h[at(j0 + i, 0, k)];
        for (int64_t m = 0; m < k; ++m) g[m] -= delta * hj[m];
      }
    }
    updates += changed;
    if (changed == 0) break;  // fixed point: a further sweep would repeat this one
  }
  return updates;
}

}  // namespace

FineqCalibratedResult fineq_gptq_quantize(std::span<const float> w, int rows, int cols, std::span<const double> hessian,
                                          const FineqGptqOptions& opt) {
  check_inputs(w, rows, cols, hessian, opt, "fineq-gptq");
  FineqCalibratedResult res = make_result(rows, cols);
  res.dead_columns = count_dead(hessian, cols);
  plain_fineq(w, rows, cols, opt, res, "fineq-gptq");
  res.objective_start = objective(w, dequantized(res), rows, cols, hessian, opt.threads);
  gptq_codes(w, hessian, opt, res);
  res.w_hat = dequantized(res);
  res.objective = objective(w, res.w_hat, rows, cols, hessian, opt.threads);
  return res;
}

FineqCalibratedResult fineq_quantease_quantize(std::span<const float> w, int rows, int cols,
                                               std::span<const double> hessian, const FineqCdOptions& opt) {
  check_inputs(w, rows, cols, hessian, opt.start, "fineq-quantease");
  if (opt.sweeps < 1) fail("fineq-quantease: sweeps {} must be >= 1", opt.sweeps);
  for (int64_t j = 0; j < cols; ++j) {
    const double d = hessian[at(j, j, cols)];
    if (d < 0.0) fail("fineq-quantease: Hessian diagonal entry {} is negative ({})", j, d);
  }
  FineqCalibratedResult res = make_result(rows, cols);
  res.dead_columns = count_dead(hessian, cols);
  plain_fineq(w, rows, cols, opt.start, res, "fineq-quantease");
  if (opt.init == FineqCdInit::kGptq) gptq_codes(w, hessian, opt.start, res);
  res.targets.clear();
  res.w_hat = dequantized(res);
  res.objective_start = objective(w, res.w_hat, rows, cols, hessian, opt.start.threads);

  const int64_t k = cols;
  const auto rb = static_cast<size_t>(res.cols_padded / 3);
  std::vector<int> row_sweeps(static_cast<size_t>(rows), 0);
  std::vector<int64_t> row_updates(static_cast<size_t>(rows), 0);
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        std::vector<double> d(static_cast<size_t>(k)), g(static_cast<size_t>(k));
        for (int64_t r = begin; r < end; ++r) {
          double* wh = &res.w_hat[at(r, 0, k)];
          for (int64_t j = 0; j < k; ++j) d[static_cast<size_t>(j)] = static_cast<double>(w[at(r, j, k)]) - wh[j];
          // g = d·H, H symmetric: row j of H is column j.
          for (int64_t j = 0; j < k; ++j) g[static_cast<size_t>(j)] = dot4(&hessian[at(j, 0, k)], d.data(), k);
          row_updates[static_cast<size_t>(r)] =
              cd_row(&w[at(r, 0, k)], k, hessian, fp16_to_float(res.scales[static_cast<size_t>(r)]),
                     &res.codes[static_cast<size_t>(r) * rb], wh, g.data(), opt.sweeps,
                     row_sweeps[static_cast<size_t>(r)]);
        }
      },
      opt.start.threads);
  res.sweeps_run = *std::max_element(row_sweeps.begin(), row_sweeps.end());
  res.clusters_changed = std::accumulate(row_updates.begin(), row_updates.end(), int64_t{0});
  // ŵ again from the bytes, so it is exactly what a decoder of the codes yields.
  res.w_hat = dequantized(res);
  res.objective = objective(w, res.w_hat, rows, cols, hessian, opt.start.threads);
  return res;
}

}  // namespace fq
