#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/quant/impl/factories.h"
#include "model/quant/rtn.h"

#include "support/errors.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

std::vector<int8_t> codes_of(const std::vector<float>& x, double scale, int bits, fq::Rounding r) {
  std::vector<int8_t> q(x.size());
  fq::rtn_codes(x, scale, bits, r, q);
  return q;
}

std::unique_ptr<fq::IQuantizer> make_rtn(const std::map<std::string, std::string>& options) {
  fq::Params params("rtn test");
  for (const auto& [k, v] : options) params.set(k, v);
  auto quantizer = fq::impl::make_rtn(params);
  params.check_all_used();  // what make_quantizer() does after the factory
  return quantizer;
}

// Random weights with a few large values, in (-range, range).
std::vector<float> random_weights(int rows, int cols, uint64_t seed, float range) {
  uint64_t state = seed;
  std::vector<float> w(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  for (auto& v : w) {
    const double u = static_cast<double>(fq::splitmix64_next(state) >> 11) * 0x1.0p-53;  // [0, 1)
    v = static_cast<float>((2.0 * u - 1.0) * range);
    if (fq::splitmix64_next(state) % 29 == 0) v *= 6.0f;
  }
  return w;
}

std::vector<int8_t> unpack_row(const fq::EncodedMatrix& m, int row) {
  std::vector<int8_t> q(static_cast<size_t>(m.cols));
  const auto stride = static_cast<size_t>(m.row_bytes());
  fq::unpack_int_row(std::span<const uint8_t>(m.codes).subspan(static_cast<size_t>(row) * stride, stride),
                     fq::format_int_bits(m.format), q);
  return q;
}

using fq::test::require_error_mentions;

}  // namespace

SCENARIO("T1: symmetric INT4 RTN of x = [0.5, -2.5, 3.5, 7.0] under rne", "[quant][rtn]") {
  const std::vector<float> x{0.5f, -2.5f, 3.5f, 7.0f};
  GIVEN("clip ratio 1.0") {
    const double scale = fq::rtn_scale(fq::abs_max(x), 4, 1.0);
    THEN("scale is 1 and ties go to even") {
      REQUIRE(scale == 1.0);
      REQUIRE(codes_of(x, scale, 4, fq::Rounding::kHalfEven) == std::vector<int8_t>{0, -2, 4, 7});
    }
    THEN("half_away rounds the same ties away from zero") {
      REQUIRE(codes_of(x, scale, 4, fq::Rounding::kHalfAway) == std::vector<int8_t>{1, -3, 4, 7});
    }
  }
  GIVEN("clip ratio 0.9") {
    const double scale = fq::rtn_scale(fq::abs_max(x), 4, 0.9);
    THEN("scale 0.9, 8 clamps to 7, and x̂ = [0.9, -2.7, 3.6, 6.3]") {
      REQUIRE(scale == Approx(0.9).epsilon(1e-15));
      const auto q = codes_of(x, scale, 4, fq::Rounding::kHalfEven);
      REQUIRE(q == std::vector<int8_t>{1, -3, 4, 7});
      const std::vector<double> expected{0.9, -2.7, 3.6, 6.3};
      for (size_t i = 0; i < q.size(); ++i) CHECK(scale * q[i] == Approx(expected[i]).epsilon(1e-15));
    }
  }
  GIVEN("-7.0 appended, clip ratio 0.9") {
    const std::vector<float> x5{0.5f, -2.5f, 3.5f, 7.0f, -7.0f};
    const double scale = fq::rtn_scale(fq::abs_max(x5), 4, 0.9);
    const auto q = codes_of(x5, scale, 4, fq::Rounding::kHalfEven);
    THEN("-7.78 reaches -8 (asymmetric saturation), x̂ = -7.2") {
      REQUIRE(q == std::vector<int8_t>{1, -3, 4, 7, -8});
      REQUIRE(scale * q[4] == Approx(-7.2).epsilon(1e-15));
    }
    THEN("rtn_quantize gives the same scale and codes in one call") {
      std::vector<int8_t> q1(x5.size());
      REQUIRE(fq::rtn_quantize(x5, 4, 0.9, fq::Rounding::kHalfEven, fq::ScalePrecision::kDouble, q1) == scale);
      REQUIRE(q1 == q);
    }
    THEN("with the scale stored in FP16 the codes use fp16(0.9)") {
      std::vector<int8_t> q16(x5.size());
      const double s16 = fq::rtn_quantize(x5, 4, 0.9, fq::Rounding::kHalfEven, fq::ScalePrecision::kFp16, q16);
      REQUIRE(s16 == static_cast<double>(fq::fp16_to_float(fq::fp16_from_float(0.9f))));
      REQUIRE(s16 != scale);
      REQUIRE(q16 == q);
    }
  }
  GIVEN("an all-zero slice") {
    THEN("absmax is clamped to 1e-5, so the scale stays positive and the codes are 0") {
      const std::vector<float> z(5, 0.0f);
      REQUIRE(fq::rtn_scale(fq::abs_max(z), 4, 1.0) == 1e-5 / 7.0);
      REQUIRE(codes_of(z, fq::rtn_scale(0.0, 4, 1.0), 4, fq::Rounding::kHalfAway) == std::vector<int8_t>(5, 0));
    }
  }
  GIVEN("the code ranges") {
    CHECK(fq::int_max_code(8) == 127);
    CHECK(fq::int_min_code(8) == -128);
    CHECK(fq::int_max_code(3) == 3);
    CHECK(fq::int_min_code(2) == -2);
  }
}

