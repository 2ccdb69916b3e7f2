#include "model/quant/clip_bounds.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

// The estimate never decides a result, only which candidates are scored exactly, so it may use
// whatever vector width the CPU has: GCC builds an AVX2 and an AVX-512 clone and picks at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define FQ_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FQ_VECTOR_CLONES
#endif

namespace fq {
namespace {

constexpr size_t kBlock = 256;         // weights per abandonment check
constexpr size_t kSample = 256;        // weights of the strided sample that orders the candidates
constexpr size_t kMaxWeights = 1u << 26;
// Margin on an estimate, relative. The estimate of one term is within 1e-11 of d^norm (the series
// below; codes that differ from the exact ones only at a rounding tie, where both neighbours are
// equally far) and pow() within 1 ulp; the two sums of at most 2^26 non-negative terms differ from
// the exact sums by at most 2^26 · 2^-53 < 1e-8 relative each. 1e-6 covers all of it 50 times.
constexpr double kRel = 1e-6;
// The same for the single-precision terms (power_f: 3e-5 per term, the float norm within 6e-8).
constexpr double kRelSingle = 1e-4;
constexpr double kTiny = 0x1p-1000;    // below this a difference is estimated as 0 (see slack)
constexpr double kMagic = 0x1.8p52;    // (v + kMagic) - kMagic rounds |v| < 2^51 to an integer
constexpr double kMaxLog = 1000.0;     // log2 of an estimate beyond this: the score might overflow

struct Prepared {
  double scale, inv, zero, lo, hi, rlo, rhi;
};

// |value - x| for one weight: the codes of the exact search up to a rounding tie (x * inv instead
// of x / scale, ties either way), which changes the difference by a few ulps of scale.
inline double difference(double x, const Prepared& c) {
  const double r = std::min(std::max(x * c.inv, c.rlo), c.rhi);  // bounded for kMagic
  const double t = std::min(std::max(((r + kMagic) - kMagic) + c.zero, c.lo), c.hi);
  return std::fabs(c.scale * (t - c.zero) - x);
}

// d^norm for kTiny <= d, as 2^(norm·log2 d): log via the atanh series on [√½, √2] (error
// < 1e-12), 2^f via the Taylor series of e^(f ln 2) on |f| <= ½ (error < 1e-14). Sets `big` when
// norm·log2 d > kMaxLog; returns 0 below kTiny or 2^-kMaxLog.
inline double power(double d, double norm, int& big) {
  const auto b = std::bit_cast<uint64_t>(d);
  double e = std::bit_cast<double>((b >> 52) | 0x4330000000000000ull) - (0x1p52 + 1023.0);
  double m = std::bit_cast<double>((b & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  const bool high = m > 1.4142135623730951;
  m = high ? 0.5 * m : m;
  e = high ? e + 1.0 : e;
  const double t = (m - 1.0) / (m + 1.0);
  const double t2 = t * t;
  const double series =
      1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 * (1.0 / 11 + t2 * (1.0 / 13))))));
  double y = norm * (e + 2.0 * t * series * 1.4426950408889634);
  big |= static_cast<int>(y > kMaxLog);
  y = std::min(std::max(y, -kMaxLog), kMaxLog);
  const double k = (y + kMagic) - kMagic;
  const double g = (y - k) * 0.6931471805599453;
  const double ex =
      1.0 + g * (1.0 + g * (1.0 / 2 + g * (1.0 / 6 + g * (1.0 / 24 + g * (1.0 / 120 + g * (1.0 / 720 +
      g * (1.0 / 5040 + g * (1.0 / 40320 + g * (1.0 / 362880 + g * (1.0 / 3628800 + g * (1.0 / 39916800)))))))))));
  const double two_k = std::bit_cast<double>(std::bit_cast<uint64_t>(k + (0x1p52 + 1023.0)) << 52);
  return (d < kTiny || y <= -kMaxLog) ? 0.0 : ex * two_k;
}

