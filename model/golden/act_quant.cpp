#include "model/golden/act_quant.h"

#include "model/core/error.h"
#include "model/core/parallel.h"
#include "model/core/vector_clones.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <numeric>

namespace fq {

namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;  // splitmix64's state increment

// splitmix64's output function of a state.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Spec §4 for one row of finite values: writes q, returns s_a. Integer work and exactly rounded
// IEEE operations only, so every clone gives the same bits. For finite floats the order of |x| is
// that of the bits without the sign, an integer maximum that vectorises (a double max does not).
FQ_VECTOR_CLONES float quantize_row(const float* x, size_t n, int8_t* q) {
  uint32_t most = 0;
  for (size_t k = 0; k < n; ++k) most = std::max(most, std::bit_cast<uint32_t>(x[k]) & 0x7fffffffu);
  const double absmax = static_cast<double>(std::bit_cast<float>(most));
  const float s_a = absmax == 0.0 ? 1.0f : static_cast<float>(absmax / 127.0);
  // clamp(round_half_away(r)) computed as round_half_away(clamp(r)) (rounding is monotone and
  // keeps ±127). For |r| <= 127, round_half_away(r) = trunc(2r) - trunc(r): 2r is exact, and
  // trunc(2r) = 2·trunc(r) + (1 if the remainder is ±0.5 or more, toward its sign). Conversions
  // and selects only (a comparison of the remainder would stop GCC vectorising); no libm call.
  const double s = static_cast<double>(s_a);
  for (size_t k = 0; k < n; ++k) {
    const double v = static_cast<double>(x[k]) / s;
    const double above = v > -127.0 ? v : -127.0;
    const double r = above < 127.0 ? above : 127.0;
    q[k] = static_cast<int8_t>(static_cast<int>(2.0 * r) - static_cast<int>(r));
  }
  return s_a;
}

// n values from the draws after `state`: value k sums draws 6k+1 .. 6k+6, and draw j is the mix of
// state + j·γ (splitmix64's state only advances by γ), so the values are independent of each other
// and the loop vectorises; the same bits as drawing them in order.
FQ_VECTOR_CLONES void synthetic_row(uint64_t state, size_t n, const double* channel_gain, double row_gain, float* out) {
  for (size_t k = 0; k < n; ++k) {
    const uint64_t base = state + static_cast<uint64_t>(6 * k) * kGolden;
    int64_t sum = 0;  // 12 uniform 32-bit draws, two per splitmix64 output
    for (uint64_t d = 1; d <= 6; ++d) {
      const uint64_t r = mix(base + d * kGolden);
      sum += static_cast<int64_t>(r >> 32) + static_cast<int64_t>(r & 0xffffffffull);
    }
    // Exact in double: |sum - 6 * 2^32| < 2^35; the scalings are powers of two (times 2^-32
    // rather than ldexp, a libm call per value: the same value).
    const double normal = static_cast<double>(sum - (int64_t{6} << 32)) * 0x1p-32;
    out[k] = static_cast<float>(normal * row_gain * channel_gain[k]);
  }
}

// The seeded state of synthetic_activations(): the outlier channels and where each row's draws
// start.
class SyntheticSource {
 public:
  SyntheticSource(int rows, int cols, uint64_t seed) : n_cols_(static_cast<size_t>(cols)) {
    if (rows <= 0 || cols <= 0) fail("synthetic activations: shape [{}, {}] must be positive", rows, cols);
    uint64_t state = seed;
    // Outlier channels: the first cols/16 entries of a seeded Fisher-Yates shuffle.
    std::vector<int> order(n_cols_);
    std::iota(order.begin(), order.end(), 0);
    const size_t n_outliers = n_cols_ / 16;
    for (size_t i = 0; i < n_outliers; ++i) {
      const size_t j = i + static_cast<size_t>(splitmix64_next(state) % (n_cols_ - i));
      std::swap(order[i], order[j]);
    }
    channel_gain_.assign(n_cols_, 1.0);
    for (size_t i = 0; i < n_outliers; ++i) channel_gain_[static_cast<size_t>(order[i])] = 32.0;
    after_shuffle_ = state;
  }

  // Row m (cols values) into out. Row m starts at the state after the shuffle's draws and m rows
  // of 1 + 6·cols draws, so rows are independent and may run in parallel with the serial values.
  void row(size_t m, float* out) const {
    const uint64_t draws_per_row = 1 + 6 * static_cast<uint64_t>(n_cols_);
    uint64_t state = after_shuffle_ + static_cast<uint64_t>(m) * draws_per_row * kGolden;
    const double row_gain = std::ldexp(1.0, static_cast<int>(splitmix64_next(state) % 3) - 1);
    synthetic_row(state, n_cols_, channel_gain_.data(), row_gain, out);
  }

 private:
  size_t n_cols_;
  std::vector<double> channel_gain_;
  uint64_t after_shuffle_ = 0;
};

// Large requests run over threads; small ones stay on the calling thread.
void for_rows(int rows, size_t values, const std::function<void(int64_t, int64_t)>& body) {
  if (values >= (size_t{1} << 20)) {
    parallel_for(rows, body);
  } else {
    body(0, rows);
  }
}

}  // namespace

QuantizedActs quantize_activations(std::span<const float> x, int rows, int cols) {
  if (rows <= 0 || cols <= 0) fail("activations: shape [{}, {}] must be positive", rows, cols);
  const auto n_cols = static_cast<size_t>(cols);
  if (x.size() != static_cast<size_t>(rows) * n_cols) {
    fail("activations: {} values for shape [{}, {}]", x.size(), rows, cols);
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) fail("activations: value at row {}, column {} is {}", i / n_cols, i % n_cols, x[i]);
  }
  QuantizedActs a;
  a.rows = rows;
  a.cols = cols;
  a.q.resize(x.size());
  a.scales.resize(static_cast<size_t>(rows));
  for (size_t m = 0; m < static_cast<size_t>(rows); ++m) {
    a.scales[m] = quantize_row(x.data() + m * n_cols, n_cols, a.q.data() + m * n_cols);
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
  state += kGolden;
  return mix(state);
}

std::vector<float> synthetic_activations(int rows, int cols, uint64_t seed) {
  const SyntheticSource source(rows, cols, seed);
  const auto n_cols = static_cast<size_t>(cols);
  std::vector<float> x(static_cast<size_t>(rows) * n_cols);
  for_rows(rows, x.size(), [&](int64_t begin, int64_t end) {
    for (auto m = static_cast<size_t>(begin); m < static_cast<size_t>(end); ++m) source.row(m, x.data() + m * n_cols);
  });
  return x;
}

QuantizedActs synthetic_quantized_activations(int rows, int cols, uint64_t seed) {
  const SyntheticSource source(rows, cols, seed);
  const auto n_cols = static_cast<size_t>(cols);
  QuantizedActs a;
  a.rows = rows;
  a.cols = cols;
  a.q.resize(static_cast<size_t>(rows) * n_cols);
  a.scales.resize(static_cast<size_t>(rows));
  // The generated values are finite by construction (|value| < 6 · 2 · 32), so the check of
  // quantize_activations() has nothing to find; one row of floats per worker, not the matrix.
  for_rows(rows, a.q.size(), [&](int64_t begin, int64_t end) {
    std::vector<float> x(n_cols);
    for (auto m = static_cast<size_t>(begin); m < static_cast<size_t>(end); ++m) {
      source.row(m, x.data());
      a.scales[m] = quantize_row(x.data(), n_cols, a.q.data() + m * n_cols);
    }
  });
  return a;
}

}  // namespace fq
