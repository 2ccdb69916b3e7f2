#include "model/quant/clip_bounds.h"

#include "model/core/vector_clones.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

// The estimate never decides a result, only which candidates are scored exactly, so it may use
// whatever vector width the CPU has (FQ_VECTOR_CLONES).

namespace fq {
namespace {

constexpr size_t kBlock = 256;   // weights per abandonment check
constexpr size_t kSample = 256;  // weights of the strided sample that orders the candidates
constexpr size_t kMaxWeights = 1u << 26;
constexpr size_t kLevels = 16;  // zero-zone levels (below)
// Margins on an estimate, relative. Its codes differ from the exact ones only at a rounding tie,
// where both neighbours are equally far (a few ulps of the scale); pow() is within 1 ulp; two sums
// of at most 2^26 non-negative terms differ from the exact sums by at most 2^26 · 2^-53 < 1e-8
// relative each. Norm 2 (exact squares): 1e-6 covers that 50 times. Other norms: power_f() is
// within 5e-5 per term, 1e-4 covers it.
constexpr double kRelSquare = 1e-6;
constexpr double kRelPower = 1e-4;
constexpr double kMagic = 0x1.8p52;  // (v + kMagic) - kMagic rounds |v| < 2^51 to an integer

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

// u^norm for 1 <= norm <= 16 in single precision, u = d / scale, as 2^(norm·log2 u): log2 by the
// atanh series on [√½, √2], 2^f by the Taylor series of e^(f ln 2) on |f| <= ½. Per term the
// error is below 5e-5 relative: |norm·log2 u| <= 120 rounded in float (< 1e-5), u and the norm
// rounded to float (the norm's 6e-8 times |norm·ln u| <= 16·42: < 4e-5), the series (< 1e-6);
// u < 2^-60 gives 0 (at most 2^-60 of scale^norm). Sets `big` when norm·log2 u > 120 (the float
// range would not hold the term).
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
  const float ex =
      1.0f +
      g * (1.0f +
           g * (1.0f / 2 + g * (1.0f / 6 + g * (1.0f / 24 + g * (1.0f / 120 + g * (1.0f / 720 + g * (1.0f / 5040)))))));
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

// The estimated terms of n <= kBlock weights, divided by scale^norm.
FQ_VECTOR_CLONES double block_power(const double* x, size_t n, const Prepared& c, float norm, int& big) {
  float u[kBlock];
  for (size_t i = 0; i < n; ++i) u[i] = static_cast<float>(difference(x[i], c) * c.inv);
  int b = 0;
  for (size_t i = 0; i < n; ++i) u[i] = power_f(u[i], norm, b);
  big |= b;
  double v[kBlock];
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(u[i]);
  return sum_terms(v, n);
}

// The zone terms |x|^norm of n <= kBlock weights over a_pow = (1 / inv_a)^norm, inv_a a power of two.
FQ_VECTOR_CLONES double block_own_power(const double* x, size_t n, double inv_a, float norm) {
  float u[kBlock];
  for (size_t i = 0; i < n; ++i) u[i] = static_cast<float>(std::fabs(x[i]) * inv_a);
  int b = 0;  // |x| < 2^e: norm·log2 u <= 0, never big
  for (size_t i = 0; i < n; ++i) u[i] = power_f(u[i], norm, b);
  double v[kBlock];
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(u[i]);
  return sum_terms(v, n);
}

FQ_VECTOR_CLONES double block_own_square(const double* x, size_t n) {
  double v[kBlock];
  for (size_t i = 0; i < n; ++i) v[i] = x[i] * x[i];
  return sum_terms(v, n);
}

// The least distance, in units of the scale, from t in [ta, tb] (code units, x / scale + zero) to
// an integer in [lo, hi]: 0 if one lies inside, else the gap to the nearest one (below lo, above
// hi, or between floor(ta) and floor(ta) + 1). Less a margin of 1e-9·(1 + |ta| + |tb|), far above
// the roundings of ta and tb and of the exact score's |value - x| (a few 2^-53 of |t| each).
// ta and tb are first limited to [lo - 2^20, hi + 2^20], which only shrinks a gap beyond the grid
// and keeps them in kMagic's range (|zero| <= 2^20).
inline double code_gap(double ta, double tb, double lo, double hi) {
  ta = std::min(std::max(ta, lo - 0x1p20), hi + 0x1p20);
  tb = std::min(std::max(tb, lo - 0x1p20), hi + 0x1p20);
  const double r = (ta + kMagic) - kMagic;
  const double n = r > ta ? r - 1.0 : r;  // floor(ta)
  const double inner = std::min(ta - n, n + 1.0 - tb);
  const double gap = std::max(std::max(lo - tb, ta - hi), inner);
  return std::max(0.0, gap - 1e-9 * (1.0 + std::fabs(ta) + std::fabs(tb)));
}

// The candidates' grids, one array per field, so that loops over candidates vectorise.
struct Grids {
  std::vector<double> inv, zero, lo, hi;
};

// floor[b·m + i] <= every exact term of candidate i (of m) over bucket b, i.e. for least[b] <= |x|
// <= most[b], whatever the codes: a grid value is scale·(q - zero) with qmin <= q <= qmax, so
// |value - x| >= scale · code_gap for either sign of x. In units of scale^norm (exact squares for
// norm 2), less the estimate's relative margin.
FQ_VECTOR_CLONES void bucket_floors(const double* least, const double* most, size_t buckets, const Grids& g,
                                    bool square, float norm, double* floor) {
  const size_t m = g.inv.size(), total = buckets * m;
  const double *inv = g.inv.data(), *zero = g.zero.data(), *lo = g.lo.data(), *hi = g.hi.data();
  std::vector<double> gaps(total);
  for (size_t b = 0; b < buckets; ++b) {
    const double a = std::min(least[b], most[b]), z = most[b];  // an empty bucket: [0, 0]
    double* out = gaps.data() + b * m;
    for (size_t i = 0; i < m; ++i) {
      const double up = code_gap(a * inv[i] + zero[i], z * inv[i] + zero[i], lo[i], hi[i]);
      const double down = code_gap(-z * inv[i] + zero[i], -a * inv[i] + zero[i], lo[i], hi[i]);
      out[i] = std::min(up, down);
    }
  }
  if (square) {
    for (size_t k = 0; k < total; ++k) floor[k] = gaps[k] * gaps[k] * (1.0 - kRelSquare);
    return;
  }
  std::vector<float> u(total);
  for (size_t k = 0; k < total; ++k) u[k] = static_cast<float>(gaps[k]);
  int big = 0;  // power_f clamps a big term to 2^120 and flushes a tiny one to 0: both still floors
  for (size_t k = 0; k < total; ++k) u[k] = power_f(u[k], norm, big);
  for (size_t k = 0; k < total; ++k) floor[k] = static_cast<double>(u[k]) * (1.0 - kRelPower);
}

double abs_max_of(std::span<const double> x) {
  double m = 0;
  for (const double v : x) m = std::max(m, std::fabs(v));
  return m;
}

// bucket[k] = the number of the kLevels levels at most |x[k]|.
FQ_VECTOR_CLONES void bucket_of(const double* x, size_t n, const double* levels, uint8_t* bucket) {
  for (size_t k = 0; k < n; ++k) {
    const double v = std::fabs(x[k]);
    int b = 0;
    for (size_t l = 0; l < kLevels; ++l) b += levels[l] <= v ? 1 : 0;
    bucket[k] = static_cast<uint8_t>(b);
  }
}

// The least and largest |x| of n weights (+inf and 0 for none).
FQ_VECTOR_CLONES void extremes(const double* x, size_t n, double& least, double& most) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
  for (size_t k = 0; k < n; ++k) {
    lo = std::min(lo, std::fabs(x[k]));
    hi = std::max(hi, std::fabs(x[k]));
  }
  least = lo;
  most = hi;
}

// Weights grouped by zero-zone level (clip_contenders()): bucket b holds L_b <= |x| < L_(b+1)
// (L_0 = 0), highest bucket first, at [first[b], first[b] + count[b]), so a candidate of level j
// reads [0, first[j] + count[j]); below[j] = the estimated sum of |x|^norm · inv_a^norm (norm 2:
// of x², exact squares) over buckets 0 .. j - 1; least[b], most[b] = the least and largest |x| in
// bucket b (+inf and 0 when it is empty).
struct ZonedWeights {
  std::vector<double> grouped;
  std::vector<size_t> first, count;
  std::vector<double> below;
  std::vector<double> least, most;
};

ZonedWeights zoned(std::span<const double> x, const std::vector<double>& levels, bool square, double inv_a,
                   float norm) {
  const size_t n = x.size(), buckets = levels.size() + 1;
  std::array<double, kLevels> padded;  // a fixed trip count, so the level count vectorises
  padded.fill(std::numeric_limits<double>::infinity());
  std::copy(levels.begin(), levels.end(), padded.begin());
  std::vector<uint8_t> bucket(n);
  bucket_of(x.data(), n, padded.data(), bucket.data());
  ZonedWeights z;
  z.count.assign(buckets, 0);
  for (const uint8_t b : bucket) ++z.count[b];
  z.first.assign(buckets, 0);
  for (size_t b = buckets - 1; b-- > 0;) z.first[b] = z.first[b + 1] + z.count[b + 1];
  z.grouped.resize(n);
  std::vector<size_t> at = z.first;
  for (size_t k = 0; k < n; ++k) z.grouped[at[bucket[k]]++] = x[k];
  z.least.assign(buckets, std::numeric_limits<double>::infinity());
  z.most.assign(buckets, 0.0);
  for (size_t b = 0; b < buckets; ++b) {
    extremes(z.grouped.data() + z.first[b], z.count[b], z.least[b], z.most[b]);
  }
  z.below.assign(buckets + 1, 0.0);
  for (size_t b = 0; b + 1 < buckets; ++b) {
    const double* xs = z.grouped.data() + z.first[b];
    double s = 0;
    for (size_t k = 0; k < z.count[b]; k += kBlock) {
      const size_t len = std::min(kBlock, z.count[b] - k);
      s += square ? block_own_square(xs + k, len) : block_own_power(xs + k, len, inv_a, norm);
    }
    z.below[b + 1] = z.below[b] + s;
  }
  return z;
}

// Puts about the `limit` largest weights of z at the front of z.grouped and returns their number:
// the top buckets while they fit, then the weights of the next bucket down to the lowest of the
// steps 2^(-k/4)·most (k < kLevels) that still fits. Only the order within that bucket changes.
size_t largest_first(ZonedWeights& z, size_t limit) {
  size_t head = 0, b = z.count.size();
  while (b-- > 0 && head + z.count[b] <= limit) head += z.count[b];
  if (b >= z.count.size() || head == limit) return head;
  double* xs = z.grouped.data() + z.first[b];
  std::array<double, kLevels> steps;  // ascending, as bucket_of() wants
  for (size_t l = 0; l < kLevels; ++l) steps[l] = z.most[b] * std::exp2(-0.25 * static_cast<double>(kLevels - 1 - l));
  std::vector<uint8_t> step(z.count[b]);
  bucket_of(xs, z.count[b], steps.data(), step.data());
  std::array<size_t, kLevels + 1> at{};  // at[s]: the weights in [steps[s - 1], steps[s])
  for (const uint8_t s : step) ++at[s];
  size_t cut = kLevels + 1, taken = 0;
  while (cut > 1 && head + taken + at[cut - 1] <= limit) taken += at[--cut];
  if (taken == 0) return head;
  const double edge = steps[cut - 1];
  std::partition(xs, xs + z.count[b], [&](double v) { return std::fabs(v) >= edge; });
  return head + taken;
}

}  // namespace