SCENARIO("T3: MSE clip search over p = 1 - i/100", "[quant][rtn]") {
  GIVEN("(a) w = [7, -7, 3, 0]") {
    const std::vector<float> w{7.0f, -7.0f, 3.0f, 0.0f};
    for (const double norm : {2.4, 2.0}) {
      std::vector<int8_t> q(w.size());
      const auto c = fq::mse_clip_search(w, 4, norm, fq::Rounding::kHalfEven, fq::ScalePrecision::kDouble, q);
      THEN("p = 1 has error 0 and is kept (norm " << norm << ")") {
        REQUIRE(c.index == 0);
        REQUIRE(c.ratio == 1.0);
        REQUIRE(c.scale == 1.0);
        REQUIRE(c.error == 0.0);
        REQUIRE(q == std::vector<int8_t>{7, -7, 3, 0});
      }
    }
  }
  GIVEN("(b) w = [0.5, -1.0, 0.25, -0.75, 4.0, 0.0, 1.5, -0.5]") {
    const std::vector<float> w{0.5f, -1.0f, 0.25f, -0.75f, 4.0f, 0.0f, 1.5f, -0.5f};
    const std::vector<int8_t> codes{1, -2, 0, -1, 7, 0, 3, -1};
    std::vector<int8_t> q(w.size());
    WHEN("norm 2.4") {
      const auto c = fq::mse_clip_search(w, 4, 2.4, fq::Rounding::kHalfEven, fq::ScalePrecision::kDouble, q);
      THEN("p = 0.97, scale 0.554286, error 0.081532") {
        REQUIRE(c.index == 3);
        REQUIRE(c.ratio == 0.97);
        REQUIRE(c.scale == Approx(0.554286).margin(1e-6));
        REQUIRE(c.error == Approx(0.081532).margin(1e-6));
        REQUIRE(q == codes);
      }
    }
    WHEN("norm 2.0") {
      const auto c = fq::mse_clip_search(w, 4, 2.0, fq::Rounding::kHalfEven, fq::ScalePrecision::kDouble, q);
      THEN("p = 0.98, scale 0.56, error 0.159000") {
        REQUIRE(c.index == 2);
        REQUIRE(c.ratio == 0.98);
        REQUIRE(c.scale == Approx(0.56).margin(1e-12));
        REQUIRE(c.error == Approx(0.159).margin(1e-6));
        REQUIRE(q == codes);
      }
    }
    WHEN("the FP16 search is used") {
      const auto c = fq::mse_clip_search(w, 4, 2.4, fq::Rounding::kHalfEven, fq::ScalePrecision::kFp16, q);
      THEN("its scale is an FP16 value and the error is measured with it") {
        REQUIRE(static_cast<double>(fq::fp16_to_float(fq::fp16_from_float(static_cast<float>(c.scale)))) == c.scale);
        REQUIRE(c.error == fq::rtn_error(w, q, c.scale, 2.4));
        std::vector<int8_t> again(w.size());
        fq::rtn_codes(w, c.scale, 4, fq::Rounding::kHalfEven, again);
        REQUIRE(again == q);
      }
    }
  }
  GIVEN("an all-zero slice, where all 80 candidates tie at error 0") {
    const std::vector<float> z(6, 0.0f);
    std::vector<int8_t> q(z.size(), 9);
    for (const auto precision : {fq::ScalePrecision::kDouble, fq::ScalePrecision::kFp16}) {
      const auto c = fq::mse_clip_search(z, 4, 2.4, fq::Rounding::kHalfAway, precision, q);
      THEN("the first candidate, p = 1, wins the tie") {
        REQUIRE(c.index == 0);
        REQUIRE(c.ratio == 1.0);
        REQUIRE(c.error == 0.0);
        REQUIRE(q == std::vector<int8_t>(6, 0));
      }
    }
  }
  GIVEN("a bad norm") {
    std::vector<int8_t> q(2);
    const std::vector<float> w{1.0f, 2.0f};
    REQUIRE_THROWS_AS(fq::mse_clip_search(w, 4, 0.0, fq::Rounding::kHalfAway, fq::ScalePrecision::kDouble, q),
                      fq::Error);
  }
}

