#include "model/quant/block_formats.h"

#include "model/core/error.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace fq {
namespace {

constexpr int kMinExponent = -127;
constexpr int kBfpMaxExponent = 128;  // the 8-bit BFP exponent reaches 128; E8M0 stops at 127 (255 = NaN)
constexpr int kMxMaxExponent = 127;
constexpr int kMxBlock = 32;
constexpr int kMaxBfpBlock = 4096;
constexpr int kMxint8FractionBits = 6;
constexpr int kMxint8MaxCode = 127;
constexpr int kE2M1SignBit = 8;
constexpr double kE2M1Max = 6.0;
// E2M1 magnitudes by 3-bit code; index 1 (0.5) is the subnormal.
constexpr std::array<double, 8> kE2M1Magnitudes{0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};

int bfp_max_magnitude(int bits) { return (1 << (bits - 1)) - 1; }

int max_exponent(BlockKind kind) { return kind == BlockKind::kBfp ? kBfpMaxExponent : kMxMaxExponent; }

// |v| on the E2M1 grid: round at the step of v's binade (subnormal step 0.5 below 2), then
// saturate. Returns the 3-bit magnitude code.
int e2m1_magnitude_code(double a, Rounding rounding) {
  if (a == 0.0) return 0;
  const int binade = std::max(floor_log2(a), 0);  // 0 covers the subnormal 0.5 too: same step
  // One mantissa bit: the step in this binade is 2^(binade - 1).
  const double steps = apply_rounding(std::ldexp(a, 1 - binade), rounding);
  const double magnitude = std::min(std::ldexp(steps, binade - 1), kE2M1Max);
  for (int i = 0; i < static_cast<int>(kE2M1Magnitudes.size()); ++i) {
    if (kE2M1Magnitudes[static_cast<size_t>(i)] == magnitude) return i;
  }
  fail("mxfp4: {} rounded to {}, which is not on the E2M1 grid", a, magnitude);
}

// Assumes a validated spec and an in-range code and exponent.
double dequantize_unchecked(const BlockSpec& spec, int code, int exponent) {
  switch (spec.kind) {
    case BlockKind::kBfp:
      return std::ldexp(static_cast<double>(code), exponent - (spec.bits - 1));
    case BlockKind::kMxint8:
      return std::ldexp(static_cast<double>(code), exponent - kMxint8FractionBits);
    case BlockKind::kMxfp4: {
      const double magnitude = std::ldexp(kE2M1Magnitudes[static_cast<size_t>(code & 7)], exponent);
      return (code & kE2M1SignBit) != 0 ? -magnitude : magnitude;
    }
  }
  fail("block format: unknown kind {}", static_cast<int>(spec.kind));
}

int block_exponent(const BlockSpec& spec, double absmax) {
  if (absmax == 0.0) return kZeroBlockExponent;
  if (spec.kind == BlockKind::kBfp) return std::clamp(ceil_log2(absmax), kMinExponent, kBfpMaxExponent);
  return std::clamp(floor_log2(absmax) - mx_emax_elem(spec.kind), kMinExponent, kMxMaxExponent);
}

int quantize_element(const BlockSpec& spec, double x, int exponent) {
  const bool negative = std::signbit(x);
  const double a = std::fabs(x);
  switch (spec.kind) {
    case BlockKind::kBfp: {
      const double m = apply_rounding(std::ldexp(a, spec.bits - 1 - exponent), spec.rounding);
      const int magnitude = static_cast<int>(std::min(m, static_cast<double>(bfp_max_magnitude(spec.bits))));
      return negative ? -magnitude : magnitude;
    }
    case BlockKind::kMxint8: {
      const double c = apply_rounding(std::ldexp(x, kMxint8FractionBits - exponent), spec.rounding);
      return static_cast<int>(std::clamp(c, -static_cast<double>(kMxint8MaxCode), static_cast<double>(kMxint8MaxCode)));
    }
    case BlockKind::kMxfp4: {
      const int magnitude = e2m1_magnitude_code(std::ldexp(a, -exponent), spec.rounding);
      return negative ? (magnitude | kE2M1SignBit) : magnitude;
    }
  }
  fail("block format: unknown kind {}", static_cast<int>(spec.kind));
}

}  // namespace

const char* block_kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::kBfp:
      return "bfp";
    case BlockKind::kMxint8:
      return "mxint8";
    case BlockKind::kMxfp4:
      return "mxfp4";
  }
  return "unknown";
}

BlockKind parse_block_kind(const std::string& name, const std::string& option) {
  for (const BlockKind kind : {BlockKind::kBfp, BlockKind::kMxint8, BlockKind::kMxfp4}) {
    if (name == block_kind_name(kind)) return kind;
  }
  fail("option '{}' must be bfp, mxint8 or mxfp4, got '{}'", option, name);
}

BlockSpec make_block_spec(BlockKind kind, int bits, Rounding rounding) {
  const BlockSpec spec{kind, bits, kind == BlockKind::kBfp ? 16 : kMxBlock, rounding};
  validate_block_spec(spec);
  return spec;
}

