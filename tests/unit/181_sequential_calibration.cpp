// quantize_model: the calibrated FineQ-R methods and sequential calibration (calibration
// sequential|fp32) on the official stories260K with real calibration text.
#include "model/ckpt/checkpoint.h"
#include "model/core/params.h"
#include "model/llm/quant_model.h"
#include "model/llm/text_corpus.h"
#include "model/llm/tokenizer.h"
#include "model/quant/gptq.h"
#include "support/paths.h"
#include "support/quant.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <string>

namespace {

using fq::llm::Linear;
using fq::test::quantize;

struct Fixture {
  fq::llm::LlamaWeights w;
  std::vector<std::vector<int>> calib;
};

// The model and the last 4 chunks of the TinyStories excerpt.
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.w = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
    const auto tok = fq::llm::Tokenizer::load(fq::test::tok512());
    const auto corpus = fq::llm::TextCorpus::load(fq::test::tinystories_text());
    x.calib = fq::llm::encode_chunks(tok, corpus, fq::llm::calibration_range(corpus, 0, 4), x.w.config.seq_len);
    return x;
  }();
  return f;
}

}  // namespace

TEST_CASE("sequential calibration: layer l is calibrated on the inputs of the model with layers < l quantized",
          "[llm][quant][calibration]") {
  const auto& [w, calib] = fixture();
  const auto seq = quantize(w, "gptq", {{"bits", "3"}}, calib);
  const auto fp32 = quantize(w, "gptq", {{"bits", "3"}, {"calib", "fp32"}}, calib);
  CHECK(seq.options.at("calib") == "sequential");
  CHECK(fp32.options.at("calib") == "fp32");
  CHECK(seq.label == "gptq w3");
  CHECK(fp32.label == "gptq w3 (fp32 calib)");
  // Layer 0 sees the same inputs either way; later layers see the quantized earlier layers.
  for (const Linear which : {Linear::kWq, Linear::kW2}) {
    CHECK(seq.weights.linear(0, which) == fp32.weights.linear(0, which));
    CHECK(seq.weights.linear(2, which) != fp32.weights.linear(2, which));
  }
  // Rebuild layer 1's wq by hand: FP32 model with layer 0 replaced by the sequential result's.
  auto partial = w;
  partial.layers[0] = seq.weights.layers[0];
  const auto inputs = fq::llm::capture_linear_inputs(partial, {}, calib, 1);
  CHECK(inputs[0].empty());
  const auto& x = inputs[1].at(Linear::kWq);
  const int cols = w.cols(Linear::kWq), rows = w.rows(Linear::kWq);
  fq::GptqOptions opt;
  opt.bits = 3;
  const auto r = fq::gptq_quantize(w.linear(1, Linear::kWq), rows, cols,
                                   fq::hessian_from_activations(x, static_cast<int>(x.size()) / cols, cols), opt);
  const std::vector<float> expect(r.w_hat.begin(), r.w_hat.end());
  CHECK(seq.weights.linear(1, Linear::kWq) == expect);
  // Thread-count independence of the whole sequential pipeline.
  setenv("FQ_THREADS", "1", 1);
  const std::map<std::string, std::string> quick = {{"sweeps", "3"}, {"scale", "weights"}};
  const auto one = quantize(w, "fineq-quantease", quick, calib);
  setenv("FQ_THREADS", "3", 1);
  const auto three = quantize(w, "fineq-quantease", quick, calib);
  unsetenv("FQ_THREADS");
  for (int l = 0; l < w.config.n_layers; ++l) CHECK(one.weights.layers[static_cast<size_t>(l)].w1 == three.weights.layers[static_cast<size_t>(l)].w1);
}

TEST_CASE("fineq-gptq and fineq-quantease as evaluate methods", "[llm][quant][fineq]") {
  const auto& [w, calib] = fixture();
  const auto plain = quantize(w, "fineq", {}, calib);
  for (const char* method : {"fineq-gptq", "fineq-quantease"}) {
    INFO(method);
    // Few sweeps keep the test short (sweeps is fineq-quantease's option only).
    std::map<std::string, std::string> opts;
    if (std::string(method) == "fineq-quantease") opts.emplace("sweeps", "2");
    const auto m = quantize(w, method, opts, calib);
    // The same FineQ-R storage and INT8 activations as plain fineq.
    CHECK(m.bits_per_weight == plain.bits_per_weight);
    CHECK(m.activations == "int8/token");
    CHECK(m.label == fmt::format("{} ratio", method));
    CHECK(m.options.at("calib") == "sequential");
    CHECK(m.options.at("acts") == "int8");
    CHECK(m.options.at("policy") == "ratio");
    REQUIRE(m.linears.size() == 35);
    CHECK(m.weights.token_embedding == w.token_embedding);
    CHECK(m.weights.layers[1].w3 != plain.weights.layers[1].w3);
    opts.insert({{"acts", "fp32"}, {"calib", "fp32"}, {"policy", "mse"}, {"scale", "weights"}});
    const auto f = quantize(w, method, opts, calib);
    CHECK(f.activations == "fp32");
    CHECK(f.label == fmt::format("{} mse scale weights (fp32 calib)", method));
  }
  const auto init = quantize(w, "fineq-quantease", {{"init", "fineq"}, {"sweeps", "2"}, {"scale", "weights"}}, calib);
  CHECK(init.options.at("init") == "fineq");
  CHECK(init.label == "fineq-quantease ratio scale weights init fineq");
}

TEST_CASE("the calibration option is checked", "[llm][quant][calibration]") {
  const auto& [w, calib] = fixture();
  const fq::llm::LlamaWeights none;
  CHECK_THROWS_WITH(quantize(none, "gptq", {{"calib", "fp16"}}, {}), Catch::Contains("calib"));
  CHECK_THROWS_WITH(quantize(none, "fineq", {{"calib", "fp32"}}, {}), Catch::Contains("calib"));
  CHECK_THROWS_WITH(quantize(none, "quarot", {{"weights", "rtn"}, {"calib", "fp32"}}, {}),
                    Catch::Contains("applies to weights gptq only"));
  CHECK_THROWS_WITH(quantize(w, "fineq-gptq", {}, {}), Catch::Contains("needs calibration sequences"));
  CHECK_THROWS_WITH(quantize(none, "fineq-gptq", {{"block", "10"}}, {}), Catch::Contains("multiple of 3"));
}
