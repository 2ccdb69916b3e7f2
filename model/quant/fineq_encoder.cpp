#include "model/quant/fineq_encoder.h"

#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/rounding.h"
#include "model/quant/cluster_codec.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fq {
namespace {

// A cluster's mode: 0 normal, p = 1..3 prune position p - 1 (the code byte's idx field).
int ratio_mode(const std::array<double, 3>& w, double threshold) {
  const double a0 = std::fabs(w[0]), a1 = std::fabs(w[1]), a2 = std::fabs(w[2]);
  const double mx = std::max({a0, a1, a2});
  const double mn = std::min({a0, a1, a2});
  if (!(mx > threshold * mn)) return 0;
  return a0 == mn ? 1 : (a1 == mn ? 2 : 3);
}

// round_half_away(x) clamped to [lo, hi], exactly, without a libm call: the conversion truncates
// toward zero and x - trunc(x) is exact, so the tie test below is the spec's rounding.
inline int round_clamp(double x, int lo, int hi) {
  // Branch-free: x is first limited to [lo - 1, hi + 1], which keeps every clamped result and
  // makes the conversion safe.
  const double xc = std::min(std::max(x, lo - 1.0), hi + 1.0);
  const int t = static_cast<int>(xc);
  const double frac = xc - t;
  const int q = t + static_cast<int>(frac >= 0.5) - static_cast<int>(frac <= -0.5);
  return std::min(std::max(q, lo), hi);
}

int quant(double w, double scale, int lo, int hi) { return round_clamp(w / scale, lo, hi); }

// round_clamp() in double arithmetic only, so that four lanes run as one vector: (a + 2^52·1.5)
// - 2^52·1.5 rounds |x| <= 5 to nearest even, a tie rounded down is moved up (r - a is exact),
// and the sign goes back on. The same value as round_clamp() for every x.
inline double round_clamp_d(double x, double lo, double hi) {
  const double xc = std::min(std::max(x, lo - 1.0), hi + 1.0);
  const double a = std::fabs(xc);
  double r = (a + 0x1.8p52) - 0x1.8p52;
  r += r - a == -0.5 ? 1.0 : 0.0;
  return std::min(std::max(std::copysign(r, xc), lo), hi);
}

// sum (w - s * round_clamp(w / s))^2 over one flat range of weights, in four partial sums (lane j
// takes the weights i = j mod 4, in order) added as (0 + 1) + (2 + 3): the search compares these
// totals, so this order is the contract, and it is what lets the lanes run as one vector. The
// AVX2 clone has no FMA, so no product is fused into an add and every lane rounds as written.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
double range_error(const double* w, size_t n, double s, double lo, double hi) {
  double acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t j = 0; j < 4; ++j) {
      const double e = w[i + j] - s * round_clamp_d(w[i + j] / s, lo, hi);
      acc[j] += e * e;
    }
  }
  for (; i < n; ++i) {
    const double e = w[i] - s * round_clamp_d(w[i] / s, lo, hi);
    acc[0] += e * e;
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

// encode_row() under `ratio` from the search's ranges: the modes are known, the codes of each range
// are one vector pass, and the clusters take them back in position order (int2: 3 per normal
// cluster, int3: the 2 kept positions of an outlier cluster).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
void range_codes(const double* w, size_t n, double s, double lo, double hi, int8_t* q) {
  for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(round_clamp_d(w[i] / s, lo, hi));
}

void encode_ranges(const std::vector<double>& int2, const std::vector<double>& int3,
                   const std::vector<uint8_t>& modes, double s, std::span<uint8_t> out) {
  std::vector<int8_t> q2(int2.size()), q3(int3.size());
  range_codes(int2.data(), int2.size(), s, -2, 1, q2.data());
  range_codes(int3.data(), int3.size(), s, -4, 3, q3.data());
  size_t i2 = 0, i3 = 0;
  for (size_t c = 0; c < modes.size(); ++c) {
    if (modes[c] == 0) {
      out[c] = pack_normal_cluster(q2[i2], q2[i2 + 1], q2[i2 + 2]);
      i2 += 3;
    } else {
      out[c] = pack_outlier_cluster(modes[c] - 1, q3[i3], q3[i3 + 1]);
      i3 += 2;
    }
  }
}

inline double sq(double v) { return v * v; }

// Under `mse`, each cluster's least squared error over its four modes at one scale, for n
// clusters whose positions are in p0, p1, p2: the error of a mode summed in position order, as
// encode_mode() does, and the least taken mode 0 first. One rounding serves both ranges:
// round_clamp_d(x, -2, 1) = clamp(round_clamp_d(x, -4, 3), -2, 1) (the rounding is monotone and
// the limits keep the sign of x).
inline double least_error(double w0, double w1, double w2, double s) {
  const double r0 = round_clamp_d(w0 / s, -4, 3), r1 = round_clamp_d(w1 / s, -4, 3), r2 = round_clamp_d(w2 / s, -4, 3);
  const double n0 = sq(w0 - s * std::min(std::max(r0, -2.0), 1.0));
  const double n1 = sq(w1 - s * std::min(std::max(r1, -2.0), 1.0));
  const double n2 = sq(w2 - s * std::min(std::max(r2, -2.0), 1.0));
  const double o0 = sq(w0 - s * r0), o1 = sq(w1 - s * r1), o2 = sq(w2 - s * r2);
  const double m0 = n0 + n1 + n2, m1 = sq(w0) + o1 + o2, m2 = o0 + sq(w1) + o2, m3 = o0 + o1 + sq(w2);
  return std::min(std::min(std::min(m0, m1), m2), m3);
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define FQ_FINEQ_AVX2 1
// least_error() for four clusters at a time, operation for operation (GCC does not vectorise the
// scalar loop: "control flow in loop"). avx2 without fma: no product is fused into an add. The
// inputs are finite (check_weights) and s > 0, so min/max see no NaN, and no limit they compare
// with is a zero, so the vector min/max return what std::min/std::max return.
#define FQ_AVX2 __attribute__((target("avx2")))
FQ_AVX2 inline __m256d round3_avx2(__m256d x) {  // round_clamp_d(x, -4, 3)
  const __m256d sign = _mm256_set1_pd(-0.0), magic = _mm256_set1_pd(0x1.8p52);
  const __m256d xc = _mm256_min_pd(_mm256_max_pd(x, _mm256_set1_pd(-5.0)), _mm256_set1_pd(4.0));
  const __m256d a = _mm256_andnot_pd(sign, xc);
  __m256d r = _mm256_sub_pd(_mm256_add_pd(a, magic), magic);
  const __m256d tie = _mm256_cmp_pd(_mm256_sub_pd(r, a), _mm256_set1_pd(-0.5), _CMP_EQ_OQ);
  r = _mm256_add_pd(r, _mm256_and_pd(tie, _mm256_set1_pd(1.0)));
  const __m256d signed_r = _mm256_or_pd(_mm256_andnot_pd(sign, r), _mm256_and_pd(sign, xc));
  return _mm256_min_pd(_mm256_max_pd(signed_r, _mm256_set1_pd(-4.0)), _mm256_set1_pd(3.0));
}
FQ_AVX2 inline __m256d int2_avx2(__m256d r) {  // clamp to [-2, 1]
  return _mm256_min_pd(_mm256_max_pd(r, _mm256_set1_pd(-2.0)), _mm256_set1_pd(1.0));
}
FQ_AVX2 inline __m256d sq_avx2(__m256d v) { return _mm256_mul_pd(v, v); }
FQ_AVX2 inline __m256d err_avx2(__m256d w, __m256d s, __m256d q) {  // (w - s·q)²
  return sq_avx2(_mm256_sub_pd(w, _mm256_mul_pd(s, q)));
}

FQ_AVX2 void least_errors_avx2(const double* p0, const double* p1, const double* p2, size_t n, double s, double* out) {
  const __m256d vs = _mm256_set1_pd(s);
  size_t c = 0;
  for (; c + 4 <= n; c += 4) {
    const __m256d w0 = _mm256_loadu_pd(p0 + c), w1 = _mm256_loadu_pd(p1 + c), w2 = _mm256_loadu_pd(p2 + c);
    const __m256d r0 = round3_avx2(_mm256_div_pd(w0, vs)), r1 = round3_avx2(_mm256_div_pd(w1, vs)),
                  r2 = round3_avx2(_mm256_div_pd(w2, vs));
    const __m256d n0 = err_avx2(w0, vs, int2_avx2(r0));
    const __m256d n1 = err_avx2(w1, vs, int2_avx2(r1));
    const __m256d n2 = err_avx2(w2, vs, int2_avx2(r2));
    const __m256d o0 = err_avx2(w0, vs, r0), o1 = err_avx2(w1, vs, r1), o2 = err_avx2(w2, vs, r2);
    const __m256d m0 = _mm256_add_pd(_mm256_add_pd(n0, n1), n2);
    const __m256d m1 = _mm256_add_pd(_mm256_add_pd(sq_avx2(w0), o1), o2);
    const __m256d m2 = _mm256_add_pd(_mm256_add_pd(o0, sq_avx2(w1)), o2);
    const __m256d m3 = _mm256_add_pd(_mm256_add_pd(o0, o1), sq_avx2(w2));
    // Errors are sums of squares (no -0), so an equal pair gives the same value either way.
    _mm256_storeu_pd(out + c, _mm256_min_pd(_mm256_min_pd(_mm256_min_pd(m0, m1), m2), m3));
  }
  for (; c < n; ++c) out[c] = least_error(p0[c], p1[c], p2[c], s);
}
#endif

void least_errors(const double* p0, const double* p1, const double* p2, size_t n, double s, double* out) {
#ifdef FQ_FINEQ_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) {
    least_errors_avx2(p0, p1, p2, n, s, out);
    return;
  }
#endif
  for (size_t c = 0; c < n; ++c) out[c] = least_error(p0[c], p1[c], p2[c], s);
}

// Encodes one cluster in `mode`; returns the byte and sets `err` to sum_i (w_i - s*q_i)^2, summed
// in position order as the spec writes it (the mse policy compares these sums, ties included).
uint8_t encode_mode(const std::array<double, 3>& w, double scale, int mode, double& err) {
  std::array<int, 3> q{0, 0, 0};
  uint8_t byte = 0;
  if (mode == 0) {
    for (size_t i = 0; i < 3; ++i) q[i] = quant(w[i], scale, -2, 1);
    byte = pack_normal_cluster(q[0], q[1], q[2]);
  } else {
    const int z = mode - 1;
    const auto u = static_cast<size_t>(z == 0 ? 1 : 0);
    const auto v = static_cast<size_t>(z == 2 ? 1 : 2);
    q[u] = quant(w[u], scale, -4, 3);
    q[v] = quant(w[v], scale, -4, 3);
    byte = pack_outlier_cluster(z, q[u], q[v]);
  }
  const double e0 = w[0] - scale * q[0], e1 = w[1] - scale * q[1], e2 = w[2] - scale * q[2];
  err = e0 * e0 + e1 * e1 + e2 * e2;
  return byte;
}

uint8_t encode_cluster_d(const std::array<double, 3>& w, double scale, FineqPolicy policy, double threshold,
                         double& err) {
  if (policy == FineqPolicy::kRatio) return encode_mode(w, scale, ratio_mode(w, threshold), err);
  uint8_t best = 0;
  double best_err = 0;
  for (int mode = 0; mode < 4; ++mode) {
    double e = 0;
    const uint8_t b = encode_mode(w, scale, mode, e);
    if (mode == 0 || e < best_err) {
      best = b;
      best_err = e;
    }
  }
  err = best_err;
  return best;
}

std::array<double, 3> cluster_at(std::span<const float> row, size_t c) {
  std::array<double, 3> w{0.0, 0.0, 0.0};
  for (size_t p = 0; p < 3 && 3 * c + p < row.size(); ++p) w[p] = static_cast<double>(row[3 * c + p]);
  return w;
}

}  // namespace

