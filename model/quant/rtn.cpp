#include "model/quant/rtn.h"

#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/rounding.h"
#include "model/quant/clip_bounds.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace fq {

const char* rounding_name(Rounding rounding) {
  return rounding == Rounding::kHalfAway ? "half_away" : "rne";
}

Rounding parse_rounding(const std::string& name, const std::string& option) {
  if (name == "half_away") return Rounding::kHalfAway;
  if (name == "rne") return Rounding::kHalfEven;
  fail("option '{}' must be half_away or rne, got '{}'", option, name);
}

double apply_rounding(double x, Rounding rounding) {
  return rounding == Rounding::kHalfAway ? round_half_away(x) : round_half_even(x);
}

int int_max_code(int bits) {
  if (bits < 2 || bits > 8) fail("integer code width {} outside [2, 8]", bits);
  return (1 << (bits - 1)) - 1;
}

int int_min_code(int bits) { return -int_max_code(bits) - 1; }

double abs_max(std::span<const float> x) {
  double m = 0.0;
  for (const float v : x) m = std::max(m, std::fabs(static_cast<double>(v)));
  return m;
}

double rtn_scale(double absmax, int bits, double clip) {
  return clip * std::max(absmax, kMinWeightAbsmax) / static_cast<double>(int_max_code(bits));
}

void rtn_codes(std::span<const float> x, double scale, int bits, Rounding rounding, std::span<int8_t> q_out) {
  if (q_out.size() != x.size()) fail("rtn_codes: {} outputs for {} inputs", q_out.size(), x.size());
  if (!(scale > 0.0) || !std::isfinite(scale)) fail("rtn_codes: scale {} is not finite and positive", scale);
  const auto lo = static_cast<double>(int_min_code(bits));
  const auto hi = static_cast<double>(int_max_code(bits));
  // apply_rounding() without a libm call, the same codes: the quotient is first limited to
  // [lo - 1, hi + 1] (|v| <= 129), which keeps every clamped result; then (v + 1.5·2^52) - 1.5·2^52
  // rounds it to nearest even, and for half_away a tie rounded down (r - |v| = -0.5, exact) goes
  // up. Clamping in double before the cast means a huge quotient never overflows the integer type.
  constexpr double kMagic = 0x1.8p52;
  if (rounding == Rounding::kHalfEven) {
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = std::min(std::max(static_cast<double>(x[i]) / scale, lo - 1.0), hi + 1.0);
      const double r = (v + kMagic) - kMagic;
      q_out[i] = static_cast<int8_t>(std::min(std::max(r, lo), hi));
    }
    return;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = std::min(std::max(static_cast<double>(x[i]) / scale, lo - 1.0), hi + 1.0);
    const double a = std::fabs(v);
    double r = (a + kMagic) - kMagic;
    r += r - a == -0.5 ? 1.0 : 0.0;
    q_out[i] = static_cast<int8_t>(std::min(std::max(std::copysign(r, v), lo), hi));
  }
}

double rtn_error(std::span<const float> x, std::span<const int8_t> q, double scale, double norm) {
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::fabs(scale * static_cast<double>(q[i]) - static_cast<double>(x[i]));
    sum += norm == 2.0 ? d * d : std::pow(d, norm);
  }
  return sum;
}

Fp16Scale fp16_scale(double scale) {
  uint16_t bits = fp16_from_float(static_cast<float>(scale));
  if (bits == 0 && scale > 0.0) bits = 0x0001;
  return {bits, static_cast<double>(fp16_to_float(bits))};
}

double rtn_quantize(std::span<const float> x, int bits, double clip, Rounding rounding, ScalePrecision precision,
                    std::span<int8_t> q_out) {
  double scale = rtn_scale(abs_max(x), bits, clip);
  if (precision == ScalePrecision::kFp16) {
    const Fp16Scale stored = fp16_scale(scale);
    if (!fp16_is_finite(stored.bits)) fail("rtn: scale {} exceeds the FP16 range", scale);
    scale = stored.value;
  }
  rtn_codes(x, scale, bits, rounding, q_out);
  return scale;
}

ClipChoice mse_clip_search(std::span<const float> x, int bits, double norm, Rounding rounding, ScalePrecision precision,
                           std::span<int8_t> q_out, bool want_error) {
  if (!(norm > 0.0)) fail("clip search: norm {} must be > 0", norm);
  if (q_out.size() != x.size()) fail("clip search: {} outputs for {} inputs", q_out.size(), x.size());
  // The candidate grids, with rtn_quantize()'s checks in candidate order (the first one fails first).
  const double absmax = abs_max(x);
  std::vector<ClipCandidate> candidates;
  for (int i = 0; i < 80; ++i) {
    const double p = 1.0 - static_cast<double>(i) / 100.0;
    double scale = rtn_scale(absmax, bits, p);
    if (precision == ScalePrecision::kFp16) {
      const Fp16Scale stored = fp16_scale(scale);
      if (!fp16_is_finite(stored.bits)) fail("rtn: scale {} exceeds the FP16 range", scale);
      scale = stored.value;
    }
    if (!(scale > 0.0) || !std::isfinite(scale)) fail("rtn_codes: scale {} is not finite and positive", scale);
    candidates.push_back({scale, 0.0, int_min_code(bits), int_max_code(bits)});
  }
  // Only the candidates that can still win are scored exactly (clip_bounds.h): the same choice.
  const std::vector<double> xd(x.begin(), x.end());
  std::vector<int8_t> q(x.size());
  ClipChoice best{-1, 0.0, 0.0, 0.0};
  const std::vector<int> contenders = clip_contenders(xd, candidates, norm);
  if (contenders.size() == 1 && !want_error) {  // the winner needs no score (fit_grid_mse does the same)
    const int i = contenders[0];
    const double scale = candidates[static_cast<size_t>(i)].scale;
    rtn_codes(x, scale, bits, rounding, q_out);
    return {i, 1.0 - static_cast<double>(i) / 100.0, scale, std::numeric_limits<double>::quiet_NaN()};
  }
  for (const int i : contenders) {
    const double p = 1.0 - static_cast<double>(i) / 100.0;
    const double scale = candidates[static_cast<size_t>(i)].scale;
    rtn_codes(x, scale, bits, rounding, q);
    const double err = rtn_error(x, q, scale, norm);
    if (best.index < 0 || err < best.error) {
      best = {i, p, scale, err};
      std::copy(q.begin(), q.end(), q_out.begin());
    }
  }
  if (!want_error) best.error = std::numeric_limits<double>::quiet_NaN();
  return best;
}

}  // namespace fq
