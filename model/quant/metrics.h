// Quantization error metrics of an EncodedMatrix against its FP32 original (quantizers.md §7).
#pragma once

#include "model/quant/encoded_matrix.h"

#include <span>

namespace fq {

// All values computed in double from W and dequantize(m) (ŵ = fp16(scale) * q, exact in float).
struct ErrorMetrics {
  double mse;              // sum (w - ŵ)^2 / (rows * cols)
  double sqnr_db;          // 10 log10(sum w^2 / sum (w - ŵ)^2) over the tensor
  double min_row_sqnr_db;  // the same per row, minimum over rows
  double max_abs_err;      // max |w - ŵ|
  double bits_per_weight;  // bits_per_weight(m)
};

// SQNR in dB. A zero error gives +inf (the reconstruction is exact, whatever the signal); a
// non-zero error on a zero signal gives -inf.
double sqnr_db(double signal_energy, double error_energy);

// Storage cost including row padding and FP16 scales: (code bytes * 8 + scales * 16) / (rows * cols).
double bits_per_weight(const EncodedMatrix& m);

// Throws fq::Error if w.size() != rows * cols or m is inconsistent (validate()).
ErrorMetrics error_metrics(std::span<const float> w, const EncodedMatrix& m);

}  // namespace fq