// u^norm for 1 <= norm <= 16 in single precision (twice the lanes), u = d / scale: the same
// series, shorter. Per term the error is below 3e-5 relative (|norm·log2 u| <= 120 rounded in
// float, the series to 1e-7); u < 2^-60 gives 0 (at most 2^-60 of scale^norm). Sets `big` when
// norm·log2 u > 120 (the float range would not hold the term).
inline float power_f(float u, float norm, int& big) {
  const auto b = std::bit_cast<uint32_t>(u);
  float e = static_cast<float>(static_cast<int32_t>(b >> 23)) - 127.0f;
  float m = std::bit_cast<float>((b & 0x007fffffu) | 0x3f800000u);
  const bool high = m > 1.41421356f;
  m = high ? 0.5f * m : m;
  e = high ? e + 1.0f : e;
  const float t = (m - 1.0f) / (m + 1.0f);
  const float t2 = t * t;
  const float series = 1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9))));
  float y = norm * (e + 2.0f * t * series * 1.44269504f);
  big |= static_cast<int>(y > 120.0f);
  y = std::min(std::max(y, -120.0f), 120.0f);
  const float k = (y + 0x1.8p23f) - 0x1.8p23f;
  const float g = (y - k) * 0.693147181f;
  const float ex = 1.0f + g * (1.0f + g * (1.0f / 2 + g * (1.0f / 6 + g * (1.0f / 24 + g * (1.0f / 120 +
                   g * (1.0f / 720 + g * (1.0f / 5040)))))));
  const float two_k = std::bit_cast<float>(std::bit_cast<uint32_t>(k + (0x1p23f + 127.0f)) << 23);
  return (u < 0x1p-60f || y <= -120.0f) ? 0.0f : ex * two_k;
}

// Sum of the estimated terms of n <= kBlock weights; eight partial sums so the adds vectorise.
inline double sum_terms(const double* v, size_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += v[i + j];
  }
  for (; i < n; ++i) acc[0] += v[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

FQ_VECTOR_CLONES double block_square(const double* x, size_t n, const Prepared& c) {
  double v[kBlock];
  for (size_t i = 0; i < n; ++i) {
    const double d = difference(x[i], c);
    v[i] = d * d;
  }
  return sum_terms(v, n);
}

FQ_VECTOR_CLONES double block_power(const double* x, size_t n, const Prepared& c, double norm, int& big) {
  double v[kBlock];
  int b = 0;
  for (size_t i = 0; i < n; ++i) v[i] = power(difference(x[i], c), norm, b);
  big |= b;
  return sum_terms(v, n);
}

// The terms of block_power() in single precision, divided by scale^norm.
FQ_VECTOR_CLONES double block_power_f(const double* x, size_t n, const Prepared& c, float norm, int& big) {
  float u[kBlock];
  for (size_t i = 0; i < n; ++i) u[i] = static_cast<float>(difference(x[i], c) * c.inv);
  int b = 0;
  for (size_t i = 0; i < n; ++i) u[i] = power_f(u[i], norm, b);
  big |= b;
  double v[kBlock];
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(u[i]);
  return sum_terms(v, n);
}

}  // namespace

