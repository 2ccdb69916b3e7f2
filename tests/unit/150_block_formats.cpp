#include "model/core/error.h"
#include "model/golden/act_quant.h"
#include "model/quant/block_formats.h"
#include "model/quant/rtn.h"

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

using fq::BlockKind;
using fq::BlockSpec;
using fq::Rounding;

BlockSpec bfp(int bits, Rounding r = Rounding::kHalfEven) { return fq::make_block_spec(BlockKind::kBfp, bits, r); }
BlockSpec mxint8(Rounding r = Rounding::kHalfAway) { return fq::make_block_spec(BlockKind::kMxint8, 8, r); }
BlockSpec mxfp4(Rounding r = Rounding::kHalfAway) { return fq::make_block_spec(BlockKind::kMxfp4, 4, r); }

// One row [x, 0, 0, ...] padded with zeros to `cols`.
std::vector<float> padded(std::vector<float> x, int cols) {
  x.resize(static_cast<size_t>(cols), 0.0f);
  return x;
}

fq::BlockQuantized quantize_row(const std::vector<float>& x, const BlockSpec& spec) {
  return fq::block_quantize(x, 1, static_cast<int>(x.size()), spec);
}

std::vector<int8_t> padded_codes(std::vector<int8_t> q, int cols) {
  q.resize(static_cast<size_t>(cols), 0);
  return q;
}

bool same_bits(float a, float b) { return a == b && std::signbit(a) == std::signbit(b); }

// Random matrix with magnitudes spread over many binades, exact zeros, exact powers of two,
// values just below a power of two, and zeros in every third run of 16 columns of row 1 (all-zero
// BFP-B16 blocks).
std::vector<float> random_matrix(int rows, int cols, uint64_t seed) {
  uint64_t state = seed;
  std::vector<float> x(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  for (size_t i = 0; i < x.size(); ++i) {
    const uint64_t pick = fq::splitmix64_next(state);
    const int binade = static_cast<int>(pick % 41) - 20;
    const double u = static_cast<double>(fq::splitmix64_next(state) >> 11) * 0x1.0p-53;  // [0, 1)
    double v = std::ldexp(2.0 * u - 1.0, binade);
    switch ((pick >> 8) % 16) {
      case 0:
        v = 0.0;
        break;
      case 1:
        v = std::ldexp(1.0, binade);
        break;
      case 2:
        v = std::nextafter(static_cast<float>(std::ldexp(1.0, binade)), 0.0f);
        break;
      default:
        break;
    }
    x[i] = static_cast<float>(v);
  }
  if (rows > 1) {
    for (int c = 0; c < cols; ++c) {
      if ((c / 16) % 3 == 0) x[static_cast<size_t>(cols) + static_cast<size_t>(c)] = 0.0f;
    }
  }
  return x;
}

std::vector<BlockSpec> all_specs() {
  std::vector<BlockSpec> specs;
  for (const Rounding r : {Rounding::kHalfEven, Rounding::kHalfAway}) {
    for (const int bits : {8, 6, 4}) specs.push_back(bfp(bits, r));
    specs.push_back(mxint8(r));
    specs.push_back(mxfp4(r));
  }
  return specs;
}

std::string describe(const BlockSpec& spec) {
  return fmt::format("{} bits {} block {} {}", fq::block_kind_name(spec.kind), spec.bits, spec.block,
                     fq::rounding_name(spec.rounding));
}

// The block of element (r, c) and its index in BlockQuantized::exponents.
size_t block_index(const fq::BlockQuantized& q, const BlockSpec& spec, size_t r, size_t c) {
  return r * static_cast<size_t>(q.blocks_per_row) + c / static_cast<size_t>(spec.block);
}

void require_error_mentions(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    FAIL("expected fq::Error");
  } catch (const fq::Error& e) {
    INFO(e.what());
    for (const auto& needle : needles) REQUIRE(std::string(e.what()).find(needle) != std::string::npos);
  }
}

}  // namespace