SCENARIO("FP16 scale storage never yields 0", "[quant][rtn]") {
  CHECK(fq::fp16_scale(1.0).bits == 0x3c00);
  CHECK(fq::fp16_scale(1.0).value == 1.0);
  CHECK(fq::fp16_scale(1e-9).bits == 0x0001);  // underflow raised to the smallest subnormal
  CHECK(fq::fp16_scale(1e-9).value == std::ldexp(1.0, -24));
  CHECK_FALSE(fq::fp16_is_finite(fq::fp16_scale(1e6).bits));
}

SCENARIO("INTb rows pack and unpack losslessly", "[quant][rtn]") {
  for (const int bits : {2, 3, 4, 8}) {
    for (const int k : {1, 2, 3, 5, 7, 11, 17, 64, 67}) {
      std::vector<int8_t> q(static_cast<size_t>(k));
      const int lo = fq::int_min_code(bits);
      const int span = fq::int_max_code(bits) - lo + 1;
      for (int i = 0; i < k; ++i) q[static_cast<size_t>(i)] = static_cast<int8_t>(lo + (i * 7 + bits) % span);
      q[0] = static_cast<int8_t>(lo);  // the most negative code survives
      std::vector<uint8_t> row(static_cast<size_t>((k * bits + 7) / 8), 0xAA);
      fq::pack_int_row(q, bits, row);
      std::vector<int8_t> back(static_cast<size_t>(k));
      fq::unpack_int_row(row, bits, back);
      INFO("bits " << bits << ", K " << k);
      REQUIRE(back == q);
      if ((k * bits) % 8 != 0) {  // padding bits of the last byte are zero
        REQUIRE((row.back() >> ((k * bits) % 8)) == 0);
      }
    }
  }
}

