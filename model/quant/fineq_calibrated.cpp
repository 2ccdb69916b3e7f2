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

// Row-independent data of one layer: H, and for GPTQ the factor of the padded, damped H.
struct Layer {
  int64_t k = 0, n = 0;           // K and Kp
  std::span<const double> h;      // [K, K], undamped
  GptqFactor factor;              // [Kp, Kp]; empty u when GPTQ does not run
};

Layer make_layer(std::span<const double> h, int cols, double damp, bool gptq) {
  Layer l;
  l.k = cols;
  l.n = 3 * ((cols + 2) / 3);
  l.h = h;
  if (!gptq) return l;
  // H padded to Kp: the padded columns are dead (zero rows and columns), so no error reaches them.
  std::vector<double> hp(static_cast<size_t>(l.n * l.n), 0.0);
  for (int64_t i = 0; i < l.k; ++i) std::copy_n(&h[at(i, 0, l.k)], l.k, &hp[at(i, 0, l.n)]);
  const std::vector<double> diag = gptq_repaired_diagonal(hp, static_cast<int>(l.n), "fineq-gptq");
  std::vector<int> perm(static_cast<size_t>(l.n));
  std::iota(perm.begin(), perm.end(), 0);
  l.factor = gptq_factor(hp, static_cast<int>(l.n), diag, damp, perm, "fineq-gptq");
  return l;
}