SCENARIO("T8: BFP6-B16 block [0.9, 0.3, -0.05, 0.75] padded with zeros", "[quant][block]") {
  const fq::BlockQuantized q = quantize_row(padded({0.9f, 0.3f, -0.05f, 0.75f}, 16), bfp(6));
  THEN("e = ceil(log2 0.9) = 0, m = [29, 10, 2, 24] and the padding codes are 0") {
    REQUIRE(q.exponents == std::vector<int>{0});
    REQUIRE(q.codes == padded_codes({29, 10, -2, 24}, 16));
  }
  THEN("x̂ = [0.90625, 0.3125, -0.0625, 0.75]") {
    REQUIRE(q.values == padded({0.90625f, 0.3125f, -0.0625f, 0.75f}, 16));
  }
}

SCENARIO("T8: BFP6 saturates a block max that is an exact power of two", "[quant][block]") {
  GIVEN("both T8 blocks in one row of 32, two blocks of 16") {
    std::vector<float> x = padded({0.9f, 0.3f, -0.05f, 0.75f}, 16);
    const std::vector<float> second = padded({1.0f, 0.3f, -0.05f, 0.75f}, 16);
    x.insert(x.end(), second.begin(), second.end());
    const fq::BlockQuantized q = quantize_row(x, bfp(6));
    THEN("both blocks get e = 0; 1.0 * 32 = 32 saturates to m = 31, x̂ = 0.96875") {
      REQUIRE(q.blocks_per_row == 2);
      REQUIRE(q.exponents == std::vector<int>{0, 0});
      REQUIRE(q.codes[16] == 31);
      REQUIRE(q.values[16] == 0.96875f);
      REQUIRE(q.codes[17] == 10);
      REQUIRE(q.values[19] == 0.75f);
    }
  }
  GIVEN("a block max of 2.0 and its float neighbours") {
    THEN("2.0 gives e = 1 and saturates to 31/16") {
      const auto q = quantize_row({2.0f, 0.5f}, bfp(6));
      REQUIRE(q.exponents == std::vector<int>{1});
      REQUIRE(q.codes == std::vector<int8_t>{31, 8});
      REQUIRE(q.values[0] == 1.9375f);
    }
    THEN("the float above 2.0 gives e = 2 and the float below gives e = 1") {
      REQUIRE(quantize_row({std::nextafter(2.0f, 3.0f)}, bfp(6)).exponents == std::vector<int>{2});
      REQUIRE(quantize_row({std::nextafter(2.0f, 0.0f)}, bfp(6)).exponents == std::vector<int>{1});
    }
  }
}

SCENARIO("T8 and T11: BFP storage, bits per element and memory density", "[quant][block]") {
  THEN("one BFP6-B16 block stores 16 * 6 + 8 = 104 bits, 6.5 b/elem, 4.92x vs FP32") {
    REQUIRE(fq::block_storage_bits(bfp(6), 1, 16) == 104);
    REQUIRE(fq::block_storage_bits(bfp(6), 1, 4) == 104);  // T8's 4 shown elements pad to one block
    REQUIRE(fq::block_bits_per_element(bfp(6)) == 6.5);
    REQUIRE(fmt::format("{:.2f}", fq::block_memory_density(bfp(6))) == "4.92");
  }
  THEN("storage counts whole blocks per row") {
    REQUIRE(fq::block_storage_bits(bfp(4), 3, 17) == 3 * 2 * (16 * 4 + 8));
    REQUIRE(fq::block_storage_bits(mxfp4(), 2, 64) == 2 * 2 * (32 * 4 + 8));
    REQUIRE(fq::block_storage_bits(mxint8(), 0, 64) == 0);
  }
}

