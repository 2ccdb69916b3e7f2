// QuaRot's rotation (quantizers.md §4, T5) and the quantized-model layer behind `evaluate`.
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/llm/eval_metrics.h"
#include "model/llm/quant_model.h"
#include "model/llm/quarot.h"
#include "model/llm/text_corpus.h"
#include "model/quant/hadamard.h"
#include "model/quant/metrics.h"
#include "model/quant/rtn.h"
#include "support/paths.h"
#include "support/quant.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace {

using fq::test::quantize;

// Values in (-1, 1) from a fixed seed, identical on every platform.
std::vector<double> random_values(size_t n, uint64_t seed) {
  std::vector<double> v(n);
  for (double& x : v) x = static_cast<double>(fq::splitmix64_next(seed) >> 11) * 0x1p-52 - 1.0;
  return v;
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }

// y = (silu(x·W1ᵀ) ∘ (x·W3ᵀ))·W2ᵀ in FP64; `online` (if any) transforms h before down_proj.
std::vector<double> ffn(const std::vector<double>& x, const std::vector<double>& w1, const std::vector<double>& w3,
                        const std::vector<double>& w2, int d, int dff, const fq::OrthogonalTransform* online) {
  std::vector<double> h(static_cast<size_t>(dff)), y(static_cast<size_t>(d));
  for (int j = 0; j < dff; ++j) {
    double a = 0, b = 0;
    for (int k = 0; k < d; ++k) {
      a += x[static_cast<size_t>(k)] * w1[static_cast<size_t>(j * d + k)];
      b += x[static_cast<size_t>(k)] * w3[static_cast<size_t>(j * d + k)];
    }
    h[static_cast<size_t>(j)] = silu(a) * b;
  }
  if (online) online->apply(std::span<double>(h));
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < dff; ++j) y[static_cast<size_t>(i)] += h[static_cast<size_t>(j)] * w2[static_cast<size_t>(i * dff + j)];
  }
  return y;
}

}  // namespace

TEST_CASE("T5 (i): a rotated LLaMA FFN computes the unrotated output times Q in FP64", "[quarot][quant]") {
  const int d = 4, dff = 8;
  const auto x = random_values(d, 1);
  const auto w1 = random_values(dff * d, 2), w3 = random_values(dff * d, 3), w2 = random_values(d * dff, 4);
  const fq::RandomizedHadamard q(d, 11);
  const fq::HadamardTransform h(dff);
  auto r1 = w1, r3 = w3, r2 = w2;
  q.fuse_input_side(r1);
  q.fuse_input_side(r3);
  q.fuse_output_side(r2, dff);
  h.fuse_input_side(r2);  // pairs the online Hadamard before down_proj
  auto xq = x;
  q.apply(std::span<double>(xq));
  auto expected = ffn(x, w1, w3, w2, d, dff, nullptr);
  q.apply(std::span<double>(expected));
  const auto rotated = ffn(xq, r1, r3, r2, d, dff, &h);
  for (int i = 0; i < d; ++i) CHECK(rotated[static_cast<size_t>(i)] == Approx(expected[static_cast<size_t>(i)]).margin(1e-10));
}

TEST_CASE("T5 (ii): under W4A4 a 50x outlier channel hurts the unrotated layer more", "[quarot][quant]") {
  const int d = 64, n = 32;
  auto x = random_values(d, 5);
  x[17] *= 50.0;
  const auto w = random_values(static_cast<size_t>(n * d), 6);
  const fq::RandomizedHadamard q(d, 3);
  const auto w4a4_sqnr = [&](std::vector<double> xs, std::vector<double> ws) {
    std::vector<double> y(static_cast<size_t>(n)), yq(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < d; ++k) y[static_cast<size_t>(i)] += xs[static_cast<size_t>(k)] * ws[static_cast<size_t>(i * d + k)];
    }
    std::vector<float> xf(xs.begin(), xs.end());
    std::vector<int8_t> qa(static_cast<size_t>(d)), qw(static_cast<size_t>(d));
    const double sa = fq::rtn_quantize(xf, 4, 0.9, fq::Rounding::kHalfEven, fq::ScalePrecision::kDouble, qa);
    double signal = 0, error = 0;
    for (int i = 0; i < n; ++i) {
      std::vector<float> row(ws.begin() + i * d, ws.begin() + (i + 1) * d);
      const double sw = fq::rtn_quantize(row, 4, 1.0, fq::Rounding::kHalfEven, fq::ScalePrecision::kDouble, qw);
      double acc = 0;
      for (int k = 0; k < d; ++k) acc += sa * qa[static_cast<size_t>(k)] * sw * qw[static_cast<size_t>(k)];
      signal += y[static_cast<size_t>(i)] * y[static_cast<size_t>(i)];
      error += (acc - y[static_cast<size_t>(i)]) * (acc - y[static_cast<size_t>(i)]);
    }
    return fq::sqnr_db(signal, error);
  };
  const double plain = w4a4_sqnr(x, w);
  auto xr = x, wr = w;
  q.apply(std::span<double>(xr));
  q.fuse_input_side(wr);
  const double rotated = w4a4_sqnr(xr, wr);
  INFO("plain " << plain << " dB, rotated " << rotated << " dB");
  CHECK(rotated > plain + 2.0);  // measured: 13.0 dB plain, 16.5 dB rotated
}