SCENARIO("Quantizer \"rtn\" encodes with the stored FP16 scale", "[quant][rtn]") {
  const int rows = 7;
  const int cols = 37;
  const auto w = random_weights(rows, cols, 42, 0.05f);
  for (const std::string bits : {"2", "3", "4", "8"}) {
    for (const std::string group : {"0", "12"}) {
      for (const std::string clip : {"none", "mse"}) {
        for (const std::string rounding : {"half_away", "rne"}) {
          const auto quantizer = make_rtn({{"bits", bits}, {"group", group}, {"clip", clip}, {"rounding", rounding}});
          const auto m = quantizer->encode(w, rows, cols);
          const int b = std::stoi(bits);
          const int g = std::stoi(group);
          const auto r = fq::parse_rounding(rounding, "rounding");
          INFO("bits " << bits << " group " << group << " clip " << clip << " rounding " << rounding);
          REQUIRE(m.format == fq::int_format(b));
          REQUIRE(m.rows == rows);
          REQUIRE(m.cols == cols);
          REQUIRE(m.cols_padded == cols);
          REQUIRE(m.group_size == g);
          REQUIRE(m.scale_groups() == (g == 0 ? 1 : 4));
          REQUIRE(m.codes.size() == static_cast<size_t>(rows * ((cols * b + 7) / 8)));
          for (int n = 0; n < rows; ++n) {
            const auto q = unpack_row(m, n);
            const int len = g == 0 ? cols : g;
            for (int k0 = 0; k0 < cols; k0 += len) {
              const int n_k = std::min(len, cols - k0);
              const std::span<const float> slice(w.data() + n * cols + k0, static_cast<size_t>(n_k));
              const uint16_t sbits = m.scales[static_cast<size_t>(m.scale_index(n, k0))];
              const double s = fq::fp16_to_float(sbits);
              // The codes are the rule applied with the stored scale.
              std::vector<int8_t> expect(static_cast<size_t>(n_k));
              fq::rtn_codes(slice, s, b, r, expect);
              REQUIRE(std::vector<int8_t>(q.begin() + k0, q.begin() + k0 + n_k) == expect);
              const double full = fq::rtn_scale(fq::abs_max(slice), b, 1.0);
              if (clip == "none") {
                REQUIRE(sbits == fq::fp16_scale(full).bits);
              } else {
                std::vector<int8_t> q_search(static_cast<size_t>(n_k));
                const auto c = fq::mse_clip_search(slice, b, 2.4, r, fq::ScalePrecision::kFp16, q_search);
                REQUIRE(c.scale == s);
                REQUIRE(q_search == expect);
                REQUIRE(s <= fq::fp16_scale(full).value);
              }
            }
          }
        }
      }
    }
  }
}

SCENARIO("Quantizer \"rtn\" clip search lowers the error and rounding changes ties", "[quant][rtn]") {
  // Equal to T1 x with c = 1: half_away vs rne differ on the 0.5 and -2.5 ties.
  const std::vector<float> w{0.5f, -2.5f, 3.5f, 7.0f};
  const auto away = make_rtn({{"bits", "4"}})->encode(w, 1, 4);
  const auto even = make_rtn({{"bits", "4"}, {"rounding", "rne"}})->encode(w, 1, 4);
  REQUIRE(away.scales[0] == 0x3c00);
  REQUIRE(unpack_row(away, 0) == std::vector<int8_t>{1, -3, 4, 7});
  REQUIRE(unpack_row(even, 0) == std::vector<int8_t>{0, -2, 4, 7});

  const auto wr = random_weights(16, 96, 7, 1.0f);
  const auto none = make_rtn({{"bits", "3"}})->encode(wr, 16, 96);
  const auto mse = make_rtn({{"bits", "3"}, {"clip", "mse"}, {"norm", "2"}})->encode(wr, 16, 96);
  const auto dn = fq::dequantize(none);
  const auto dm = fq::dequantize(mse);
  for (int n = 0; n < 16; ++n) {
    double e_none = 0.0;
    double e_mse = 0.0;
    for (int k = 0; k < 96; ++k) {
      const size_t i = static_cast<size_t>(n * 96 + k);
      e_none += std::pow(static_cast<double>(dn[i]) - wr[i], 2.0);
      e_mse += std::pow(static_cast<double>(dm[i]) - wr[i], 2.0);
    }
    REQUIRE(e_mse <= e_none);  // p = 1 is a candidate and only strict improvements replace it
  }
}

