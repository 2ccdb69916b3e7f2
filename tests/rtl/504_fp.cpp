// The epilogue's floating-point units against C++ (IEEE binary32, round to nearest even):
// int32 -> float on every power-of-two boundary and random values, every FP16 bit pattern to
// float, and float multiplies on random normal operands whose products stay normal.
#include "Vfq_fp16_to_fp32.h"
#include "Vfq_fp32_mul.h"
#include "Vfq_int_to_fp32.h"
#include "model/core/fp16.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <random>

TEST_CASE("RTL int32 -> float equals (float) on boundaries and random values", "[rtl]") {
  Vfq_int_to_fp32 conv;
  auto check = [&](int32_t v) {
    conv.a = static_cast<uint32_t>(v);
    conv.eval();
    INFO("int " << v);
    REQUIRE(conv.f == std::bit_cast<uint32_t>(static_cast<float>(v)));
  };
  check(0);
  check(INT32_MIN);
  check(INT32_MAX);
  for (int b = 0; b < 31; ++b) {
    for (int64_t d = -3; d <= 3; ++d) {
      const int64_t v = (int64_t{1} << b) + d;
      if (v >= INT32_MIN && v <= INT32_MAX) {
        check(static_cast<int32_t>(v));
        check(static_cast<int32_t>(-v));
      }
    }
  }
  std::mt19937 rng(21);
  std::uniform_int_distribution<int32_t> any(INT32_MIN, INT32_MAX);
  for (int i = 0; i < 200000; ++i) check(any(rng));
}

TEST_CASE("RTL FP16 -> float on all 65536 bit patterns", "[rtl]") {
  Vfq_fp16_to_fp32 conv;
  for (uint32_t h = 0; h < 65536; ++h) {
    conv.h = static_cast<uint16_t>(h);
    conv.eval();
    const float want = fq::fp16_to_float(static_cast<uint16_t>(h));
    INFO("half bits " << h);
    if (std::isnan(want)) {
      REQUIRE(std::isnan(std::bit_cast<float>(conv.f)));
    } else {
      REQUIRE(conv.f == std::bit_cast<uint32_t>(want));
    }
  }
}

TEST_CASE("RTL float multiply equals C++ on normal operands and results", "[rtl]") {
  Vfq_fp32_mul mul;
  std::mt19937 rng(22);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> ex(-60, 60);
  std::uniform_int_distribution<int> sign(0, 1);
  for (int i = 0; i < 300000; ++i) {
    const float a = std::ldexp(mant(rng), ex(rng)) * (sign(rng) ? -1.0f : 1.0f);
    const float b = std::ldexp(mant(rng), ex(rng)) * (sign(rng) ? -1.0f : 1.0f);
    mul.a = std::bit_cast<uint32_t>(a);
    mul.b = std::bit_cast<uint32_t>(b);
    mul.eval();
    INFO(a << " * " << b);
    REQUIRE(mul.p == std::bit_cast<uint32_t>(a * b));
  }
  // Zero operands give a signed zero.
  mul.a = std::bit_cast<uint32_t>(-3.5f);
  mul.b = 0;
  mul.eval();
  CHECK(mul.p == std::bit_cast<uint32_t>(-0.0f));
}