SCENARIO("T11: block-format bits per element and density", "[quant][block]") {
  REQUIRE(fq::block_bits_per_element(bfp(6)) == 6.5);
  REQUIRE(fq::block_bits_per_element(bfp(4)) == 4.5);
  REQUIRE(fq::block_bits_per_element(bfp(8)) == 8.5);
  REQUIRE(fq::block_bits_per_element(mxfp4()) == 4.25);
  REQUIRE(fq::block_bits_per_element(mxint8()) == 8.25);
  REQUIRE(fmt::format("{:.2f}", fq::block_memory_density(bfp(6))) == "4.92");
  REQUIRE(fmt::format("{:.2f}", fq::block_memory_density(bfp(4))) == "7.11");
  REQUIRE(fmt::format("{:.2f}", fq::block_memory_density(mxfp4())) == "7.53");
  REQUIRE(fmt::format("{:.2f}", fq::block_memory_density(mxint8())) == "3.88");
  REQUIRE(fq::block_memory_density(mxint8()) == 32.0 / 8.25);
}

SCENARIO("T9: MXINT8 block [3.0, 0.01, -1.3, 2.99] under half_away", "[quant][block]") {
  const fq::BlockQuantized q = quantize_row(padded({3.0f, 0.01f, -1.3f, 2.99f}, 32), mxint8(Rounding::kHalfAway));
  THEN("shared_exp = floor(log2 3) - 0 = 1, E8M0 byte 128") {
    REQUIRE(q.exponents == std::vector<int>{1});
    REQUIRE(q.exponents[0] + 127 == 128);
  }
  THEN("V/2 * 64 = [96, 0.32, -41.6, 95.68] -> codes [96, 0, -42, 96], 0.01 flushes to 0") {
    REQUIRE(q.codes == padded_codes({96, 0, -42, 96}, 32));
    REQUIRE(q.values == padded({3.0f, 0.0f, -1.3125f, 3.0f}, 32));
  }
  THEN("a block max of 1.0 maps to code 64 exactly, no saturation (contrast T8)") {
    const auto one = quantize_row({1.0f, -0.5f}, mxint8(Rounding::kHalfAway));
    REQUIRE(one.exponents == std::vector<int>{0});
    REQUIRE(one.codes == std::vector<int8_t>{64, -32});
    REQUIRE(one.values == std::vector<float>{1.0f, -0.5f});
  }
}

SCENARIO("MXINT8 clamps a block max that rounds to 128 to code 127, never -128", "[quant][block]") {
  const float below_two = std::nextafter(2.0f, 0.0f);
  for (const Rounding r : {Rounding::kHalfEven, Rounding::kHalfAway}) {
    const auto q = quantize_row({below_two, -below_two, 1.0f}, mxint8(r));
    REQUIRE(q.exponents == std::vector<int>{0});
    REQUIRE(q.codes == std::vector<int8_t>{127, -127, 64});
    REQUIRE(q.values == std::vector<float>{127.0f / 64.0f, -127.0f / 64.0f, 1.0f});
  }
  THEN("2.0 moves to the next binade instead: shared_exp 1, code 64") {
    const auto q = quantize_row({2.0f}, mxint8());
    REQUIRE(q.exponents == std::vector<int>{1});
    REQUIRE(q.codes == std::vector<int8_t>{64});
  }
}

SCENARIO("T10: MXFP4 block [6, 2.5, -0.25, 5, 7] under both rounding modes", "[quant][block]") {
  const std::vector<float> x = padded({6.0f, 2.5f, -0.25f, 5.0f, 7.0f}, 32);
  GIVEN("half_away") {
    const auto q = quantize_row(x, mxfp4(Rounding::kHalfAway));
    THEN("shared_exp = floor(log2 7) - 2 = 0 and x̂ = [6, 3, -0.5, 6, 6]") {
      REQUIRE(q.exponents == std::vector<int>{0});
      REQUIRE(q.values == padded({6.0f, 3.0f, -0.5f, 6.0f, 6.0f}, 32));
      REQUIRE(q.codes == padded_codes({7, 5, 8 | 1, 7, 7}, 32));
    }
  }
  GIVEN("rne") {
    const auto q = quantize_row(x, mxfp4(Rounding::kHalfEven));
    THEN("x̂ = [6, 2, -0, 4, 6]: ties go to the even mantissa within their binade, 7 saturates") {
      REQUIRE(q.exponents == std::vector<int>{0});
      REQUIRE(q.values == padded({6.0f, 2.0f, -0.0f, 4.0f, 6.0f}, 32));
      REQUIRE(q.codes == padded_codes({7, 4, 8, 6, 7}, 32));
      REQUIRE(std::signbit(q.values[2]));  // -0.25 keeps its sign: code 8 is -0
    }
  }
}