std::vector<int> clip_contenders(std::span<const double> x, std::span<const ClipCandidate> candidates, double norm) {
  std::vector<int> all(candidates.size());
  std::iota(all.begin(), all.end(), 0);
  const size_t n = x.size();
  if (n < 32 || n > kMaxWeights || candidates.size() < 2 || !(norm == 2.0 || (norm >= 1.0 && norm <= 16.0))) {
    return all;
  }
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
  const double rel = square ? kRelSquare : kRelPower;
  std::vector<double> scale_pow(prep.size());  // power_f's terms are scaled back by scale^norm
  for (size_t i = 0; i < prep.size(); ++i) scale_pow[i] = std::pow(prep[i].scale, norm);

  // Zero zones. Where |x| <= 0.49·scale the exact code is the zero point (round(x / scale) = 0 under
  // either rounding), so when qmin <= zero <= qmax the exact term is |x|^norm, the same for every such
  // candidate. The weights are grouped by levels L_1 < ... < L_m taken from those thresholds; a
  // candidate whose threshold is at least L_j takes the weights below L_j from sums made once per
  // row and estimates only the others (grouped largest first, so the clipped ones come early).
  std::vector<double> levels;
  std::vector<double> zone(prep.size(), 0.0);  // a candidate's threshold, 0 without a zero zone
  for (size_t i = 0; i < prep.size(); ++i) {
    if (!duplicate[i] && prep[i].lo <= prep[i].zero && prep[i].zero <= prep[i].hi) zone[i] = 0.49 * prep[i].scale;
    if (zone[i] > 0.0) levels.push_back(zone[i]);
  }
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  if (levels.size() > kLevels) {  // kLevels evenly spread thresholds, the smallest included
    std::vector<double> pick;
    for (size_t k = 0; k < kLevels; ++k) pick.push_back(levels[k * levels.size() / kLevels]);
    levels = pick;
  }
  // The zone terms, in units of a_pow = 2^(e·norm) with 2^e > max|x|, so that |x| / 2^e is exact.
  int e = 0;
  std::frexp(std::max(abs_max_of(x), 0x1p-900), &e);
  const double unit = std::ldexp(1.0, e);
  const double a_pow = square ? 1.0 : std::pow(unit, norm);
  if (!std::isfinite(a_pow) || a_pow == 0.0) levels.clear();
  ZonedWeights row = zoned(x, levels, square, 1.0 / unit, static_cast<float>(norm));
  // A candidate's level: the number of levels at most its threshold.
  std::vector<size_t> level_of(prep.size(), 0);
  for (size_t i = 0; i < prep.size(); ++i) {
    for (const double level : levels) level_of[i] += level <= zone[i] ? 1 : 0;
  }
  // What the terms power_f() gives as 0 may add up to (less than 2^-59 of scale^norm or a_pow each).
  std::vector<double> slack(prep.size(), 0.0);
  for (size_t i = 0; i < prep.size(); ++i) {
    slack[i] = square ? 0.0 : static_cast<double>(n) * 0x1p-59 * std::max(scale_pow[i], a_pow);
  }
  int big = 0;
  // The estimate over xs[start ..] plus `base`, abandoned once it exceeds `limit`. rest(k) <= the
  // exact terms of xs[k ..] (0 will do).
  const auto estimate = [&](size_t i, std::span<const double> xs, size_t start, double base, double limit,
                            const auto& rest, bool& abandoned) {
    const Prepared& c = prep[i];
    double sum = base;
    // The exact score is at least the exact partial sum plus the floor of the terms not yet
    // visited, which is at least this.
    abandoned = sum * (1.0 - rel) - slack[i] + rest(start) > limit;
    for (size_t k = start; k < xs.size() && !abandoned; k += kBlock) {
      const size_t len = std::min(kBlock, xs.size() - k);
      const double* b = xs.data() + k;
      sum += square ? block_square(b, len, c) : scale_pow[i] * block_power(b, len, c, static_cast<float>(norm), big);
      abandoned = sum * (1.0 - rel) - slack[i] + rest(k + len) > limit;
    }
    return sum;
  };
  const auto upper = [&](size_t i, double sum) { return sum * (1.0 + rel) + slack[i]; };
  const auto lower = [&](size_t i, double sum) { return sum * (1.0 - rel) - slack[i]; };
  const double inf = std::numeric_limits<double>::infinity();

  // A sample orders the candidates: the largest weights in full (the head, at most kSample / 2:
  // a few clipped weights can outweigh the rest of a row, and a plain strided sample, which misses
  // them, ranked the smallest clips first, so ~20 candidates each beat the last and ran to the
  // end), then a strided sample of the others, stratified by magnitude since they are grouped.
  const size_t buckets = levels.size() + 1;
  const size_t head = largest_first(row, kSample / 2);
  std::vector<double> sample;
  const size_t stride = std::max<size_t>(1, (n - head) / kSample);
  for (size_t k = head; k < n; k += stride) sample.push_back(row.grouped[k]);
  const ZonedWeights sampled = zoned(sample, levels, square, 1.0 / unit, static_cast<float>(norm));
  // The floors of the row's buckets: candidate i's terms over bucket b are at least
  // floors[b·m + i]·scale_pow[i] each.
  const size_t m = prep.size();
  Grids grids;
  for (const Prepared& c : prep) {
    grids.inv.push_back(c.inv);
    grids.zero.push_back(c.zero);
    grids.lo.push_back(c.lo);
    grids.hi.push_back(c.hi);
  }
  std::vector<double> floors(buckets * m);
  bucket_floors(row.least.data(), row.most.data(), buckets, grids, square, static_cast<float>(norm), floors.data());
  const auto no_floor = [](size_t) { return 0.0; };
  // The head's estimates, which the row pass starts from (so an overflow there counts).
  std::vector<double> top(m, 0.0);
  bool abandoned = false;
  for (size_t i = 0; i < m; ++i) {
    if (!duplicate[i])
      top[i] = estimate(i, std::span<const double>(row.grouped.data(), head), 0, 0.0, inf, no_floor, abandoned);
  }
  const int top_big = big;
  std::vector<double> sample_score(m, inf);
  for (size_t i = 0; i < m; ++i) {
    if (duplicate[i]) continue;
    const size_t j = level_of[i];
    const std::span<const double> xs(sampled.grouped.data(), sampled.first[j] + sampled.count[j]);
    sample_score[i] =
        top[i] + static_cast<double>(stride) * estimate(i, xs, 0, sampled.below[j] * a_pow, inf, no_floor, abandoned);
  }
  big = top_big;  // an overflow in the sample only spoils the order
  // Candidate i's estimate over the row: the zone sums below its level, then the weights above,
  // after the head's estimate when the head lies within them (else from the start). With a finite
  // limit the weights not yet visited count at their floors, so a candidate that cannot win stops
  // before its last weights.
  const auto row_estimate = [&](size_t i, double limit, bool& abandoned_out) {
    const size_t j = level_of[i];
    const std::span<const double> xs(row.grouped.data(), row.first[j] + row.count[j]);
    // The floors of the weights at [k, xs.size()): the rest of k's bucket and the buckets j .. below it.
    const auto rest = [&](size_t k) {
      double r = 0.0;
      for (size_t b = j; b < buckets; ++b) {
        const size_t end = row.first[b] + row.count[b];
        if (end <= k) continue;
        r += floors[b * m + i] * static_cast<double>(end - std::max(k, row.first[b]));
        if (row.first[b] <= k) break;
      }
      return r * scale_pow[i];
    };
    const double base = row.below[j] * a_pow;
    return head <= xs.size() ? estimate(i, xs, head, base + top[i], limit, rest, abandoned_out)
                             : estimate(i, xs, 0, base, limit, rest, abandoned_out);
  };
  // Best-looking first: the bound tightens at once and the others are abandoned sooner.
  std::vector<size_t> order;
  for (size_t i = 0; i < prep.size(); ++i) {
    if (!duplicate[i]) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sample_score[a] < sample_score[b]; });
  std::vector<double> score(prep.size(), inf);
  double bound = inf;
  for (const size_t i : order) {
    const double s = row_estimate(i, bound, abandoned);
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