// GPTQ over one row with scale s: codes [Kp/3] and the weights each cluster was encoded from [Kp].
void gptq_row(const float* w, const Layer& l, double s, const FineqGptqOptions& opt, uint8_t* codes, float* targets) {
  const int64_t n = l.n, bs = opt.block_size;
  const auto& u = l.factor.u;
  std::vector<double> wr(static_cast<size_t>(n), 0.0), errs(static_cast<size_t>(bs));
  for (int64_t c = 0; c < l.k; ++c) {
    wr[static_cast<size_t>(c)] = l.factor.dead[static_cast<size_t>(c)] != 0 ? 0.0 : static_cast<double>(w[c]);
  }
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

// ŵ of one row [K] from its codes.
void decode_row_codes(const uint8_t* codes, double s, int64_t k, double* wh) {
  for (int64_t c = 0; c < k; ++c) wh[c] = s * decode_cluster(codes[c / 3])[static_cast<size_t>(c % 3)];
}

// (w − ŵ)ᵀ·H·(w − ŵ) of one row; d receives w − ŵ and g (when given) d·H.
double row_error(const float* w, const double* wh, const Layer& l, double* d, double* g) {
  for (int64_t j = 0; j < l.k; ++j) d[j] = static_cast<double>(w[j]) - wh[j];
  double s = 0.0;
  for (int64_t j = 0; j < l.k; ++j) {
    const double gj = dot4(&l.h[at(j, 0, l.k)], d, l.k);  // H symmetric: row j is column j
    if (g != nullptr) g[j] = gj;
    s += d[j] * gj;
  }
  return s;
}

// Distinct decoded triples, each with the lowest byte that decodes to it (normal before outlier),
// as columns of the quadratic form's monomials so that scoring every candidate is one
// vectorisable pass.
struct Candidates {
  std::vector<std::array<int8_t, 3>> q;
  std::vector<uint8_t> byte;
  std::vector<double> q0, q1, q2, q00, q11, q22, q01, q02, q12;
  std::vector<char> fits1, fits2;  // q2 == 0 (for a cluster with two real positions); q1 == q2 == 0 (one)
};

const Candidates& candidates() {
  static const Candidates list = [] {
    Candidates c;
    for (int b = 0; b < 256; ++b) {
      const auto q = decode_cluster(static_cast<uint8_t>(b));
      if (std::find(c.q.begin(), c.q.end(), q) != c.q.end()) continue;
      c.q.push_back(q);
      c.byte.push_back(static_cast<uint8_t>(b));
      const double x = q[0], y = q[1], z = q[2];
      c.q0.push_back(x);
      c.q1.push_back(y);
      c.q2.push_back(z);
      c.q00.push_back(x * x);
      c.q11.push_back(y * y);
      c.q22.push_back(z * z);
      c.q01.push_back(2.0 * x * y);
      c.q02.push_back(2.0 * x * z);
      c.q12.push_back(2.0 * y * z);
      c.fits2.push_back(q[2] == 0 ? 1 : 0);
      c.fits1.push_back(q[1] == 0 && q[2] == 0 ? 1 : 0);
    }
    return c;
  }();
  return list;
}

// Coordinate descent over the clusters of one row. wh: ŵ [cols], g = (w − ŵ)·H [cols].
// Returns the number of cluster updates; sweeps_out receives the sweeps run.
int64_t cd_row(const float* w, int64_t k, std::span<const double> h, double s, uint8_t* codes, double* wh, double* g,
               int sweeps, int& sweeps_out) {
  const Candidates& cands = candidates();
  const size_t nc = cands.q.size();
  std::vector<double> f(nc);
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
      // f(q) = s²·qᵀAq − 2s·bᵀq (the row's error up to a constant), for every candidate.
      const double s2 = s * s, c00 = s2 * a[0][0], c11 = s2 * a[1][1], c22 = s2 * a[2][2], c01 = s2 * a[0][1],
                   c02 = s2 * a[0][2], c12 = s2 * a[1][2], l0 = 2.0 * s * b[0], l1 = 2.0 * s * b[1],
                   l2 = 2.0 * s * b[2];
      for (size_t i = 0; i < nc; ++i) {
        f[i] = c00 * cands.q00[i] + c11 * cands.q11[i] + c22 * cands.q22[i] + c01 * cands.q01[i] + c02 * cands.q02[i] +
               c12 * cands.q12[i] - (l0 * cands.q0[i] + l1 * cands.q1[i] + l2 * cands.q2[i]);
      }
      const auto secondary = [&](size_t i) {
        const double e0 = wt[0] - s * cands.q0[i], e1 = wt[1] - s * cands.q1[i], e2 = wt[2] - s * cands.q2[i];
        return e0 * e0 + e1 * e1 + e2 * e2;
      };
      const auto cur_q = decode_cluster(codes[c]);
      const size_t cur = static_cast<size_t>(std::find(cands.q.begin(), cands.q.end(), cur_q) - cands.q.begin());
      double best = f[cur], best_sec = secondary(cur);
      size_t pick = cur;
      const std::vector<char>* fits = live == 3 ? nullptr : (live == 2 ? &cands.fits2 : &cands.fits1);
      for (size_t i = 0; i < nc; ++i) {
        if (f[i] > best || (fits != nullptr && (*fits)[i] == 0)) continue;
        const double sec = secondary(i);
        if (f[i] < best || sec < best_sec) {
          best = f[i];
          best_sec = sec;
          pick = i;
        }
      }
      if (pick == cur) continue;
      codes[c] = cands.byte[pick];
      ++changed;
      for (int i = 0; i < live; ++i) {
        const double v = s * cands.q[pick][static_cast<size_t>(i)];
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

// The 11 candidate scales of search_and_encode() (fp16(α·absmax/4), α = 1.00 ... 0.50, a zero
// scale raised to the smallest subnormal), for the output-error scale search.
std::vector<uint16_t> scale_candidates(const float* w, int64_t k, const char* who, int64_t row) {
  double absmax = 0;
  for (int64_t j = 0; j < k; ++j) absmax = std::max(absmax, std::fabs(static_cast<double>(w[j])));
  if (absmax == 0) return {0x3c00};
  std::vector<uint16_t> out;
  for (int i = 0; i <= 10; ++i) {
    const double alpha = static_cast<double>(100 - 5 * i) / 100.0;
    uint16_t bits = fp16_from_float(static_cast<float>(alpha * absmax / 4.0));
    if (!fp16_is_finite(bits)) fail("{}: row {}: absmax {} is too large for an FP16 scale", who, row, absmax);
    out.push_back(bits == 0 ? uint16_t{0x0001} : bits);
  }
  return out;
}

enum class Algo { kGptq, kCd };

struct RowOutcome {
  double objective = 0, objective_plain = 0, objective_start = 0;
  int sweeps = 0;
  int64_t updates = 0;
};

// One row: scale (plain search or output-error search), start codes, GPTQ and/or CD.
RowOutcome quantize_row(const float* w, const Layer& l, Algo algo, const FineqCdOptions& opt, uint8_t* codes,
                        uint16_t& scale, float* targets, double* wh, const char* who, int64_t row) {
  const FineqGptqOptions& o = opt.start;
  const auto rb = static_cast<size_t>(l.n / 3);
  std::vector<double> d(static_cast<size_t>(l.k)), g(static_cast<size_t>(l.k));
  RowOutcome out;
  try {
    scale = search_and_encode(std::span<const float>(w, static_cast<size_t>(l.k)), o.policy, o.threshold,
                              std::span<uint8_t>(codes, rb));
  } catch (const Error& e) {
    fail("{}: row {}: {}", who, row, e.what());
  }
  decode_row_codes(codes, fp16_to_float(scale), l.k, wh);
  out.objective_plain = row_error(w, wh, l, d.data(), nullptr);
  const bool gptq = algo == Algo::kGptq || opt.init == FineqCdInit::kGptq;
  // One run of the algorithm at scale bits s, from the plain codes in `c`.
  const auto run = [&](uint16_t s_bits, uint8_t* c, float* t, double* w_hat, RowOutcome& r) {
    const double s = fp16_to_float(s_bits);
    if (gptq) gptq_row(w, l, s, o, c, t);
    decode_row_codes(c, s, l.k, w_hat);
    r.objective_start = row_error(w, w_hat, l, d.data(), g.data());
    r.objective = r.objective_start;
    if (algo == Algo::kCd) {
      r.updates = cd_row(w, l.k, l.h, s, c, w_hat, g.data(), opt.sweeps, r.sweeps);
      r.objective = row_error(w, w_hat, l, d.data(), nullptr);
    }
  };
  if (o.scale == FineqScale::kWeights) {
    run(scale, codes, targets, wh, out);
    return out;
  }
  std::vector<uint8_t> c(rb);
  std::vector<float> t(static_cast<size_t>(l.n));
  std::vector<double> w_hat(static_cast<size_t>(l.k));
  bool first = true;
  for (const uint16_t s_bits : scale_candidates(w, l.k, who, row)) {
    encode_row(std::span<const float>(w, static_cast<size_t>(l.k)), fp16_to_float(s_bits), o.policy, o.threshold, c);
    RowOutcome r;
    r.objective_plain = out.objective_plain;
    run(s_bits, c.data(), t.data(), w_hat.data(), r);
    if (first || r.objective < out.objective) {  // the first (largest) scale wins ties
      out = r;
      scale = s_bits;
      std::copy(c.begin(), c.end(), codes);
      std::copy(t.begin(), t.end(), targets);
      std::copy(w_hat.begin(), w_hat.end(), wh);
      first = false;
    }
  }
  return out;
}

FineqCalibratedResult run_all(std::span<const float> w, int rows, int cols, std::span<const double> hessian,
                              Algo algo, const FineqCdOptions& opt, const char* who) {
  check_inputs(w, rows, cols, hessian, opt.start, who);
  if (opt.sweeps < 1) fail("{}: sweeps {} must be >= 1", who, opt.sweeps);
  for (int64_t j = 0; j < cols; ++j) {
    const double dj = hessian[at(j, j, cols)];
    if (dj < 0.0) fail("{}: Hessian diagonal entry {} is negative ({})", who, j, dj);
  }
  const bool gptq = algo == Algo::kGptq || opt.init == FineqCdInit::kGptq;
  const Layer l = make_layer(hessian, cols, opt.start.damp, gptq);
  FineqCalibratedResult res;
  res.rows = rows;
  res.cols = cols;
  res.cols_padded = static_cast<int>(l.n);
  for (int64_t j = 0; j < cols; ++j) res.dead_columns += hessian[at(j, j, cols)] == 0.0 ? 1 : 0;
  const auto rb = static_cast<size_t>(l.n / 3);
  res.codes.assign(static_cast<size_t>(rows) * rb, 0);
  res.scales.assign(static_cast<size_t>(rows), 0);
  res.w_hat.assign(static_cast<size_t>(rows) * static_cast<size_t>(cols), 0.0);
  std::vector<float> targets(static_cast<size_t>(rows) * static_cast<size_t>(l.n), 0.0f);
  std::vector<RowOutcome> outcome(static_cast<size_t>(rows));
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          outcome[static_cast<size_t>(r)] =
              quantize_row(&w[at(r, 0, cols)], l, algo, opt, &res.codes[static_cast<size_t>(r) * rb],
                           res.scales[static_cast<size_t>(r)], &targets[at(r, 0, l.n)], &res.w_hat[at(r, 0, cols)], who, r);
        }
      },
      opt.start.threads);
  if (gptq && algo == Algo::kGptq) res.targets = std::move(targets);
  for (const RowOutcome& o : outcome) {  // in row order: thread-count independent
    res.objective += o.objective;
    res.objective_plain += o.objective_plain;
    res.objective_start += o.objective_start;
    res.sweeps_run = std::max(res.sweeps_run, o.sweeps);
    res.clusters_changed += o.updates;
  }
  return res;
}

}  // namespace

FineqCalibratedResult fineq_gptq_quantize(std::span<const float> w, int rows, int cols, std::span<const double> hessian,
                                          const FineqGptqOptions& opt) {
  FineqCdOptions cd;
  cd.start = opt;
  return run_all(w, rows, cols, hessian, Algo::kGptq, cd, "fineq-gptq");
}

FineqCalibratedResult fineq_quantease_quantize(std::span<const float> w, int rows, int cols,
                                               std::span<const double> hessian, const FineqCdOptions& opt) {
  return run_all(w, rows, cols, hessian, Algo::kCd, opt, "fineq-quantease");
}

}  // namespace fq