SCENARIO("MXFP4 rounding matches a nearest-grid-point oracle for every multiple of 1/16 below 8", "[quant][block]") {
  // The block max 4.0 pins shared_exp to 0, so each element is rounded on the E2M1 grid itself.
  const std::vector<double> grid{0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};
  for (const Rounding r : {Rounding::kHalfEven, Rounding::kHalfAway}) {
    for (int k = -127; k <= 127; ++k) {
      const double v = k / 16.0;
      const double a = std::fabs(v);
      // Oracle: the nearest magnitude; a tie goes to the even code (rne) or the larger one
      // (half_away); beyond 6 the largest magnitude (saturation).
      int best = 0;
      for (int i = 1; i < 8; ++i) {
        const double d = std::fabs(grid[static_cast<size_t>(i)] - a);
        const double d_best = std::fabs(grid[static_cast<size_t>(best)] - a);
        const bool tie_wins = r == Rounding::kHalfAway || i % 2 == 0;
        if (d < d_best || (d == d_best && tie_wins)) best = i;
      }
      const int expected = (v < 0 ? 8 : 0) | best;
      const auto q = quantize_row({4.0f, static_cast<float>(v)}, mxfp4(r));
      INFO("v = " << v << ", " << fq::rounding_name(r));
      REQUIRE(q.exponents == std::vector<int>{0});
      REQUIRE(static_cast<int>(q.codes[1]) == expected);
      REQUIRE(q.values[1] ==
              static_cast<float>(v < 0 ? -grid[static_cast<size_t>(best)] : grid[static_cast<size_t>(best)]));
    }
  }
}

SCENARIO("MXFP4 codes decode to the E2M1 table with bit 3 as sign", "[quant][block]") {
  const std::vector<double> magnitudes{0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};
  for (int code = 0; code < 16; ++code) {
    const double m = magnitudes[static_cast<size_t>(code & 7)];
    const double v = fq::block_dequantize(mxfp4(), static_cast<int8_t>(code), 0);
    REQUIRE(std::fabs(v) == m);
    REQUIRE(std::signbit(v) == (code >= 8));
    REQUIRE(fq::block_dequantize(mxfp4(), static_cast<int8_t>(code), -3) == v / 8.0);
  }
}

SCENARIO("floor_log2 and ceil_log2 are exact at and around powers of two", "[quant][block]") {
  REQUIRE(fq::floor_log2(1.0) == 0);
  REQUIRE(fq::ceil_log2(1.0) == 0);
  REQUIRE(fq::floor_log2(3.0) == 1);
  REQUIRE(fq::ceil_log2(3.0) == 2);
  REQUIRE(fq::floor_log2(0.75) == -1);
  REQUIRE(fq::ceil_log2(0.75) == 0);
  REQUIRE(fq::floor_log2(std::nextafter(8.0, 0.0)) == 2);
  REQUIRE(fq::ceil_log2(std::nextafter(8.0, 16.0)) == 4);
  REQUIRE(fq::floor_log2(std::ldexp(1.0, -1074)) == -1074);  // double subnormal
  REQUIRE(fq::ceil_log2(std::ldexp(1.0, -1074)) == -1074);
  REQUIRE(fq::floor_log2(static_cast<double>(std::numeric_limits<float>::max())) == 127);
  REQUIRE(fq::ceil_log2(static_cast<double>(std::numeric_limits<float>::max())) == 128);
  REQUIRE_THROWS_AS(fq::floor_log2(0.0), fq::Error);
  REQUIRE_THROWS_AS(fq::ceil_log2(-1.0), fq::Error);
}