std::vector<int> clip_contenders(std::span<const double> x, std::span<const ClipCandidate> candidates, double norm) {
  std::vector<int> all(candidates.size());
  std::iota(all.begin(), all.end(), 0);
  const size_t n = x.size();
  if (n < 32 || n > kMaxWeights || candidates.size() < 2 || !(norm >= 0.25 && norm <= 16.0)) return all;
  for (const double v : x) {
    if (!std::isfinite(v)) return all;
  }
  std::vector<Prepared> prep;
  std::vector<bool> duplicate(candidates.size(), false);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const ClipCandidate& c = candidates[i];
    if (!(c.scale >= 0x1p-900 && c.scale <= 0x1p900) || !(std::fabs(c.zero) <= 0x1p20) || c.qmin > c.qmax) {
      return all;
    }
    const double lo = c.qmin, hi = c.qmax;
    prep.push_back({c.scale, 1.0 / c.scale, c.zero, lo, hi, lo - c.zero - 1.0, hi - c.zero + 1.0});
    for (size_t j = 0; j < i; ++j) {
      const ClipCandidate& o = candidates[j];
      // The same grid scores the same: a later copy can never be strictly better.
      if (o.scale == c.scale && o.zero == c.zero && o.qmin == c.qmin && o.qmax == c.qmax) duplicate[i] = true;
    }
  }
  const bool square = norm == 2.0;
  // Single precision when the norm allows it (see power_f); its terms are scaled back by scale^norm.
  const bool single = !square && norm >= 1.0;
  const double rel = single ? kRelSingle : kRel;
  std::vector<double> scale_pow(prep.size());
  for (size_t i = 0; i < prep.size(); ++i) scale_pow[i] = std::pow(prep[i].scale, norm);
  // A term estimated as 0 is less than this (d < kTiny or d^norm < 2^-kMaxLog, with room for the series).
  const double tiny_term = 2.0 * std::max(std::pow(kTiny, norm), 0x1p-1000);
  const auto slack = [&](size_t i, size_t weights) {
    return static_cast<double>(weights) * (single ? 0x1p-59 * scale_pow[i] : tiny_term);
  };
  int big = 0;
  // The estimate over xs, abandoned once it exceeds `limit`.
  const auto estimate = [&](size_t i, std::span<const double> xs, double limit, bool& abandoned) {
    const Prepared& c = prep[i];
    double sum = 0;
    abandoned = false;
    for (size_t k = 0; k < xs.size(); k += kBlock) {
      const size_t len = std::min(kBlock, xs.size() - k);
      const double* b = xs.data() + k;
      sum += square   ? block_square(b, len, c)
             : single ? scale_pow[i] * block_power_f(b, len, c, static_cast<float>(norm), big)
                      : block_power(b, len, c, norm, big);
      // The exact score is at least the exact partial sum, which is at least this.
      if (sum * (1.0 - rel) - slack(i, k + len) > limit) {
        abandoned = true;
        break;
      }
    }
    return sum;
  };
  const auto upper = [&](size_t i, double sum) { return sum * (1.0 + rel) + slack(i, n); };
  const auto lower = [&](size_t i, double sum) { return sum * (1.0 - rel) - slack(i, n); };
  const double inf = std::numeric_limits<double>::infinity();

  // A strided sample orders the candidates.
  std::vector<double> sample;
  const size_t stride = std::max<size_t>(1, n / kSample);
  for (size_t k = 0; k < n; k += stride) sample.push_back(x[k]);
  std::vector<double> sample_score(prep.size(), inf);
  bool abandoned = false;
  for (size_t i = 0; i < prep.size(); ++i) {
    if (!duplicate[i]) sample_score[i] = estimate(i, sample, inf, abandoned);
  }
  big = 0;  // an overflow in the sample only spoils the order
  // Best-looking first: the bound tightens at once and the others are abandoned sooner.
  std::vector<size_t> order;
  for (size_t i = 0; i < prep.size(); ++i) {
    if (!duplicate[i]) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sample_score[a] < sample_score[b]; });
  std::vector<double> score(prep.size(), inf);
  double bound = inf;
  for (const size_t i : order) {
    const double s = estimate(i, x, bound, abandoned);
    if (abandoned) continue;
    score[i] = s;
    bound = std::min(bound, upper(i, s));
  }
  if (big != 0) return all;
  std::vector<int> out;
  for (size_t i = 0; i < prep.size(); ++i) {
    if (!duplicate[i] && score[i] != inf && lower(i, score[i]) <= bound) out.push_back(static_cast<int>(i));
  }
  return out.empty() ? all : out;  // empty only if an estimate were NaN
}

}  // namespace fq