SCENARIO("Quantizer \"rtn\" output does not depend on the thread count", "[quant][rtn]") {
  const auto w = random_weights(33, 50, 3, 0.2f);
  const auto quantizer = make_rtn({{"bits", "4"}, {"clip", "mse"}, {"group", "16"}});
  const char* saved = std::getenv("FQ_THREADS");
  const std::string saved_value = saved ? saved : "";
  setenv("FQ_THREADS", "1", 1);
  const auto one = quantizer->encode(w, 33, 50);
  setenv("FQ_THREADS", "5", 1);
  const auto five = quantizer->encode(w, 33, 50);
  if (saved) {
    setenv("FQ_THREADS", saved_value.c_str(), 1);
  } else {
    unsetenv("FQ_THREADS");
  }
  REQUIRE(one.codes == five.codes);
  REQUIRE(one.scales == five.scales);
}

SCENARIO("Quantizer \"rtn\" rejects bad input and options", "[quant][rtn]") {
  const auto quantizer = make_rtn({});
  GIVEN("a NaN or Inf weight") {
    std::vector<float> w(12, 0.5f);
    w[7] = std::numeric_limits<float>::quiet_NaN();
    require_error_mentions([&] { quantizer->encode(w, 3, 4); }, "row 1, column 3");
    w[7] = 0.5f;
    w[10] = -std::numeric_limits<float>::infinity();
    require_error_mentions([&] { quantizer->encode(w, 3, 4); }, "row 2, column 2");
  }
  GIVEN("a wrong shape") {
    const std::vector<float> w(12, 0.5f);
    REQUIRE_THROWS_AS(quantizer->encode(w, 5, 4), fq::Error);
    REQUIRE_THROWS_AS(quantizer->encode(w, 0, 4), fq::Error);
  }
  GIVEN("weights whose scale exceeds FP16") {
    const std::vector<float> w{1e6f, 1.0f};
    require_error_mentions([&] { make_rtn({{"bits", "2"}})->encode(w, 1, 2); }, "FP16");
  }
  GIVEN("bad options") {
    require_error_mentions([] { make_rtn({{"bits", "5"}}); }, "'bits'");
    require_error_mentions([] { make_rtn({{"bits", "four"}}); }, "'bits'");
    require_error_mentions([] { make_rtn({{"group", "-3"}}); }, "'group'");
    require_error_mentions([] { make_rtn({{"clip", "max"}}); }, "'clip'");
    require_error_mentions([] { make_rtn({{"norm", "0"}}); }, "'norm'");
    require_error_mentions([] { make_rtn({{"norm", "nan"}}); }, "'norm'");
    require_error_mentions([] { make_rtn({{"rounding", "floor"}}); }, "'rounding'");
    require_error_mentions([] { make_rtn({{"bitz", "4"}}); }, "'bitz'");
  }
}

SCENARIO("Quantizer \"rtn\" describes every option and rebuilds from it", "[quant][rtn]") {
  GIVEN("defaults") {
    const auto q = make_rtn({});
    REQUIRE(q->name() == "rtn");
    const std::map<std::string, std::string> expected{
        {"bits", "4"}, {"group", "0"}, {"clip", "none"}, {"norm", "2.4"}, {"rounding", "half_away"}};
    REQUIRE(q->describe() == expected);
  }
  GIVEN("explicit options") {
    const std::map<std::string, std::string> options{
        {"bits", "3"}, {"group", "24"}, {"clip", "mse"}, {"norm", "2.25"}, {"rounding", "rne"}};
    const auto q = make_rtn(options);
    REQUIRE(q->describe() == options);
    const auto again = make_rtn(q->describe());
    REQUIRE(again->describe() == options);
    const auto w = random_weights(5, 30, 9, 1.0f);
    const auto a = q->encode(w, 5, 30);
    const auto b = again->encode(w, 5, 30);
    REQUIRE(a.codes == b.codes);
    REQUIRE(a.scales == b.scales);
  }
}