SCENARIO("Shared exponents clamp at the ends of the FP32 range", "[quant][block]") {
  const float huge = 3.0e38f;                                   // ceil(log2) = 128, floor(log2) = 127
  const float tiny = std::numeric_limits<float>::denorm_min();  // 2^-149
  THEN("BFP reaches e = 128 for the largest floats and stops at e = -127 for tiny ones") {
    const auto big = quantize_row({huge}, bfp(6));
    REQUIRE(big.exponents == std::vector<int>{128});
    REQUIRE(big.codes[0] == 28);  // 3e38 / 2^128 * 32 = 28.2
    REQUIRE(std::isfinite(big.values[0]));
    const auto small = quantize_row({std::ldexp(1.0f, -128), tiny}, bfp(6));
    REQUIRE(small.exponents == std::vector<int>{-127});
    REQUIRE(small.codes == std::vector<int8_t>{16, 0});
    REQUIRE(small.values[0] == std::ldexp(1.0f, -128));
  }
  THEN("MX shared_exp is floor(log2) - emax, clamped at -127") {
    REQUIRE(quantize_row({huge}, mxint8()).exponents == std::vector<int>{127});
    REQUIRE(quantize_row({huge}, mxfp4()).exponents == std::vector<int>{125});
    REQUIRE(quantize_row({huge}, mxfp4()).values[0] == std::ldexp(6.0f, 125));  // 7.05 saturates to 6
    REQUIRE(quantize_row({tiny}, mxint8()).exponents == std::vector<int>{-127});
    REQUIRE(quantize_row({tiny}, mxfp4()).exponents == std::vector<int>{-127});
    REQUIRE(quantize_row({tiny}, mxfp4()).values[0] == 0.0f);
  }
}

SCENARIO("An all-zero block gets exponent -127, zero codes and zero values", "[quant][block]") {
  for (const BlockSpec& spec : all_specs()) {
    INFO(describe(spec));
    std::vector<float> x(static_cast<size_t>(2 * spec.block), 0.0f);
    x[static_cast<size_t>(spec.block)] = 1.0f;  // the second block is not zero
    const auto q = quantize_row(x, spec);
    REQUIRE(q.exponents.size() == 2);
    REQUIRE(q.exponents[0] == fq::kZeroBlockExponent);
    REQUIRE(q.exponents[1] != fq::kZeroBlockExponent);
    for (int i = 0; i < spec.block; ++i) {
      REQUIRE(q.codes[static_cast<size_t>(i)] == 0);
      REQUIRE(same_bits(q.values[static_cast<size_t>(i)], 0.0f));
    }
  }
}

SCENARIO("A short last block behaves as if padded with zeros and blocks never cross rows", "[quant][block]") {
  for (const BlockSpec& spec : all_specs()) {
    INFO(describe(spec));
    const int rows = 3;
    const int cols = spec.block + spec.block / 2 + 3;  // two blocks, the second short
    // Row r is scaled by 2^(8r) so a block that leaked across rows would change the exponents.
    std::vector<float> x = random_matrix(rows, cols, 7);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        auto& v = x[static_cast<size_t>(r * cols + c)];
        v = std::ldexp(v, 8 * r);
      }
    }
    const auto q = fq::block_quantize(x, rows, cols, spec);
    REQUIRE(q.blocks_per_row == 2);
    REQUIRE(q.exponents.size() == static_cast<size_t>(rows * 2));
    for (int r = 0; r < rows; ++r) {
      const std::vector<float> row(x.begin() + r * cols, x.begin() + (r + 1) * cols);
      const auto full = quantize_row(padded(row, 2 * spec.block), spec);
      REQUIRE(q.exponents[static_cast<size_t>(2 * r)] == full.exponents[0]);
      REQUIRE(q.exponents[static_cast<size_t>(2 * r + 1)] == full.exponents[1]);
      for (int c = 0; c < cols; ++c) {
        REQUIRE(q.codes[static_cast<size_t>(r * cols + c)] == full.codes[static_cast<size_t>(c)]);
        REQUIRE(same_bits(q.values[static_cast<size_t>(r * cols + c)], full.values[static_cast<size_t>(c)]));
      }
    }
  }
}