TEST_CASE("rotate_llama leaves stories260K's function unchanged", "[quarot][llm]") {
  const auto ckpt = fq::open_checkpoint(fq::test::stories260k());
  const auto w = fq::llm::load_llama(*ckpt);
  const auto seqs = fq::llm::sample_sequences(w, 2, 48, 5);
  const auto rot = fq::llm::rotate_llama(w, 7);
  for (const auto& l : rot.weights.layers) {
    CHECK(l.rms_att == std::vector<float>(l.rms_att.size(), 1.0f));
    CHECK(l.rms_ffn == std::vector<float>(l.rms_ffn.size(), 1.0f));
  }
  CHECK(rot.weights.layers[0].w2 != w.layers[0].w2);
  for (const auto& seq : seqs) {
    const auto a = fq::llm::forward_sequence(w, seq);
    const auto b = fq::llm::forward_sequence(rot.weights, seq, rot.hooks);
    double max_diff = 0, max_logit = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(a[i] - b[i])));
      max_logit = std::max(max_logit, static_cast<double>(std::fabs(a[i])));
    }
    INFO("max |logit| " << max_logit);
    CHECK(max_diff < 1e-5 * max_logit * 64);  // float rounding of 5 layers, measured 9e-5 on |logit| 21
    // Without the online transforms the rotated weights compute something else.
    fq::llm::Hooks no_online;
    no_online.post_rope = rot.hooks.post_rope;
    const auto c = fq::llm::forward_sequence(rot.weights, seq, no_online);
    double off = 0;
    for (size_t i = 0; i < a.size(); ++i) off = std::max(off, static_cast<double>(std::fabs(a[i] - c[i])));
    CHECK(off > 0.1);
  }
  CHECK_THROWS_WITH(
      [&] {
        auto bad = w;
        bad.config.hidden_dim = 100;
        fq::llm::rotate_llama(bad, 1);
      }(),
      Catch::Contains("hidden_dim = 100"));
}

TEST_CASE("every evaluate method quantizes stories260K's decoder linears and only those", "[llm][quant]") {
  const auto ckpt = fq::open_checkpoint(fq::test::stories260k());
  const auto w = fq::llm::load_llama(*ckpt);
  const auto calib = fq::llm::sample_sequences(w, 4, 64, 100);
  struct Expect {
    std::string method;
    std::map<std::string, std::string> options;
    double bits;  // exact storage per weight over the 35 linears (64 / 172 input columns)
    std::string acts;
  };
  // 30 linears have K = 64 and 5 (w2) have K = 172; an FP16 scale per row adds 16/K bits.
  const double n64 = 5.0 * (64 * 64 * 2 + 32 * 64 * 2 + 172 * 64 * 2), n172 = 5.0 * 64 * 172;
  const double per_row_fp16 = (16.0 / 64 * n64 + 16.0 / 172 * n172) / (n64 + n172);
  const std::vector<Expect> cases = {
      {"rtn", {{"bits", "4"}}, 4 + per_row_fp16, "fp32"},
      {"gptq", {{"bits", "3"}}, 3 + per_row_fp16, "fp32"},
      {"quantease", {{"bits", "3"}, {"sweeps", "4"}}, 3 + 2 * per_row_fp16, "fp32"},
      {"bfp", {{"bits", "6"}}, 6.5, "bfp6"},
      {"mxfp4", {}, 4.25, "mxfp4"},
      {"quarot", {{"weights", "rtn"}}, 4 + per_row_fp16, "int4/token c0.9"},
  };
  for (const auto& c : cases) {
    INFO(c.method);
    const auto m = quantize(w, c.method, c.options, calib);
    CHECK(m.bits_per_weight == Approx(c.bits).epsilon(1e-12));
    CHECK(m.activations == c.acts);
    REQUIRE(m.linears.size() == 35);
    for (const auto& l : m.linears) CHECK(std::isfinite(l.sqnr_db));
    // Embedding, norms and classifier are untouched (QuaRot rotates them, so compare the others).
    if (c.method != "quarot") {
      CHECK(m.weights.token_embedding == w.token_embedding);
      CHECK(m.weights.classifier == w.classifier);
      CHECK(m.weights.layers[2].rms_ffn == w.layers[2].rms_ffn);
      CHECK(m.weights.layers[2].w2 != w.layers[2].w2);
    }
  }
  // FineQ-R at K = 64: 22 code bytes and one FP16 scale per row; at K = 172: 58 bytes.
  const auto fineq = quantize(w, "fineq", {}, calib);
  CHECK(fineq.bits_per_weight == Approx((22 * 8.0 + 16) / 64 * n64 / (n64 + n172) + (58 * 8.0 + 16) / 172 * n172 / (n64 + n172)));
  CHECK(fineq.activations == "int8/token");
}

