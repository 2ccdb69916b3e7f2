#include "model/core/fp16.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

SCENARIO("FP16 conversion is exact and rounds to nearest even", "[core][fp16]") {
  GIVEN("every finite half value") {
    THEN("half -> float -> half returns the same bits") {
      for (uint32_t bits = 0; bits < 0x10000u; ++bits) {
        const auto h = static_cast<uint16_t>(bits);
        if (!fq::fp16_is_finite(h)) continue;
        REQUIRE(fq::fp16_from_float(fq::fp16_to_float(h)) == h);
      }
    }
  }
  GIVEN("known values") {
    CHECK(fq::fp16_from_float(1.0f) == 0x3c00);
    CHECK(fq::fp16_from_float(-2.0f) == 0xc000);
    CHECK(fq::fp16_from_float(0.01f) == 0x211f);
    CHECK(fq::fp16_to_float(0x211f) == Approx(0.01f).epsilon(1e-3));
    CHECK(fq::fp16_from_float(65504.0f) == 0x7bff);
    CHECK(fq::fp16_from_float(65520.0f) == 0x7c00);          // rounds up to infinity
    CHECK(fq::fp16_from_float(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
    CHECK(fq::fp16_from_float(std::ldexp(1.0f, -25)) == 0x0000);  // tie to even: zero
    CHECK(fq::fp16_from_float(std::ldexp(3.0f, -26)) == 0x0001);  // above the tie
    CHECK(fq::fp16_from_float(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie to even
    CHECK(fq::fp16_from_float(1.0f + std::ldexp(3.0f, -11)) == 0x3c02);  // tie to even, up
    CHECK(std::isnan(fq::fp16_to_float(fq::fp16_from_float(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(fq::bf16_to_float(0x3f80) == 1.0f);
  }
}
