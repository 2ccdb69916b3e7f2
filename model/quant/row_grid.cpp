#include "model/quant/row_grid.h"

#include "model/core/error.h"

#include <algorithm>
#include <cmath>

namespace fq {

int RowGrid::code(double x, Rounding rounding) const {
  // Clamp in double before the cast, so a huge quotient can never overflow the integer type.
  const double r = apply_rounding(x / scale, rounding) + zero;
  return static_cast<int>(std::clamp(r, static_cast<double>(qmin), static_cast<double>(qmax)));
}

void check_grid_bits(int bits, const char* who) {
  if (bits < 2 || bits > 8) fail("{}: bits {} outside [2, 8]", who, bits);
}

RowGrid make_grid(double scale, double zero, int bits, bool symmetric) {
  check_grid_bits(bits, "grid");
  if (!(scale > 0.0) || !std::isfinite(scale)) fail("grid: scale {} is not finite and positive", scale);
  if (!std::isfinite(zero) || zero != std::round(zero)) fail("grid: zero point {} is not an integer", zero);
  RowGrid g;
  g.scale = scale;
  g.bits = bits;
  g.symmetric = symmetric;
  if (symmetric) {
    if (zero != 0.0) fail("grid: a symmetric grid has zero point 0, got {}", zero);
    g.zero = 0.0;
    g.qmin = int_min_code(bits);
    g.qmax = int_max_code(bits);
  } else {
    g.zero = zero;
    g.qmin = 0;
    g.qmax = (1 << bits) - 1;
  }
  return g;
}

RowGrid fit_grid(std::span<const double> x, const GridSpec& spec, double clip, Rounding rounding) {
  check_grid_bits(spec.bits, "grid fit");
  if (!(clip > 0.0 && clip <= 1.0)) fail("grid fit: clip ratio {} outside (0, 1]", clip);
  RowGrid g;
  g.bits = spec.bits;
  g.symmetric = spec.symmetric;
  g.clip = clip;
  if (spec.symmetric) {
    double absmax = 0.0;
    for (const double v : x) absmax = std::max(absmax, std::fabs(v));
    g.scale = rtn_scale(absmax, spec.bits, clip);
    g.zero = 0.0;
    g.qmin = int_min_code(spec.bits);
    g.qmax = int_max_code(spec.bits);
  } else {
    double lo = 0.0;
    double hi = 0.0;
    if (!x.empty()) {
      const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
      lo = *mn;
      hi = *mx;
    }
    // A constant slice has no range of its own; bracketing 0 keeps the constant representable.
    if (spec.include_zero || lo == hi) {
      lo = std::min(lo, 0.0);
      hi = std::max(hi, 0.0);
    }
    if (lo == 0.0 && hi == 0.0) {
      lo = -1.0;
      hi = 1.0;
    }
    const double maxq = static_cast<double>((1 << spec.bits) - 1);
    g.scale = clip * (hi - lo) / maxq;
    g.zero = apply_rounding(-clip * lo / g.scale, rounding);
    g.qmin = 0;
    g.qmax = (1 << spec.bits) - 1;
  }
  if (!(g.scale > 0.0) || !std::isfinite(g.scale)) fail("grid fit: scale {} is not finite and positive", g.scale);
  return g;
}

double grid_error(std::span<const double> x, const RowGrid& grid, double norm, Rounding rounding) {
  double sum = 0.0;
  for (const double v : x) {
    const double d = std::fabs(grid.quantize(v, rounding) - v);
    sum += norm == 2.0 ? d * d : std::pow(d, norm);
  }
  return sum;
}

RowGrid fit_grid_mse(std::span<const double> x, const GridSpec& spec, double norm, Rounding rounding,
                     double* error_out) {
  if (!(norm > 0.0) || !std::isfinite(norm)) fail("clip search: norm {} must be finite and > 0", norm);
  RowGrid best = fit_grid(x, spec, 1.0, rounding);
  double best_error = grid_error(x, best, norm, rounding);
  for (int i = 1; i < 80; ++i) {
    const double p = 1.0 - static_cast<double>(i) / 100.0;
    const RowGrid g = fit_grid(x, spec, p, rounding);
    // The partial sums of non-negative terms never decrease, so a candidate is abandoned as soon
    // as it can no longer be strictly better: the same choice as the full sum, without most pow() calls.
    double err = 0.0;
    for (size_t k = 0; k < x.size() && err < best_error; ++k) {
      const double d = std::fabs(g.quantize(x[k], rounding) - x[k]);
      err += norm == 2.0 ? d * d : std::pow(d, norm);
    }
    if (err < best_error) {
      best = g;
      best_error = err;
    }
  }
  if (error_out != nullptr) *error_out = best_error;
  return best;
}

}  // namespace fq