SCENARIO("Random data: values lie on their block grid, codes and exponents obey the format", "[quant][block]") {
  const int rows = 4;
  const int cols = 83;  // a short last block for B = 16 and B = 32
  for (const uint64_t seed : {1u, 2u, 3u}) {
    const std::vector<float> x = random_matrix(rows, cols, seed);
    for (const BlockSpec& spec : all_specs()) {
      INFO(describe(spec) << ", seed " << seed);
      const auto q = fq::block_quantize(x, rows, cols, spec);
      REQUIRE(q.codes.size() == x.size());
      REQUIRE(q.values.size() == x.size());
      std::vector<double> absmax(q.exponents.size(), 0.0);
      for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
        for (size_t c = 0; c < static_cast<size_t>(cols); ++c) {
          const size_t i = r * static_cast<size_t>(cols) + c;
          const size_t b = block_index(q, spec, r, c);
          absmax[b] = std::max(absmax[b], std::fabs(static_cast<double>(x[i])));
          const int e = q.exponents[b];
          // On the grid: the value is exactly what its code means under its block's exponent.
          REQUIRE(same_bits(q.values[i], static_cast<float>(fq::block_dequantize(spec, q.codes[i], e))));
          const double err = std::fabs(static_cast<double>(x[i]) - static_cast<double>(q.values[i]));
          if (spec.kind == BlockKind::kBfp) {
            const int max_m = (1 << (spec.bits - 1)) - 1;
            const double step = std::ldexp(1.0, e - (spec.bits - 1));
            REQUIRE(std::abs(q.codes[i]) <= max_m);
            // Round to nearest; only a saturated magnitude may be off by up to one step.
            REQUIRE(err <= (std::abs(q.codes[i]) == max_m ? step : step / 2));
          } else if (spec.kind == BlockKind::kMxint8) {
            REQUIRE(q.codes[i] >= -127);
            REQUIRE(err <= (std::abs(q.codes[i]) == 127 ? std::ldexp(1.0, e - 6) : std::ldexp(1.0, e - 7)));
          } else {
            REQUIRE(q.codes[i] >= 0);
            REQUIRE(q.codes[i] <= 15);
          }
        }
      }
      for (size_t b = 0; b < absmax.size(); ++b) {
        const int e = q.exponents[b];
        if (absmax[b] == 0.0) {
          REQUIRE(e == fq::kZeroBlockExponent);
        } else if (spec.kind == BlockKind::kBfp) {
          REQUIRE(std::ldexp(1.0, e - 1) < absmax[b]);  // e = ceil(log2 max)
          REQUIRE(absmax[b] <= std::ldexp(1.0, e));
        } else {
          const int top = e + fq::mx_emax_elem(spec.kind);  // floor(log2 max)
          REQUIRE(std::ldexp(1.0, top) <= absmax[b]);
          REQUIRE(absmax[b] < std::ldexp(1.0, top + 1));
        }
      }
    }
  }
}

SCENARIO("Random data: the MXINT8 block max codes to a magnitude in [64, 127]", "[quant][block]") {
  const int rows = 4;
  const int cols = 96;
  const std::vector<float> x = random_matrix(rows, cols, 11);
  for (const Rounding r : {Rounding::kHalfEven, Rounding::kHalfAway}) {
    const auto q = fq::block_quantize(x, rows, cols, mxint8(r));
    for (size_t b = 0; b < q.exponents.size(); ++b) {
      size_t arg = b * 32;
      for (size_t i = b * 32; i < (b + 1) * 32; ++i) {
        if (std::fabs(x[i]) > std::fabs(x[arg])) arg = i;
      }
      if (x[arg] == 0.0f) continue;
      INFO("block " << b);
      REQUIRE(std::abs(q.codes[arg]) >= 64);
      REQUIRE(std::abs(q.codes[arg]) <= 127);
    }
  }
}