void validate_block_spec(const BlockSpec& spec) {
  switch (spec.kind) {
    case BlockKind::kBfp:
      if (spec.bits != 8 && spec.bits != 6 && spec.bits != 4) {
        fail("bfp: element width {} must be 8, 6 or 4 bits (sign included)", spec.bits);
      }
      if (spec.block < 1 || spec.block > kMaxBfpBlock) {
        fail("bfp: block size {} outside [1, {}]", spec.block, kMaxBfpBlock);
      }
      return;
    case BlockKind::kMxint8:
    case BlockKind::kMxfp4: {
      const int bits = spec.kind == BlockKind::kMxint8 ? 8 : 4;
      if (spec.bits != bits)
        fail("{}: element width must be {} bits, got {}", block_kind_name(spec.kind), bits, spec.bits);
      if (spec.block != kMxBlock) {
        fail("{}: block size must be {} (OCP MX), got {}", block_kind_name(spec.kind), kMxBlock, spec.block);
      }
      return;
    }
  }
  fail("block format: unknown kind {}", static_cast<int>(spec.kind));
}

int mx_emax_elem(BlockKind kind) {
  switch (kind) {
    case BlockKind::kMxint8:
      return 0;
    case BlockKind::kMxfp4:
      return 2;
    case BlockKind::kBfp:
      break;
  }
  fail("mx_emax_elem: {} is not an MX format", block_kind_name(kind));
}

int floor_log2(double a) {
  if (!(a > 0.0) || !std::isfinite(a)) fail("floor_log2: {} is not finite and positive", a);
  int exponent = 0;
  std::frexp(a, &exponent);  // a = f * 2^exponent, f in [0.5, 1)
  return exponent - 1;
}

int ceil_log2(double a) {
  if (!(a > 0.0) || !std::isfinite(a)) fail("ceil_log2: {} is not finite and positive", a);
  int exponent = 0;
  const double f = std::frexp(a, &exponent);
  return f == 0.5 ? exponent - 1 : exponent;  // f = 0.5 exactly: a is a power of two
}

BlockQuantized block_quantize(std::span<const float> x, int rows, int cols, const BlockSpec& spec) {
  validate_block_spec(spec);
  if (rows < 0 || cols < 0) fail("block_quantize: shape [{}, {}] has a negative dimension", rows, cols);
  const auto n_rows = static_cast<size_t>(rows);
  const auto n_cols = static_cast<size_t>(cols);
  if (x.size() != n_rows * n_cols) {
    fail("block_quantize: {} values for shape [{}, {}]", x.size(), rows, cols);
  }
  for (size_t r = 0; r < n_rows; ++r) {
    for (size_t c = 0; c < n_cols; ++c) {
      const float v = x[r * n_cols + c];
      if (!std::isfinite(v)) fail("block_quantize: value at row {}, column {} is {}", r, c, v);
    }
  }

  BlockQuantized out;
  out.rows = rows;
  out.cols = cols;
  out.blocks_per_row = (cols + spec.block - 1) / spec.block;
  out.codes.resize(x.size());
  out.values.resize(x.size());
  out.exponents.resize(n_rows * static_cast<size_t>(out.blocks_per_row));
  const auto block = static_cast<size_t>(spec.block);
  for (size_t r = 0; r < n_rows; ++r) {
    for (size_t b = 0; b < static_cast<size_t>(out.blocks_per_row); ++b) {
      const size_t begin = r * n_cols + b * block;
      const size_t end = r * n_cols + std::min(n_cols, (b + 1) * block);  // short last block
      double absmax = 0.0;
      for (size_t i = begin; i < end; ++i) absmax = std::max(absmax, std::fabs(static_cast<double>(x[i])));
      const int exponent = block_exponent(spec, absmax);
      out.exponents[r * static_cast<size_t>(out.blocks_per_row) + b] = exponent;
      for (size_t i = begin; i < end; ++i) {
        const int code = quantize_element(spec, static_cast<double>(x[i]), exponent);
        out.codes[i] = static_cast<int8_t>(code);
        out.values[i] = static_cast<float>(dequantize_unchecked(spec, code, exponent));
      }
    }
  }
  return out;
}

double block_dequantize(const BlockSpec& spec, int8_t code, int exponent) {
  validate_block_spec(spec);
  if (exponent < kMinExponent || exponent > max_exponent(spec.kind)) {
    fail("{}: exponent {} outside [{}, {}]", block_kind_name(spec.kind), exponent, kMinExponent,
         max_exponent(spec.kind));
  }
  const int c = code;
  int lo = 0;
  int hi = 0;
  switch (spec.kind) {
    case BlockKind::kBfp:
      hi = bfp_max_magnitude(spec.bits);
      lo = -hi;
      break;
    case BlockKind::kMxint8:
      lo = -kMxint8MaxCode;
      hi = kMxint8MaxCode;
      break;
    case BlockKind::kMxfp4:
      hi = 15;
      break;
  }
  if (c < lo || c > hi) fail("{}: code {} outside [{}, {}]", block_kind_name(spec.kind), c, lo, hi);
  return dequantize_unchecked(spec, c, exponent);
}

double block_bits_per_element(const BlockSpec& spec) {
  validate_block_spec(spec);
  return static_cast<double>(spec.bits) + static_cast<double>(kBlockExponentBits) / static_cast<double>(spec.block);
}

double block_memory_density(const BlockSpec& spec) { return 32.0 / block_bits_per_element(spec); }

int64_t block_storage_bits(const BlockSpec& spec, int rows, int cols) {
  validate_block_spec(spec);
  if (rows < 0 || cols < 0) fail("block_storage_bits: shape [{}, {}] has a negative dimension", rows, cols);
  const int64_t blocks_per_row = (static_cast<int64_t>(cols) + spec.block - 1) / spec.block;
  return static_cast<int64_t>(rows) * blocks_per_row *
         (static_cast<int64_t>(spec.block) * spec.bits + kBlockExponentBits);
}

}  // namespace fq
