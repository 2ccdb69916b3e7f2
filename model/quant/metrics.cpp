#include "model/quant/metrics.h"

#include "model/core/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fq {

double sqnr_db(double signal_energy, double error_energy) {
  if (error_energy == 0.0) return std::numeric_limits<double>::infinity();
  if (signal_energy == 0.0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal_energy / error_energy);
}

double bits_per_weight(const EncodedMatrix& m) {
  // A block format's shared exponent is 8 bits (the .q file stores it in a 16-bit slot).
  const double scale_bits = is_block_format(m.format) ? 8.0 : 16.0;
  const double bits = static_cast<double>(m.codes.size()) * 8.0 + static_cast<double>(m.scales.size()) * scale_bits;
  return bits / (static_cast<double>(m.rows) * static_cast<double>(m.cols));
}

ErrorMetrics error_metrics(std::span<const float> w, const EncodedMatrix& m) {
  validate(m, "error metrics");
  const auto cols = static_cast<size_t>(m.cols);
  if (w.size() != static_cast<size_t>(m.rows) * cols) {
    fail("error metrics: {} original weights for an encoded matrix of shape [{}, {}]", w.size(), m.rows, m.cols);
  }
  const std::vector<float> w_hat = dequantize(m);
  double signal = 0.0;
  double error = 0.0;
  double max_abs = 0.0;
  double min_row = std::numeric_limits<double>::infinity();
  for (size_t n = 0; n < static_cast<size_t>(m.rows); ++n) {
    double row_signal = 0.0;
    double row_error = 0.0;
    for (size_t k = 0; k < cols; ++k) {
      const double x = static_cast<double>(w[n * cols + k]);
      if (!std::isfinite(x)) fail("error metrics: original weight at row {}, column {} is {}", n, k, x);
      const double d = x - static_cast<double>(w_hat[n * cols + k]);
      row_signal += x * x;
      row_error += d * d;
      max_abs = std::max(max_abs, std::fabs(d));
    }
    signal += row_signal;
    error += row_error;
    min_row = std::min(min_row, sqnr_db(row_signal, row_error));
  }
  return {error / static_cast<double>(w.size()), sqnr_db(signal, error), min_row, max_abs, bits_per_weight(m)};
}

}  // namespace fq