SCENARIO("Re-quantizing dequantised values", "[quant][block]") {
  const int rows = 4;
  const int cols = 83;
  const std::vector<float> x = random_matrix(rows, cols, 5);
  GIVEN("an MX format") {
    THEN("values, codes and exponents are reproduced exactly (idempotent)") {
      for (const BlockSpec& spec : all_specs()) {
        if (spec.kind == BlockKind::kBfp) continue;
        INFO(describe(spec));
        const auto q = fq::block_quantize(x, rows, cols, spec);
        const auto again = fq::block_quantize(q.values, rows, cols, spec);
        REQUIRE(again.exponents == q.exponents);
        REQUIRE(again.codes == q.codes);
        for (size_t i = 0; i < x.size(); ++i) REQUIRE(same_bits(again.values[i], q.values[i]));
      }
    }
  }
  GIVEN("BFP") {
    THEN("a block is reproduced unless its max dequantised to exactly 2^(e-1), where e drops by one") {
      for (const BlockSpec& spec : all_specs()) {
        if (spec.kind != BlockKind::kBfp) continue;
        INFO(describe(spec));
        const auto q = fq::block_quantize(x, rows, cols, spec);
        const auto again = fq::block_quantize(q.values, rows, cols, spec);
        std::vector<double> vmax(q.exponents.size(), 0.0);
        for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
          for (size_t c = 0; c < static_cast<size_t>(cols); ++c) {
            const size_t b = block_index(q, spec, r, c);
            vmax[b] = std::max(vmax[b], std::fabs(static_cast<double>(q.values[r * static_cast<size_t>(cols) + c])));
          }
        }
        for (size_t b = 0; b < q.exponents.size(); ++b) {
          const int e = q.exponents[b];
          if (vmax[b] == 0.0) {
            REQUIRE(again.exponents[b] == fq::kZeroBlockExponent);
          } else if (vmax[b] == std::ldexp(1.0, e - 1)) {
            REQUIRE(again.exponents[b] == e - 1);
          } else {
            REQUIRE(again.exponents[b] == e);
          }
        }
        for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
          for (size_t c = 0; c < static_cast<size_t>(cols); ++c) {
            const size_t b = block_index(q, spec, r, c);
            const size_t i = r * static_cast<size_t>(cols) + c;
            if (again.exponents[b] == q.exponents[b]) REQUIRE(same_bits(again.values[i], q.values[i]));
          }
        }
      }
    }
    THEN("BFP6: 0.51 -> 0.5 -> 0.484375 (the ceiling moves e from 0 to -1 and the max saturates)") {
      const auto q = quantize_row({0.51f}, bfp(6));
      REQUIRE(q.exponents == std::vector<int>{0});
      REQUIRE(q.values[0] == 0.5f);
      const auto again = quantize_row(q.values, bfp(6));
      REQUIRE(again.exponents == std::vector<int>{-1});
      REQUIRE(again.values[0] == 0.484375f);
    }
  }
}

SCENARIO("BFP rounding follows the spec's mode on exact ties", "[quant][block]") {
  // e = 0 for max 1.0, so m = x * 32: 0.015625 * 32 = 0.5 and 0.046875 * 32 = 1.5 are exact ties.
  const std::vector<float> x{1.0f, 0.015625f, -0.046875f};
  REQUIRE(quantize_row(x, bfp(6, Rounding::kHalfEven)).codes == std::vector<int8_t>{31, 0, -2});
  REQUIRE(quantize_row(x, bfp(6, Rounding::kHalfAway)).codes == std::vector<int8_t>{31, 1, -2});
}