uint8_t encode_cluster(std::span<const float, 3> w, double scale, FineqPolicy policy, double threshold) {
  double err = 0;
  return encode_cluster_d({w[0], w[1], w[2]}, scale, policy, threshold, err);
}

double encode_row(std::span<const float> row, double scale, FineqPolicy policy, double threshold,
                  std::span<uint8_t> out) {
  double total = 0;
  const size_t clusters = (row.size() + 2) / 3;
  for (size_t c = 0; c < clusters; ++c) {
    double err = 0;
    out[c] = encode_cluster_d(cluster_at(row, c), scale, policy, threshold, err);
    total += err;
  }
  return total;
}

uint16_t search_and_encode(std::span<const float> row, FineqPolicy policy, double threshold, std::span<uint8_t> out) {
  double absmax = 0;
  for (const float w : row) absmax = std::max(absmax, std::fabs(static_cast<double>(w)));
  const size_t clusters = (row.size() + 2) / 3;
  if (absmax == 0) {
    std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(clusters), uint8_t{0});
    return 0x3c00;
  }
  // Under `ratio` a cluster's mode does not depend on the scale: decide it once and sort the
  // weights by the range they are coded in (INT2, INT3, pruned), so each candidate scale is one
  // flat pass per range.
  std::vector<double> p0, p1, p2;  // mse: the clusters' positions 0, 1, 2
  std::vector<double> least;       // mse: each cluster's least error at one scale
  std::vector<double> int2, int3;
  std::vector<uint8_t> modes;
  double pruned = 0;  // sum of w^2 over pruned positions: the same for every scale
  if (policy == FineqPolicy::kRatio) {
    // Branch-free: every weight is written to both ranges and kept by advancing one end (the
    // modes are data, a branch on them mispredicts); adding +0 leaves `pruned` unchanged.
    int2.resize(3 * clusters + 3);
    int3.resize(2 * clusters + 3);
    modes.resize(clusters);
    size_t n2 = 0, n3 = 0;
    for (size_t c = 0; c < clusters; ++c) {
      const std::array<double, 3> wc = cluster_at(row, c);
      const int mode = ratio_mode(wc, threshold);
      modes[c] = static_cast<uint8_t>(mode);
      for (size_t i = 0; i < 3; ++i) {
        const bool cut = static_cast<int>(i) == mode - 1;
        int2[n2] = wc[i];
        int3[n3] = wc[i];
        n2 += mode == 0 ? 1 : 0;
        n3 += mode != 0 && !cut ? 1 : 0;
        pruned += cut ? wc[i] * wc[i] : 0.0;
      }
    }
    int2.resize(n2);
    int3.resize(n3);
  } else {
    p0.resize(clusters);
    p1.resize(clusters);
    p2.resize(clusters);
    least.resize(clusters);
    for (size_t c = 0; c < clusters; ++c) {
      const std::array<double, 3> wc = cluster_at(row, c);
      p0[c] = wc[0];
      p1[c] = wc[1];
      p2[c] = wc[2];
    }
  }
  uint16_t best_bits = 0;
  double best_err = 0;
  for (int i = 0; i <= 10; ++i) {
    const double alpha = static_cast<double>(100 - 5 * i) / 100.0;
    uint16_t bits = fp16_from_float(static_cast<float>(alpha * absmax / 4.0));
    if (!fp16_is_finite(bits)) fail("row absmax {} is too large for an FP16 scale", absmax);
    if (bits == 0) bits = 0x0001;  // a scale is always > 0 (spec §1)
    const double s = fp16_to_float(bits);
    double total = 0;
    if (policy == FineqPolicy::kRatio) {
      total =
          range_error(int2.data(), int2.size(), s, -2, 1) + range_error(int3.data(), int3.size(), s, -4, 3) + pruned;
    } else {
      least_errors(p0.data(), p1.data(), p2.data(), clusters, s, least.data());
      for (size_t c = 0; c < clusters; ++c) total += least[c];
    }
    if (i == 0 || total < best_err) {
      best_err = total;
      best_bits = bits;
    }
  }
  if (policy == FineqPolicy::kRatio) {
    encode_ranges(int2, int3, modes, fp16_to_float(best_bits), out);
  } else {
    encode_row(row, fp16_to_float(best_bits), policy, threshold, out);
  }
  return best_bits;
}

}  // namespace fq
