// INT8 per-token activations (fineq-spec.md §4) and a seeded, platform-independent FP32 generator.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fq {

// X [rows = tokens M, cols = K] as the accelerator sees it.
struct QuantizedActs {
  int rows = 0;
  int cols = 0;
  std::vector<int8_t> q;      // rows * cols, row-major, every value in [-127, 127]
  std::vector<float> scales;  // s_a per row, finite and > 0
};

// Spec §4, the one definition used by every engine:
//   s_a = float((double)absmax / 127.0)   computed in double, rounded once to float and stored;
//         an all-zero row gets s_a = 1.0f;
//   q   = clamp(round_half_away((double)x / (double)s_a), -127, 127)
//         the division is in double and uses the STORED float s_a, so s_a * q is what q means.
// Throws fq::Error for a bad shape or a NaN/Inf value (naming its row and column).
QuantizedActs quantize_activations(std::span<const float> x, int rows, int cols);

// Throws fq::Error (naming `what`) unless sizes match, every q is in [-127, 127] and every scale
// is finite and positive.
void validate(const QuantizedActs& a, const std::string& what);

// splitmix64 (Steele, Lea, Flood 2014): advances `state` and returns the next 64-bit value.
uint64_t splitmix64_next(uint64_t& state);

// Deterministic FP32 activations [rows, cols] for a seed, bit-identical on every platform: each
// value is an Irwin-Hall normal (sum of 12 uniform 32-bit draws, centred, divided by 2^32; mean 0,
// variance 1, range (-6, 6)) computed in integers and scaled by exact powers of two, so no libm
// call (log, cos) whose rounding differs between platforms is involved. Each token row gets a gain
// 2^e, e in {-1, 0, 1}; cols / 16 channels (chosen by the seed) are outlier channels with gain 32.
std::vector<float> synthetic_activations(int rows, int cols, uint64_t seed);

// quantize_activations(synthetic_activations(rows, cols, seed), rows, cols), the same bits,
// generated and quantized a row at a time without the FP32 matrix.
QuantizedActs synthetic_quantized_activations(int rows, int cols, uint64_t seed);

}  // namespace fq
