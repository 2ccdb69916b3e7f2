// Per-row (or per-group) integer quantization grid for GPTQ and QuantEase (quantizers.md §1, §2).
//
// Contract:
//  - Symmetric grid = rtn.h's full-range grid: scale = c·max(absmax, 1e-5)/(2^(b-1) - 1), zero 0,
//    codes in [-2^(b-1), 2^(b-1) - 1].
//  - Asymmetric grid (§1): maxq = 2^b - 1, scale = c·(max - min)/maxq, zero = round(-c·min/scale)
//    (not clamped, rounded with the same rule as the codes), codes in [0, maxq].
//    With include_zero (the default, as the GPTQ/QuaRot/QuantEase weight quantizers do and as T7's
//    "non-outliers ∪ {0}" states) min = min(min, 0) and max = max(max, 0). An all-zero slice uses
//    min = -1, max = +1. Without include_zero a constant non-zero slice would have no range; it
//    is then widened to include 0, which represents the constant exactly.
//  - code(x) = clamp(round(x/scale) + zero, qmin, qmax); value(q) = scale·(q - zero).
//  - Pure double arithmetic; a fitted scale is always finite and > 0 (fq::Error otherwise).
#pragma once

#include "model/quant/rtn.h"

#include <span>

namespace fq {

struct GridSpec {
  int bits = 4;              // 2..8
  bool symmetric = true;     // false: asymmetric with a zero point
  bool include_zero = true;  // asymmetric only: min/max always bracket 0
};

struct RowGrid {
  double scale = 1.0;  // > 0
  double zero = 0.0;   // integer-valued; 0 for a symmetric grid
  int bits = 4;
  bool symmetric = true;
  int qmin = -8;      // smallest code
  int qmax = 7;       // largest code
  double clip = 1.0;  // clip ratio the grid was fitted with (1 for a fixed grid)

  int code(double x, Rounding rounding) const;
  double value(int q) const { return scale * (static_cast<double>(q) - zero); }
  // The grid point x maps to (x̂).
  double quantize(double x, Rounding rounding) const { return value(code(x, rounding)); }
};

// Throws fq::Error unless 2 <= bits <= 8; `who` names the caller in the message.
void check_grid_bits(int bits, const char* who);

// A grid with a given scale and zero point (for callers that store the grid, and tests).
RowGrid make_grid(double scale, double zero, int bits, bool symmetric);

// Fit from absmax (symmetric) or min/max (asymmetric) of x with clip ratio `clip` in (0, 1].
RowGrid fit_grid(std::span<const double> x, const GridSpec& spec, double clip, Rounding rounding);

// sum_i |quantize(x_i) - x_i|^norm (norm 2 is evaluated as a square).
double grid_error(std::span<const double> x, const RowGrid& grid, double norm, Rounding rounding);

// MSE clip search (§2): candidates p = 1 - i/100, i = 0..79, scored by grid_error(); the first
// candidate wins ties. `error_out`, when given, receives the chosen candidate's error.
RowGrid fit_grid_mse(std::span<const double> x, const GridSpec& spec, double norm, Rounding rounding,
                     double* error_out = nullptr);

}  // namespace fq
