#include "model/quant/fineq_encoder.h"

#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/rounding.h"
#include "model/quant/cluster_codec.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

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

// Per-position squared errors of one cluster at one scale, for every mode at once.
struct Terms {
  std::array<double, 3> normal;  // (w - s*q2)^2, q2 the INT2 code
  std::array<double, 3> outlier; // (w - s*q3)^2, q3 the INT3 code
  std::array<double, 3> pruned;  // w^2
};

inline Terms terms(const std::array<double, 3>& w, double scale) {
  Terms t;
  for (size_t i = 0; i < 3; ++i) {
    const double x = w[i] / scale;
    const double e2 = w[i] - scale * round_clamp(x, -2, 1);
    const double e3 = w[i] - scale * round_clamp(x, -4, 3);
    t.normal[i] = e2 * e2;
    t.outlier[i] = e3 * e3;
    t.pruned[i] = w[i] * w[i];
  }
  return t;
}

// The cluster's squared error in `mode`, summed in position order like encode_mode().
inline double mode_error(const Terms& t, int mode) {
  if (mode == 0) return t.normal[0] + t.normal[1] + t.normal[2];
  const auto z = static_cast<size_t>(mode - 1);
  double sum = 0;
  for (size_t i = 0; i < 3; ++i) sum += i == z ? t.pruned[i] : t.outlier[i];
  return sum;
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
  std::vector<std::array<double, 3>> w(policy == FineqPolicy::kRatio ? 0 : clusters);
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
    for (size_t c = 0; c < clusters; ++c) w[c] = cluster_at(row, c);
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
      total = range_error(int2.data(), int2.size(), s, -2, 1) + range_error(int3.data(), int3.size(), s, -4, 3) + pruned;
    } else {
      for (size_t c = 0; c < clusters; ++c) {
        const Terms t = terms(w[c], s);
        double best = mode_error(t, 0);
        for (int mode = 1; mode < 4; ++mode) best = std::min(best, mode_error(t, mode));
        total += best;
      }
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
