// Quantizers "gptq" and "quantease" of the registry: INTb .q storage of the calibrated algorithms.
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/quant/gptq.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/quantease.h"
#include "model/quant/row_grid.h"
#include "support/quant.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

namespace {

using fq::test::correlated;
using fq::test::quantizer;

// Σ_rows (w - ŵ)ᵀ XᵀX (w - ŵ): the output error the calibrated methods minimise.
double output_error(const std::vector<float>& w, const std::vector<float>& w_hat, int rows, int cols,
                    const std::vector<float>& x, int tokens) {
  double e = 0;
  for (int t = 0; t < tokens; ++t) {
    for (int r = 0; r < rows; ++r) {
      double d = 0;
      for (int k = 0; k < cols; ++k) {
        const size_t wi = static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(k);
        d += (static_cast<double>(w[wi]) - w_hat[wi]) * x[static_cast<size_t>(t) * static_cast<size_t>(cols) + static_cast<size_t>(k)];
      }
      e += d * d;
    }
  }
  return e;
}

}  // namespace

TEST_CASE("gptq and quantease store FP16-scaled INTb codes that beat RTN on the output error", "[quant][gptq][quantease]") {
  const int rows = 24, cols = 48, tokens = 256;
  const auto w = fq::synthetic_activations(rows, cols, 7);
  const auto x = correlated(tokens, cols, 8);
  const fq::CalibrationData calib{x, tokens};
  for (const int bits : {3, 4}) {
    INFO("bits " << bits);
    const auto rtn = fq::dequantize(quantizer("rtn", {{"bits", std::to_string(bits)}, {"clip", "mse"}, {"rounding", "rne"}})
                                        ->encode(w, rows, cols));
    const double rtn_error = output_error(w, rtn, rows, cols, x, tokens);
    for (const char* method : {"gptq", "quantease"}) {
      INFO(method);
      const auto q = quantizer(method, {{"bits", std::to_string(bits)}});
      REQUIRE(q->needs_calibration());
      const auto m = q->encode_calibrated(w, rows, cols, calib);
      CHECK(m.format == fq::int_format(bits));
      CHECK(m.scales.size() == static_cast<size_t>(rows));
      const double error = output_error(w, fq::dequantize(m), rows, cols, x, tokens);
      INFO("rtn " << rtn_error << " vs " << error);
      CHECK(error < 0.8 * rtn_error);
    }
  }
}

TEST_CASE("the stored gptq matrix is exactly GPTQ's result on the FP16 grids", "[quant][gptq]") {
  const int rows = 16, cols = 36, tokens = 128;
  const auto w = fq::synthetic_activations(rows, cols, 11);
  const auto x = correlated(tokens, cols, 12);
  for (const int group : {0, 12}) {
    INFO("group " << group);
    const auto m = quantizer("gptq", {{"bits", "4"}, {"group", std::to_string(group)}, {"act_order", "1"}})
                       ->encode_calibrated(w, rows, cols, {x, tokens});
    std::vector<fq::RowGrid> grids;
    for (const uint16_t s : m.scales) grids.push_back(fq::make_grid(fq::fp16_to_float(s), 0.0, 4, true));
    fq::GptqOptions opt;
    opt.bits = 4;
    opt.group_size = group;
    opt.static_groups = group > 0;
    opt.act_order = true;
    opt.fixed_grids = grids;
    const auto r = fq::gptq_quantize(w, rows, cols, fq::hessian_from_activations(x, tokens, cols), opt);
    const auto stored = fq::dequantize(m);
    for (size_t i = 0; i < stored.size(); ++i) REQUIRE(stored[i] == static_cast<float>(r.w_hat[i]));
  }
}

TEST_CASE("calibrated quantizers refuse to run without calibration and check its shape", "[quant][gptq]") {
  const std::vector<float> w(4 * 6, 0.25f), x(10 * 5, 1.0f);
  for (const char* method : {"gptq", "quantease"}) {
    const auto q = quantizer(method, {});
    CHECK_THROWS_WITH(q->encode(w, 4, 6), Catch::Contains("needs calibration activations"));
    CHECK_THROWS_WITH(q->encode_calibrated(w, 4, 6, {x, 10}), Catch::Contains("calibration holds 50 values"));
  }
  CHECK_THROWS_WITH(quantizer("gptq", {{"bits", "5"}}), Catch::Contains("'bits' must be 2, 3, 4 or 8"));
  CHECK_THROWS_WITH(quantizer("quantease", {{"sym", "0"}}), Catch::Contains("sym"));
}
