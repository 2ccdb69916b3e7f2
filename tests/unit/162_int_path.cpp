// The batched forward and the golden integer-path inference (model/llm/int_path.h) on the real
// stories260K: a prefill batch equals token-by-token inference bit for bit, the integer path
// really replaces every decoder linear, and the dequantized comparison is evaluate's inference.
#include "model/ckpt/checkpoint.h"
#include "model/core/error.h"
#include "model/golden/act_quant.h"
#include "model/golden/int_gemm.h"
#include "model/llm/int_path.h"
#include "model/llm/quant_model.h"
#include "support/errors.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

namespace {

using fq::llm::Linear;

const fq::llm::LlamaWeights& stories() {
  static const fq::llm::LlamaWeights w = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
  return w;
}

const fq::llm::IntPathModel& fineq_model() {
  static const fq::llm::IntPathModel m = fq::llm::make_int_path(stories(), "fineq", fq::Params("test"));
  return m;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// "Once upon a time, there was a little girl named Lily." with BOS (../shared/models/README.md).
const std::vector<int> kPrompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426};

std::vector<float> step_by_step(const fq::llm::LlamaWeights& w, const fq::llm::Hooks& hooks, std::span<const int> t,
                                fq::llm::LinearDigests* digests = nullptr) {
  fq::llm::LlamaRunner r(w, hooks);
  std::vector<float> out;
  for (size_t pos = 0; pos < t.size(); ++pos) {
    if (digests) digests->set_first_position(static_cast<int>(pos));
    const auto l = r.forward(t[pos], static_cast<int>(pos));
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

}  // namespace

SCENARIO("a batched prefill equals token-by-token inference bit for bit", "[llm][int_path]") {
  const auto& w = stories();
  const auto one_by_one = step_by_step(w, {}, kPrompt);
  fq::llm::LlamaRunner runner(w);
  const auto batch = runner.forward_batch(kPrompt, 0);
  CHECK(same_bits(batch, one_by_one));
  CHECK(runner.cached_positions() == 16);
  // A second batch after 10 cached positions, and a rewind into the cache.
  fq::llm::LlamaRunner r2(w);
  r2.forward_batch(std::span<const int>(kPrompt).first(10), 0);
  const auto tail = r2.forward_batch(std::span<const int>(kPrompt).subspan(10), 10);
  CHECK(same_bits(tail, std::span<const float>(one_by_one).subspan(10 * 512)));
  const auto again = r2.forward_batch(std::span<const int>(kPrompt).subspan(4, 3), 4);
  CHECK(same_bits(again, std::span<const float>(one_by_one).subspan(4 * 512, 3 * 512)));
  CHECK_THROWS_AS(r2.forward_batch(std::span<const int>(kPrompt).first(2), 8), fq::Error);  // needs 0..7, has 7
  const std::vector<int> empty;
  CHECK_THROWS_AS(runner.forward_batch(empty, 0), fq::Error);
}

SCENARIO("the integer path computes every decoder linear with the integer GEMM", "[llm][int_path]") {
  const auto& m = fineq_model();
  const auto& c = m.weights.config;
  REQUIRE(m.linears.size() == 35);
  CHECK(m.linear(3, Linear::kW2).name == "layers.3.w2");
  CHECK(m.linear(3, Linear::kW2).matrix.format == fq::HwFormat::kFineqR);
  CHECK(m.options.at("policy") == "ratio");

  // int_linear() is quantize_activations -> int_gemm -> dequant, row by row.
  const auto x = fq::synthetic_activations(3, c.dim, 5);
  const auto& wq = m.linear(0, Linear::kWq);
  const auto y = fq::llm::int_linear(wq, 3, x);
  for (int row = 0; row < 3; ++row) {
    const auto xr = std::span<const float>(x).subspan(static_cast<size_t>(row * c.dim), static_cast<size_t>(c.dim));
    const auto a = fq::quantize_activations(xr, 1, c.dim);
    const auto yr = fq::dequant(fq::int_gemm(a, wq.matrix), a, wq.matrix);
    CHECK(same_bits(yr, std::span<const float>(y).subspan(static_cast<size_t>(row * c.dim), yr.size())));
  }

  // Batched and token-by-token integer paths agree bit for bit, digests included.
  fq::llm::LinearDigests d1, d2;
  const auto one = step_by_step(m.weights, fq::llm::int_path_hooks(m, &d1), kPrompt, &d1);
  fq::llm::LlamaRunner runner(m.weights, fq::llm::int_path_hooks(m, &d2));
  const auto batch = runner.forward_batch(kPrompt, 0);
  CHECK(same_bits(batch, one));
  CHECK(d1.digests().size() == 16 * 35);
  CHECK(d1.digests() == d2.digests());  // the batch records positions from 0

  // It is not the FP32 model: the logits differ, but the quantized model still agrees on the next
  // token at most positions (11 of 16 when this test was written).
  const auto fp32 = step_by_step(stories(), {}, kPrompt);
  CHECK_FALSE(same_bits(fp32, one));
  int agree = 0;
  for (size_t t = 0; t < kPrompt.size(); ++t) {
    const auto a = std::span<const float>(fp32).subspan(t * 512, 512);
    const auto b = std::span<const float>(one).subspan(t * 512, 512);
    agree += fq::llm::first_argmax(a) == fq::llm::first_argmax(b);
  }
  CHECK(agree >= 8);
}

SCENARIO("greedy decoding after a prompt: batched prefill or not, the same tokens and logits", "[llm][int_path]") {
  const auto& m = fineq_model();
  const auto hooks = fq::llm::int_path_hooks(m);
  std::vector<std::pair<int, int>> calls;
  const auto a = fq::llm::greedy_after_prompt(m.weights, hooks, kPrompt, 6, true,
                                              [&](int pos0, int rows) { calls.emplace_back(pos0, rows); });
  const auto b = fq::llm::greedy_after_prompt(m.weights, hooks, kPrompt, 6, false);
  CHECK(a.generated == b.generated);
  CHECK(same_bits(a.logits, b.logits));
  REQUIRE(a.generated.size() == 6);
  CHECK(a.logits.size() == 6 * 512);
  CHECK(calls == std::vector<std::pair<int, int>>{{0, 16}, {16, 1}, {17, 1}, {18, 1}, {19, 1}, {20, 1}});
  for (int i = 0; i < 6; ++i) {
    CHECK(a.generated[static_cast<size_t>(i)] ==
          fq::llm::first_argmax(std::span<const float>(a.logits).subspan(static_cast<size_t>(i) * 512, 512)));
  }
  // Only FP32 computations: equal to generate_greedy from BOS.
  const std::vector<int> bos = {1};
  CHECK(fq::llm::greedy_after_prompt(stories(), {}, bos, 10, true).generated == fq::llm::generate_greedy(stories(), 1, 10));
  CHECK_THROWS_AS(fq::llm::greedy_after_prompt(stories(), {}, bos, 513, true), fq::Error);
  CHECK_THROWS_AS(fq::llm::greedy_after_prompt(stories(), {}, bos, 0, true), fq::Error);
}

SCENARIO("the dequantized comparison is evaluate's fineq inference with INT8 activations", "[llm][int_path]") {
  const auto& m = fineq_model();
  const auto dq = fq::llm::dequantized_model(m);
  fq::Params p("test");
  p.set("acts", "int8");
  const auto ev = fq::llm::quantize_model(stories(), "fineq", p, {});
  CHECK(same_bits(fq::llm::forward_sequence(dq.weights, kPrompt, dq.hooks),
                  fq::llm::forward_sequence(ev.weights, kPrompt, ev.hooks)));
}

SCENARIO("methods and .q tensors the accelerator cannot run are clear errors", "[llm][int_path]") {
  const auto& w = stories();
  fq::Params gptq("test");
  fq::test::require_error_mentions([&] { fq::llm::make_int_path(w, "gptq", gptq); }, "method 'gptq' needs calibration");
  fq::Params bfp("test");
  fq::test::require_error_mentions([&] { fq::llm::make_int_path(w, "bfp", bfp); }, "layers.0.wq is bfp6, which no accelerator runs");
  fq::Params grouped("test");
  grouped.set("bits", "4");
  grouped.set("group", "32");
  fq::test::require_error_mentions([&] { fq::llm::make_int_path(w, "rtn", grouped); }, "layers.0.wq has group size 32");

  auto tensors = fineq_model().linears;
  auto missing = tensors;
  missing.erase(missing.begin() + 9);
  fq::test::require_error_mentions([&] { fq::llm::int_path_from_tensors(w, missing, "x.q"); }, "x.q: no tensor 'layers.1.wv'");
  auto twice = tensors;
  twice.push_back(tensors[3]);
  fq::test::require_error_mentions([&] { fq::llm::int_path_from_tensors(w, twice, "x.q"); }, "tensor 'layers.0.wo' appears twice");
  auto wrong = tensors;
  std::swap(wrong[0].name, wrong[4].name);  // wq's codes under the name w1
  fq::test::require_error_mentions([&] { fq::llm::int_path_from_tensors(w, wrong, "x.q"); }, "layers.0.w1 is [64, 64], the model needs [172, 64]");
  auto extra = tensors;
  extra.push_back(tensors[0]);
  extra.back().name = "layers.9.wq";
  fq::test::require_error_mentions([&] { fq::llm::int_path_from_tensors(w, extra, "x.q"); }, "'layers.9.wq' is not a decoder linear of this 5-layer model");
  CHECK(fq::llm::int_path_from_tensors(w, tensors, "x.q").linear(4, Linear::kW3).matrix.codes ==
        fineq_model().linear(4, Linear::kW3).matrix.codes);
}
