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

// sum (w - s * round_clamp(w / s))^2 over one flat range of weights, four partial sums for
// instruction-level parallelism (the search compares these totals; their order is its own).
double range_error(const std::vector<double>& w, double s, int lo, int hi) {
  double acc[4] = {0, 0, 0, 0};
  const size_t n = w.size();
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t j = 0; j < 4; ++j) {
      const double e = w[i + j] - s * round_clamp(w[i + j] / s, lo, hi);
      acc[j] += e * e;
    }
  }
  for (; i < n; ++i) {
    const double e = w[i] - s * round_clamp(w[i] / s, lo, hi);
    acc[0] += e * e;
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
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
  std::vector<std::array<double, 3>> w(clusters);
  std::vector<double> int2, int3;
  double pruned = 0;  // sum of w^2 over pruned positions: the same for every scale
  if (policy == FineqPolicy::kRatio) {
    int2.reserve(row.size());
    int3.reserve(row.size());
  }
  for (size_t c = 0; c < clusters; ++c) {
    w[c] = cluster_at(row, c);
    if (policy != FineqPolicy::kRatio) continue;
    const int mode = ratio_mode(w[c], threshold);
    for (size_t i = 0; i < 3; ++i) {
      if (mode == 0) {
        int2.push_back(w[c][i]);
      } else if (static_cast<int>(i) == mode - 1) {
        pruned += w[c][i] * w[c][i];
      } else {
        int3.push_back(w[c][i]);
      }
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
      total = range_error(int2, s, -2, 1) + range_error(int3, s, -4, 3) + pruned;
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
  encode_row(row, fp16_to_float(best_bits), policy, threshold, out);
  return best_bits;
}

}  // namespace fq