TEST_CASE("accuracy orderings and near-lossless margins on stories260K and real text", "[llm][quant]") {
  const auto ckpt = fq::open_checkpoint(fq::test::stories260k());
  const auto w = fq::llm::load_llama(*ckpt);
  // docs/accuracy.md's protocol on the first 50 TinyStories chunks, calibration on the last 32.
  const auto tok = fq::llm::Tokenizer::load(fq::test::tok512());
  const auto corpus = fq::llm::TextCorpus::load(fq::test::tinystories_text());
  const auto seqs = fq::llm::encode_chunks(tok, corpus, fq::llm::evaluation_range(corpus, 50), w.config.seq_len);
  const auto calib = fq::llm::encode_chunks(tok, corpus, fq::llm::calibration_range(corpus, 50, 32), w.config.seq_len);
  const auto kl = [&](const std::string& method, const std::map<std::string, std::string>& options) {
    const auto m = quantize(w, method, options, calib);
    return fq::llm::compare_models(w, m.weights, seqs, m.hooks);
  };
  const auto rtn8 = kl("rtn", {{"bits", "8"}});
  const auto mxint8 = kl("mxint8", {});
  // Near-lossless on real text (docs/accuracy.md states the margins): INT8 weights and MXINT8
  // weights and activations each within 1 % of FP32's perplexity.
  CHECK(rtn8.perplexity_ref == Approx(3.9934592018793582).epsilon(1e-12));  // tests/unit/171
  CHECK(rtn8.perplexity_test < 1.01 * rtn8.perplexity_ref);
  CHECK(mxint8.perplexity_test < 1.01 * mxint8.perplexity_ref);
  // More bits, less damage; GPTQ's error feedback beats plain rounding at the same grid.
  const double rtn4 = kl("rtn", {{"bits", "4"}}).mean_kl, rtn3 = kl("rtn", {{"bits", "3"}}).mean_kl;
  const double gptq3 = kl("gptq", {{"bits", "3"}}).mean_kl;
  CHECK(rtn8.mean_kl < rtn4);
  CHECK(rtn4 < rtn3);
  CHECK(gptq3 < rtn3);
}

TEST_CASE("quantize_model rejects unknown methods and options", "[llm][quant]") {
  const fq::llm::LlamaWeights none;
  CHECK_THROWS_WITH(quantize(none, "awq", {}, {}), Catch::Contains("unknown method 'awq'"));
  CHECK_THROWS_WITH(quantize(none, "fp32", {{"bits", "4"}}, {}), Catch::Contains("bits"));
  CHECK_THROWS_WITH(quantize(none, "bfp", {{"bits", "5"}}, {}), Catch::Contains("5"));
  CHECK_THROWS_WITH(quantize(none, "gptq", {{"bitz", "3"}}, {}), Catch::Contains("bitz"));
  CHECK_THROWS_WITH(quantize(none, "quarot", {{"a_clip", "1.5"}}, {}), Catch::Contains("a_clip"));
  CHECK_THROWS_WITH(quantize(none, "rtn", {{"acts", "int4"}}, {}), Catch::Contains("acts"));
}
