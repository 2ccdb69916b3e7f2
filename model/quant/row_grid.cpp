#include "model/quant/row_grid.h"

#include "model/core/error.h"
#include "model/quant/clip_bounds.h"

#include <algorithm>
#include <cmath>
#include <vector>

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

namespace {

// What a fit reads of the slice: absmax (symmetric) or the bracketed range (asymmetric).
struct SliceRange {
  double absmax = 0.0;
  double lo = 0.0;
  double hi = 0.0;
};

SliceRange slice_range(std::span<const double> x, const GridSpec& spec) {
  SliceRange r;
  if (spec.symmetric) {
    for (const double v : x) r.absmax = std::max(r.absmax, std::fabs(v));
    return r;
  }
  if (!x.empty()) {
    const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
    r.lo = *mn;
    r.hi = *mx;
  }
  // A constant slice has no range of its own; bracketing 0 keeps the constant representable.
  if (spec.include_zero || r.lo == r.hi) {
    r.lo = std::min(r.lo, 0.0);
    r.hi = std::max(r.hi, 0.0);
  }
  if (r.lo == 0.0 && r.hi == 0.0) {
    r.lo = -1.0;
    r.hi = 1.0;
  }
  return r;
}

RowGrid fit_range(const SliceRange& r, const GridSpec& spec, double clip, Rounding rounding) {
  check_grid_bits(spec.bits, "grid fit");
  if (!(clip > 0.0 && clip <= 1.0)) fail("grid fit: clip ratio {} outside (0, 1]", clip);
  RowGrid g;
  g.bits = spec.bits;
  g.symmetric = spec.symmetric;
  g.clip = clip;
  if (spec.symmetric) {
    g.scale = rtn_scale(r.absmax, spec.bits, clip);
    g.zero = 0.0;
    g.qmin = int_min_code(spec.bits);
    g.qmax = int_max_code(spec.bits);
  } else {
    const double maxq = static_cast<double>((1 << spec.bits) - 1);
    g.scale = clip * (r.hi - r.lo) / maxq;
    g.zero = apply_rounding(-clip * r.lo / g.scale, rounding);
    g.qmin = 0;
    g.qmax = (1 << spec.bits) - 1;
  }
  if (!(g.scale > 0.0) || !std::isfinite(g.scale)) fail("grid fit: scale {} is not finite and positive", g.scale);
  return g;
}

}  // namespace

RowGrid fit_grid(std::span<const double> x, const GridSpec& spec, double clip, Rounding rounding) {
  check_grid_bits(spec.bits, "grid fit");
  return fit_range(slice_range(x, spec), spec, clip, rounding);
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
  check_grid_bits(spec.bits, "grid fit");
  const SliceRange range = slice_range(x, spec);
  std::vector<RowGrid> grids;
  std::vector<ClipCandidate> candidates;
  for (int i = 0; i < 80; ++i) {
    grids.push_back(fit_range(range, spec, 1.0 - static_cast<double>(i) / 100.0, rounding));
    candidates.push_back({grids.back().scale, grids.back().zero, grids.back().qmin, grids.back().qmax});
  }
  // Only the candidates that can still win are scored exactly (clip_bounds.h): the same choice.
  const std::vector<int> contenders = clip_contenders(x, candidates, norm);
  if (contenders.size() == 1 && error_out == nullptr) return grids[static_cast<size_t>(contenders[0])];
  size_t best = static_cast<size_t>(contenders[0]);
  double best_error = grid_error(x, grids[best], norm, rounding);
  for (size_t c = 1; c < contenders.size(); ++c) {
    const RowGrid& g = grids[static_cast<size_t>(contenders[c])];
    // The partial sums of non-negative terms never decrease, so a candidate is abandoned as soon
    // as it can no longer be strictly better: the same choice as the full sum, with fewer pow() calls.
    double err = 0.0;
    for (size_t k = 0; k < x.size() && err < best_error; ++k) {
      const double d = std::fabs(g.quantize(x[k], rounding) - x[k]);
      err += norm == 2.0 ? d * d : std::pow(d, norm);
    }
    if (err < best_error) {
      best = static_cast<size_t>(contenders[c]);
      best_error = err;
    }
  }
  if (error_out != nullptr) *error_out = best_error;
  return grids[best];
}

}  // namespace fq
