#include "model/golden/act_quant.h"

#include "model/core/error.h"
#include "model/core/parallel.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fq {

QuantizedActs quantize_activations(std::span<const float> x, int rows, int cols) {
  if (rows <= 0 || cols <= 0) fail("activations: shape [{}, {}] must be positive", rows, cols);
  const auto n_cols = static_cast<size_t>(cols);
  if (x.size() != static_cast<size_t>(rows) * n_cols) {
    fail("activations: {} values for shape [{}, {}]", x.size(), rows, cols);
  }
  QuantizedActs a;
  a.rows = rows;
  a.cols = cols;
  a.q.resize(x.size());
  a.scales.resize(static_cast<size_t>(rows));
  for (size_t m = 0; m < static_cast<size_t>(rows); ++m) {
    const auto row = x.subspan(m * n_cols, n_cols);
    double absmax = 0.0;
    for (size_t k = 0; k < n_cols; ++k) {
      if (!std::isfinite(row[k])) fail("activations: value at row {}, column {} is {}", m, k, row[k]);
      absmax = std::max(absmax, std::fabs(static_cast<double>(row[k])));
    }
    const float s_a = absmax == 0.0 ? 1.0f : static_cast<float>(absmax / 127.0);
    a.scales[m] = s_a;
    // clamp(round_half_away(r)) computed as round_half_away(clamp(r)) (rounding is monotone and
    // keeps ±127), inline: within ±127 the truncation and its remainder are exact, and a
    // remainder of ±0.5 or more rounds away from zero, as std::round does. No libm call per value.
    int8_t* q = a.q.data() + m * n_cols;
    for (size_t k = 0; k < n_cols; ++k) {
      const double r = std::clamp(static_cast<double>(row[k]) / static_cast<double>(s_a), -127.0, 127.0);
      const int t = static_cast<int>(r);
      const double rem = r - static_cast<double>(t);
      q[k] = static_cast<int8_t>(t + (rem >= 0.5 ? 1 : 0) - (rem <= -0.5 ? 1 : 0));
    }
  }
  return a;
}

void validate(const QuantizedActs& a, const std::string& what) {
  if (a.rows <= 0 || a.cols <= 0) fail("{}: shape [{}, {}] must be positive", what, a.rows, a.cols);
  const auto n_cols = static_cast<size_t>(a.cols);
  if (a.q.size() != static_cast<size_t>(a.rows) * n_cols) {
    fail("{}: {} codes for shape [{}, {}]", what, a.q.size(), a.rows, a.cols);
  }
  if (a.scales.size() != static_cast<size_t>(a.rows)) fail("{}: {} scales for {} rows", what, a.scales.size(), a.rows);
  for (size_t i = 0; i < a.q.size(); ++i) {
    if (a.q[i] < -127) fail("{}: code at row {}, column {} is -128, outside [-127, 127]", what, i / n_cols, i % n_cols);
  }
  for (size_t m = 0; m < a.scales.size(); ++m) {
    if (!std::isfinite(a.scales[m]) || !(a.scales[m] > 0.0f)) {
      fail("{}: scale of row {} is {}, not finite and positive", what, m, a.scales[m]);
    }
  }
}

uint64_t splitmix64_next(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<float> synthetic_activations(int rows, int cols, uint64_t seed) {
  if (rows <= 0 || cols <= 0) fail("synthetic activations: shape [{}, {}] must be positive", rows, cols);
  uint64_t state = seed;
  const auto n_cols = static_cast<size_t>(cols);

  // Outlier channels: the first cols/16 entries of a seeded Fisher-Yates shuffle.
  std::vector<int> order(n_cols);
  std::iota(order.begin(), order.end(), 0);
  const size_t n_outliers = n_cols / 16;
  for (size_t i = 0; i < n_outliers; ++i) {
    const size_t j = i + static_cast<size_t>(splitmix64_next(state) % (n_cols - i));
    std::swap(order[i], order[j]);
  }
  std::vector<double> channel_gain(n_cols, 1.0);
  for (size_t i = 0; i < n_outliers; ++i) channel_gain[static_cast<size_t>(order[i])] = 32.0;

  std::vector<float> x(static_cast<size_t>(rows) * n_cols);
  // splitmix64's state advances by a constant per draw, so row m starts at the state after the
  // shuffle's draws and m rows of 1 + 6·cols draws: rows are independent and may run in parallel
  // with the same values as the serial order. Small requests stay on the calling thread.
  const uint64_t after_shuffle = state;
  const uint64_t draws_per_row = 1 + 6 * static_cast<uint64_t>(n_cols);
  const auto make_rows = [&](int64_t begin, int64_t end) {
    for (auto m = static_cast<size_t>(begin); m < static_cast<size_t>(end); ++m) {
      uint64_t row_state = after_shuffle + static_cast<uint64_t>(m) * draws_per_row * 0x9e3779b97f4a7c15ull;
      const double row_gain = std::ldexp(1.0, static_cast<int>(splitmix64_next(row_state) % 3) - 1);
      float* out = x.data() + m * n_cols;
      for (size_t k = 0; k < n_cols; ++k) {
        int64_t sum = 0;  // 12 uniform 32-bit draws, two per splitmix64 output
        for (int d = 0; d < 6; ++d) {
          const uint64_t r = splitmix64_next(row_state);
          sum += static_cast<int64_t>(r >> 32) + static_cast<int64_t>(r & 0xffffffffull);
        }
        // Exact in double: |sum - 6 * 2^32| < 2^35; the scalings are powers of two (times 2^-32
        // rather than ldexp, a libm call per value: the same value).
        const double normal = static_cast<double>(sum - (int64_t{6} << 32)) * 0x1p-32;
        out[k] = static_cast<float>(normal * row_gain * channel_gain[k]);
      }
    }
  };
  if (x.size() >= (size_t{1} << 20)) {
    parallel_for(rows, make_rows);
  } else {
    make_rows(0, rows);
  }
  return x;
}

}  // namespace fq
