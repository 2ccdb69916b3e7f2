#include "model/golden/int_gemm.h"

#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/parallel.h"

#include <algorithm>
#include <limits>

namespace fq {
namespace {

// W rows handled together while one activation row streams past them (they stay in cache).
constexpr int64_t kRowBlock = 16;

}  // namespace

AccBound accumulator_bound(int k, int act_absmax, int weight_absmax) {
  if (k < 0 || act_absmax < 0 || weight_absmax < 0) {
    fail("accumulator bound: K = {}, activation absmax {}, weight absmax {} must be >= 0", k, act_absmax,
         weight_absmax);
  }
  const int64_t bound = static_cast<int64_t>(k) * act_absmax * weight_absmax;  // < 2^31 * 2^8 * 2^8
  return {bound, bound <= std::numeric_limits<int32_t>::max()};
}

int weight_absmax(HwFormat format) {
  switch (format) {
    case HwFormat::kFineqR: return 4;
    case HwFormat::kInt8: return 128;
    case HwFormat::kInt4: return 8;
    case HwFormat::kInt3: return 4;
    case HwFormat::kInt2: return 2;
    default: break;  // block formats have no integer GEMM: no accelerator runs them
  }
  fail("weight format {} has no integer GEMM", format_name(format));
}

std::vector<int32_t> int_gemm(const QuantizedActs& a, const EncodedMatrix& w) {
  validate(a, "int_gemm activations");
  validate(w, "int_gemm weights");
  if (a.cols != w.cols) fail("int_gemm: activations have K = {} columns but weights have K = {}", a.cols, w.cols);
  const AccBound b = accumulator_bound(w.cols, 127, weight_absmax(w.format));
  if (!b.fits_int32) {
    fail("int_gemm: K = {} with {} weights can reach |acc| = {} > 2^31 - 1; split K", w.cols, format_name(w.format),
         b.bound);
  }
  // Decoded once: [N, K] int8, padded positions already dropped.
  const std::vector<int8_t> q_w = decode_all(w);
  const auto k_len = static_cast<size_t>(w.cols);
  const auto n_len = static_cast<size_t>(w.rows);
  const auto m_len = static_cast<size_t>(a.rows);
  std::vector<int32_t> acc(m_len * n_len);
  // Work items (W row block, activation row), block-major: a worker's contiguous chunk streams
  // the activation rows past one cached W block; with M = 1 the blocks still spread over workers.
  const int64_t blocks = (w.rows + kRowBlock - 1) / kRowBlock;
  const auto m_items = static_cast<int64_t>(m_len);
  parallel_for(blocks * m_items, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const auto n0 = static_cast<size_t>((item / m_items) * kRowBlock);
      const size_t n1 = std::min(n_len, n0 + static_cast<size_t>(kRowBlock));
      const auto m = static_cast<size_t>(item % m_items);
      const int8_t* x = a.q.data() + m * k_len;
      for (size_t n = n0; n < n1; ++n) {
        const int8_t* y = q_w.data() + n * k_len;
        // No overflow: every partial sum is bounded by b.bound <= INT32_MAX (checked above).
        int32_t sum = 0;
        for (size_t k = 0; k < k_len; ++k) sum += static_cast<int32_t>(x[k]) * static_cast<int32_t>(y[k]);
        acc[m * n_len + n] = sum;
      }
    }
  });
  return acc;
}

std::vector<float> dequant(const std::vector<int32_t>& acc, const QuantizedActs& a, const EncodedMatrix& w) {
  validate(a, "dequant activations");
  validate(w, "dequant weights");
  if (w.group_size != 0) {
    fail("dequant: weights have group size {}; the integer path needs one scale per row (group size 0)",
         w.group_size);
  }
  const auto m_len = static_cast<size_t>(a.rows);
  const auto n_len = static_cast<size_t>(w.rows);
  if (acc.size() != m_len * n_len) fail("dequant: {} accumulators for [{}, {}]", acc.size(), a.rows, w.rows);
  std::vector<float> s_w(n_len);
  for (size_t n = 0; n < n_len; ++n) s_w[n] = fp16_to_float(w.scales[n]);
  std::vector<float> y(acc.size());
  for (size_t m = 0; m < m_len; ++m) {
    for (size_t n = 0; n < n_len; ++n) {
      const float t = static_cast<float>(acc[m * n_len + n]) * s_w[n];
      y[m * n_len + n] = t * a.scales[m];
    }
  }
  return y;
}

}  // namespace fq