SCENARIO("Block specs: names, defaults and validation", "[quant][block]") {
  THEN("kind names round-trip and a bad name names the option") {
    for (const BlockKind kind : {BlockKind::kBfp, BlockKind::kMxint8, BlockKind::kMxfp4}) {
      REQUIRE(fq::parse_block_kind(fq::block_kind_name(kind), "format") == kind);
    }
    require_error_mentions([] { fq::parse_block_kind("mxfp8", "weight_format"); }, {"weight_format", "mxfp8"});
  }
  THEN("defaults: BFP blocks of 16, MX blocks of 32") {
    REQUIRE(bfp(4).block == 16);
    REQUIRE(mxint8().block == 32);
    REQUIRE(mxfp4().block == 32);
    REQUIRE(fq::mx_emax_elem(BlockKind::kMxint8) == 0);
    REQUIRE(fq::mx_emax_elem(BlockKind::kMxfp4) == 2);
    REQUIRE_THROWS_AS(fq::mx_emax_elem(BlockKind::kBfp), fq::Error);
  }
  THEN("bad element widths and block sizes are rejected") {
    require_error_mentions([] { fq::make_block_spec(BlockKind::kBfp, 5, Rounding::kHalfEven); }, {"bfp", "5"});
    require_error_mentions([] { fq::make_block_spec(BlockKind::kBfp, 9, Rounding::kHalfEven); }, {"bfp", "9"});
    require_error_mentions([] { fq::make_block_spec(BlockKind::kMxint8, 4, Rounding::kHalfEven); }, {"mxint8", "4"});
    require_error_mentions([] { fq::make_block_spec(BlockKind::kMxfp4, 8, Rounding::kHalfEven); }, {"mxfp4", "8"});
    const std::vector<float> x(16, 1.0f);
    require_error_mentions(
        [&] {
          fq::block_quantize(x, 1, 16, BlockSpec{BlockKind::kBfp, 6, 0, Rounding::kHalfEven});
        },
        {"block size 0"});
    require_error_mentions(
        [&] {
          fq::block_quantize(x, 1, 16, BlockSpec{BlockKind::kMxfp4, 4, 16, Rounding::kHalfEven});
        },
        {"mxfp4", "16"});
  }
}

SCENARIO("block_quantize rejects NaN, Inf and a bad shape", "[quant][block]") {
  std::vector<float> x(2 * 5, 0.5f);
  GIVEN("a NaN at row 1, column 2") {
    x[7] = std::numeric_limits<float>::quiet_NaN();
    THEN("the error names its row and column") {
      for (const BlockSpec& spec : {bfp(6), mxint8(), mxfp4()}) {
        require_error_mentions([&] { fq::block_quantize(x, 2, 5, spec); }, {"row 1", "column 2", "nan"});
      }
    }
  }
  GIVEN("-Inf at row 0, column 4") {
    x[4] = -std::numeric_limits<float>::infinity();
    THEN("the error names its row and column") {
      require_error_mentions([&] { fq::block_quantize(x, 2, 5, mxfp4()); }, {"row 0", "column 4", "inf"});
    }
  }
  GIVEN("a size that does not match the shape") {
    THEN("the error gives both") {
      require_error_mentions([&] { fq::block_quantize(x, 3, 5, bfp(8)); }, {"10 values", "[3, 5]"});
      require_error_mentions([&] { fq::block_quantize(x, -2, -5, bfp(8)); }, {"negative"});
    }
  }
  GIVEN("an empty matrix") {
    THEN("the result is empty") {
      const auto q = fq::block_quantize({}, 0, 7, bfp(8));
      REQUIRE(q.codes.empty());
      REQUIRE(q.exponents.empty());
      REQUIRE(q.blocks_per_row == 1);
    }
  }
}

SCENARIO("block_dequantize rejects codes and exponents outside the format", "[quant][block]") {
  REQUIRE(fq::block_dequantize(bfp(6), 31, 0) == 0.96875);
  REQUIRE(fq::block_dequantize(bfp(6), -31, 128) == -std::ldexp(31.0, 123));
  require_error_mentions([] { fq::block_dequantize(bfp(6), 32, 0); }, {"code 32"});
  require_error_mentions([] { fq::block_dequantize(mxint8(), -128, 0); }, {"code -128"});
  require_error_mentions([] { fq::block_dequantize(mxfp4(), 16, 0); }, {"code 16"});
  require_error_mentions([] { fq::block_dequantize(mxint8(), 1, 128); }, {"exponent 128"});
  require_error_mentions([] { fq::block_dequantize(bfp(8), 1, -128); }, {"exponent -128"});
}
