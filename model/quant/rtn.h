// Symmetric INTb round-to-nearest of one row or group, and the MSE clip search (quantizers.md §1, §2).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace fq {

// Rounding of x / scale (quantizers.md §0). Option names: "half_away", "rne".
enum class Rounding { kHalfAway, kHalfEven };

const char* rounding_name(Rounding rounding);
// Throws fq::Error naming `option` and the accepted names.
Rounding parse_rounding(const std::string& name, const std::string& option);
double apply_rounding(double x, Rounding rounding);

// Symmetric full-range grid: codes in [int_min_code(b), int_max_code(b)] = [-2^(b-1), 2^(b-1) - 1].
int int_max_code(int bits);
int int_min_code(int bits);

// Weight absmax is clamped to at least this (quantizers.md §1), so a scale is never 0.
inline constexpr double kMinWeightAbsmax = 1e-5;

// max |x_i| in double (0 for an empty slice).
double abs_max(std::span<const float> x);

// Pure double: scale = clip * max(absmax, 1e-5) / maxq with maxq = 2^(b-1) - 1.
double rtn_scale(double absmax, int bits, double clip);

// Pure double: q_i = clamp(round(x_i / scale), -2^(b-1), maxq), the division in double.
// `scale` is whatever the caller stores; with an FP16-stored scale pass its decoded value.
void rtn_codes(std::span<const float> x, double scale, int bits, Rounding rounding, std::span<int8_t> q_out);

// Pure double: sum_i |scale * q_i - x_i|^norm (norm 2 is evaluated as a square).
double rtn_error(std::span<const float> x, std::span<const int8_t> q, double scale, double norm);

// How a candidate scale is held while it is evaluated and stored.
//  kDouble: the exact double (quantizers.md test vectors T1, T3);
//  kFp16:   rounded to the FP16 value stored in EncodedMatrix::scales (fp16_scale() below)
//           BEFORE the codes are computed, so that decoded = fp16(scale) * q is exactly what the
//           codes mean, and the search compares the errors the stored matrix really has.
enum class ScalePrecision { kDouble, kFp16 };

// A scale as stored: FP16 bits and their exact value. fp16_from_float(float(scale)); a positive
// scale that underflows to 0 is raised to the smallest subnormal 2^-24 (bits 0x0001) so a stored
// scale is always > 0. Overflow yields infinity bits (0x7c00): callers must reject it.
struct Fp16Scale {
  uint16_t bits;
  double value;
};
Fp16Scale fp16_scale(double scale);

// One slice with clip ratio `clip`: scale = rtn_scale(abs_max(x), bits, clip), replaced by its
// fp16_scale() value under kFp16 (throws fq::Error if that overflows FP16), then rtn_codes().
// Returns the scale the codes were computed with.
double rtn_quantize(std::span<const float> x, int bits, double clip, Rounding rounding, ScalePrecision precision,
                    std::span<int8_t> q_out);

struct ClipChoice {
  int index;     // i of p = 1 - i/100
  double ratio;  // p
  double scale;  // the scale used for the codes (FP16 value under kFp16)
  double error;  // sum |scale * q - x|^norm; NaN when the search was called with want_error = false
};

// MSE clip search (quantizers.md §2): candidates p = 1 - i/100, i = 0..79, each quantized with
// rtn_quantize(x, bits, p, rounding, precision) and scored by rtn_error(); the first candidate wins ties, only a
// strictly smaller error replaces it. Writes the chosen codes to q_out (size x.size()). With
// want_error = false the choice and codes are the same, but a slice where only one candidate can
// win is not scored at all (the exact score costs a pow() per weight), and `error` is NaN.
ClipChoice mse_clip_search(std::span<const float> x, int bits, double norm, Rounding rounding, ScalePrecision precision,
                           std::span<int8_t> q_out, bool want_error = true);

}  // namespace fq
