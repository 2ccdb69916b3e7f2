// Block formats stored in EncodedMatrix and .q files (quantizers "bfp", "mxint8", "mxfp4").
#include "compiler/compiler.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/qfile/qfile.h"
#include "model/quant/block_formats.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/metrics.h"
#include "support/paths.h"
#include "support/quant.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

namespace {

using fq::test::quantizer;

// Heavy-tailed test weights with exact zeros, ties and a row of zeros.
std::vector<float> weights(int rows, int cols, uint64_t seed) {
  auto w = fq::synthetic_activations(rows, cols, seed);
  for (size_t i = 0; i < w.size(); i += 7) w[i] = 0.0f;
  for (int k = 0; k < cols; ++k) w[static_cast<size_t>(cols + k)] = 0.0f;
  w[3] = 0.75f;
  return w;
}

}  // namespace

TEST_CASE("block quantizers store exactly what block_quantize computes", "[quant][block]") {
  struct Case {
    std::string method;
    std::map<std::string, std::string> options;
    fq::BlockSpec spec;
    fq::HwFormat format;
    double bits;  // per weight at K = 96
  };
  const std::vector<Case> cases = {
      {"bfp", {{"bits", "8"}}, fq::make_block_spec(fq::BlockKind::kBfp, 8, fq::Rounding::kHalfEven), fq::HwFormat::kBfp8, 8.5},
      {"bfp", {}, fq::make_block_spec(fq::BlockKind::kBfp, 6, fq::Rounding::kHalfEven), fq::HwFormat::kBfp6, 6.5},
      {"bfp", {{"bits", "4"}, {"rounding", "half_away"}}, fq::make_block_spec(fq::BlockKind::kBfp, 4, fq::Rounding::kHalfAway),
       fq::HwFormat::kBfp4, 4.5},
      {"mxint8", {}, fq::make_block_spec(fq::BlockKind::kMxint8, 8, fq::Rounding::kHalfAway), fq::HwFormat::kMxint8, 8.25},
      {"mxfp4", {{"rounding", "rne"}}, fq::make_block_spec(fq::BlockKind::kMxfp4, 4, fq::Rounding::kHalfEven),
       fq::HwFormat::kMxfp4, 4.25},
  };
  const int rows = 5, cols = 96;
  const auto w = weights(rows, cols, 3);
  const auto dir = fq::test::temp_dir("block_storage");
  std::vector<fq::QTensor> tensors;
  for (const auto& c : cases) {
    INFO(c.method << " " << fq::format_name(c.format));
    const auto q = quantizer(c.method, c.options);
    const auto m = q->encode(w, rows, cols);
    CHECK(m.format == c.format);
    CHECK(m.group_size == c.spec.block);
    CHECK(fq::bits_per_weight(m) == c.bits);
    const auto expected = fq::block_quantize(w, rows, cols, c.spec);
    const auto got = fq::dequantize(m);
    REQUIRE(got.size() == expected.values.size());
    CHECK(got == expected.values);  // value equality: MXFP4's -0 code decodes to +0 (integer q = 0)
    tensors.push_back({fmt::format("t{}", tensors.size()), q->name(), q->describe(), m});
  }
  fq::write_qfile(dir / "blocks.q", tensors);
  const auto back = fq::read_qfile(dir / "blocks.q");
  REQUIRE(back.size() == tensors.size());
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].matrix.format == tensors[i].matrix.format);
    CHECK(back[i].matrix.codes == tensors[i].matrix.codes);
    CHECK(back[i].matrix.scales == tensors[i].matrix.scales);
    CHECK(back[i].params == tensors[i].params);
  }
}

TEST_CASE("block format storage: T8 and T10 bytes, decode and validation", "[quant][block]") {
  // T8 first block, BFP6: e = 0 (stored 127), m = [29, 10, -2, 24] as sign-magnitude 6-bit fields.
  const std::vector<float> t8 = {0.9f, 0.3f, -0.05f, 0.75f};
  const auto bfp6 = quantizer("bfp", {{"bits", "6"}})->encode(t8, 1, 4);
  CHECK(bfp6.scales == std::vector<uint16_t>{127});
  CHECK(fq::decode_all(bfp6) == std::vector<int8_t>{29, 10, -2, 24});
  // 29 | 10 << 6 | (32 | 2) << 12 | 24 << 18, little-endian.
  const uint32_t packed = 29u | 10u << 6 | 34u << 12 | 24u << 18;
  CHECK(bfp6.codes == std::vector<uint8_t>{static_cast<uint8_t>(packed), static_cast<uint8_t>(packed >> 8),
                                           static_cast<uint8_t>(packed >> 16)});
  CHECK(fq::dequantize(bfp6) == std::vector<float>{0.90625f, 0.3125f, -0.0625f, 0.75f});
  // T10 under rne: [6, 2, -0, 4, 6]; decode_row gives twice the E2M1 value.
  const std::vector<float> t10 = {6, 2.5f, -0.25f, 5, 7};
  const auto mx = quantizer("mxfp4", {{"rounding", "rne"}})->encode(t10, 1, 5);
  CHECK(mx.scales == std::vector<uint16_t>{127});
  CHECK(fq::decode_all(mx) == std::vector<int8_t>{12, 4, 0, 8, 12});
  const auto v = fq::dequantize(mx);
  CHECK(v == std::vector<float>{6, 2, 0, 4, 6});
  CHECK((mx.codes[1] & 0x0f) == 8);  // the stored code keeps the sign of -0.25; its value is 0

  auto bad = mx;
  bad.scales[0] = 255;  // E8M0 NaN
  CHECK_THROWS_WITH(fq::validate(bad, "t"), Catch::Contains("above 254"));
  bad = mx;
  bad.group_size = 16;
  CHECK_THROWS_WITH(fq::validate(bad, "t"), Catch::Contains("block size"));
  CHECK_THROWS_WITH(quantizer("bfp", {{"bits", "5"}}), Catch::Contains("'bits' must be 8, 6 or 4"));
  CHECK_THROWS_WITH(quantizer("mxint8", {{"bits", "8"}}), Catch::Contains("bits"));
}

TEST_CASE("no accelerator preset accepts block-format weights", "[quant][block]") {
  for (const char* preset : {"fineq.yaml", "int8.yaml", "int4.yaml"}) {
    const auto arch = fq::load_arch((fq::test::source_dir() / "configs" / preset).string());
    for (const auto format : {fq::HwFormat::kBfp6, fq::HwFormat::kMxint8, fq::HwFormat::kMxfp4}) {
      CHECK_THROWS_WITH(fq::compiler::plan_gemm(arch, "layers.0.wq", 16, 64, 48, format),
                        Catch::Contains(fq::format_name(format)));
    }
  }
}
