// Golden FP32 LLaMA inference (model/llm) against the llama2.c reference, hooks, sampling, metrics.
//
// Reference: karpathy/llama2.c, file run.c at commit bd182289c596fa6059eb7b3b7c8ccd04b5c90fc3 (the
// version with grouped-query attention and on-the-fly RoPE), compiled outside this repository with
// `gcc -O2 -o driver driver.c -lm` on x86-64 Debian 12 (gcc 12, glibc 2.36). The driver includes
// run.c's structs, checkpoint_init_weights(), rmsnorm(), softmax(), matmul() and transformer()
// unchanged, reads the official tinyllamas stories260K.bin (../shared/models/tinyllamas/), starts
// from token 1 (BOS) at position 0, takes argmax(logits) as run.c does at temperature 0, prints
// each id and does not stop at BOS; at positions 0, 1, 7, 31 and 63 it prints logits 0, 1, 13,
// 100, 461 and 511 with "%.9g" (enough digits to round-trip a float). Its first 32 ids equal the
// reference of ../shared/models/README.md and decode to "Once upon a time, there was a little
// girl named Lily. She loved to play outside in the park. ..." (tests/unit/170_tokenizer.cpp).
// The test allows 1e-5 relative; on that machine our logits equal the reference's bit for bit.
#include "model/ckpt/checkpoint.h"
#include "model/core/error.h"
#include "model/llm/eval_metrics.h"
#include "model/llm/llama.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using fq::llm::Linear;

const fq::llm::LlamaWeights& stories() {
  static const fq::llm::LlamaWeights w = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
  return w;
}

// The reference driver's greedy ids from BOS (64 steps).
const std::vector<int> kReferenceGreedy = {
    403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13, 438, 310};

struct ReferenceLogits {
  int pos;
  float values[6];  // logits of tokens kLogitIds
};
constexpr int kLogitIds[6] = {0, 1, 13, 100, 461, 511};
const ReferenceLogits kReferenceLogits[] = {
    {0, {-6.22291136f, 8.4043417f, 6.44980621f, -6.22272015f, -1.26024354f, -4.40551758f}},
    {1, {-9.58945847f, 3.84127617f, -1.48157525f, -9.58889389f, -2.68439722f, -7.43573427f}},
    {7, {-9.04545307f, 1.45270038f, -0.528939307f, -9.04364491f, 0.713957787f, -7.1234355f}},
    {31, {-4.65752268f, 8.05992699f, 10.7642832f, -4.65811729f, -1.11930811f, -4.44806576f}},
    {63, {-7.85976648f, 1.13813186f, 1.44743168f, -7.85952425f, -4.07464647f, -6.93446255f}},
};

// perplexity() of sample_sequences(stories260K, 8, 96, seed 2024), measured once with this code.
constexpr double kMeasuredPerplexity = 3.22607;

std::vector<int> greedy_input() {
  std::vector<int> tokens = {fq::llm::kBosToken};
  tokens.insert(tokens.end(), kReferenceGreedy.begin(), kReferenceGreedy.end() - 1);
  return tokens;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

SCENARIO("stories260K loads as a llama2.c LLaMA with tied classifier", "[llm]") {
  const auto& w = stories();
  const auto& c = w.config;
  CHECK(c.dim == 64);
  CHECK(c.hidden_dim == 172);
  CHECK(c.n_layers == 5);
  CHECK(c.n_heads == 8);
  CHECK(c.n_kv_heads == 4);
  CHECK(c.vocab_size == 512);
  CHECK(c.seq_len == 512);
  CHECK(c.shared_classifier);
  CHECK(c.head_size() == 8);
  CHECK(c.kv_dim() == 32);
  CHECK(w.rows(Linear::kWk) == 32);
  CHECK(w.cols(Linear::kW2) == 172);
  CHECK(w.linear(4, Linear::kW3).size() == 172u * 64u);
  CHECK(w.classifier == w.token_embedding);
  CHECK(fq::llm::tensor_name(2, Linear::kWv) == "layers.2.wv");
  CHECK(fq::llm::parse_tensor_name("layers.3.w2") == std::pair{3, Linear::kW2});
  CHECK(fq::llm::parse_tensor_name("output") == std::pair{-1, Linear::kCls});
  CHECK_FALSE(fq::llm::parse_tensor_name("layers.3.attention_norm"));
  CHECK_THROWS_AS(w.linear(5, Linear::kWq), fq::Error);
}

SCENARIO("greedy decoding from BOS matches llama2.c run.c exactly", "[llm]") {
  CHECK(fq::llm::generate_greedy(stories(), fq::llm::kBosToken, 64) == kReferenceGreedy);
}

SCENARIO("logits match llama2.c run.c at several positions", "[llm]") {
  const auto& w = stories();
  const auto logits = fq::llm::forward_sequence(w, greedy_input());
  for (const auto& ref : kReferenceLogits) {
    for (int i = 0; i < 6; ++i) {
      INFO("pos " << ref.pos << " token " << kLogitIds[i]);
      const float ours = logits[static_cast<size_t>(ref.pos) * 512 + static_cast<size_t>(kLogitIds[i])];
      CHECK(ours == Approx(ref.values[i]).epsilon(1e-5).margin(1e-5));
    }
  }
}

SCENARIO("hooks are called in the documented order and counts", "[llm]") {
  const auto& w = stories();
  std::vector<std::string> events;
  fq::llm::Hooks hooks;
  hooks.pre_linear = [&](int layer, Linear which, std::span<float> x) {
    CHECK(static_cast<int>(x.size()) == w.cols(which));
    events.push_back(fmt::format("{}.{}", layer, fq::llm::linear_name(which)));
  };
  hooks.post_rope = [&](int layer, int pos, std::span<float> q, std::span<float> k, std::span<float> v) {
    CHECK(q.size() == 64u);
    CHECK(k.size() == 32u);
    CHECK(v.size() == 32u);
    events.push_back(fmt::format("{}.rope@{}", layer, pos));
  };
  fq::llm::LlamaRunner runner(w, hooks);
  for (const int pos : {0, 1}) {
    events.clear();
    runner.forward(fq::llm::kBosToken, pos);
    std::vector<std::string> expected;
    for (int l = 0; l < 5; ++l) {
      for (const char* e : {"wq", "wk", "wv"}) expected.push_back(fmt::format("{}.{}", l, e));
      expected.push_back(fmt::format("{}.rope@{}", l, pos));
      for (const char* e : {"wo", "w1", "w3", "w2"}) expected.push_back(fmt::format("{}.{}", l, e));
    }
    expected.push_back("-1.output");
    CHECK(events == expected);
    CHECK(events.size() == 7 * 5 + 1 + 5);
  }
}

SCENARIO("hooks change exactly what they claim to", "[llm]") {
  const auto& w = stories();
  const auto tokens = greedy_input();
  const std::span<const int> first16(tokens.data(), 16);
  const auto plain = fq::llm::forward_sequence(w, first16);

  WHEN("the hooks rewrite every value unchanged") {
    fq::llm::Hooks identity;
    identity.pre_linear = [](int, Linear, std::span<float> x) {
      for (float& v : x) v = v * 1.0f;
    };
    identity.post_rope = [](int, int, std::span<float> q, std::span<float> k, std::span<float> v) {
      for (auto s : {q, k, v}) {
        for (float& e : s) e = e + 0.0f;
      }
    };
    THEN("the logits are bitwise unchanged") { CHECK(same_bits(fq::llm::forward_sequence(w, first16, identity), plain)); }
  }
  WHEN("the input of wq alone is zeroed") {
    fq::llm::Hooks zero_q;
    zero_q.pre_linear = [](int, Linear which, std::span<float> x) {
      if (which == Linear::kWq) std::fill(x.begin(), x.end(), 0.0f);
    };
    THEN("it equals zero wq weights: wk and wv still see the normed input") {
      auto zeroed = w;
      for (int l = 0; l < 5; ++l) std::fill(zeroed.linear(l, Linear::kWq).begin(), zeroed.linear(l, Linear::kWq).end(), 0.0f);
      const auto hooked = fq::llm::forward_sequence(w, first16, zero_q);
      CHECK(same_bits(hooked, fq::llm::forward_sequence(zeroed, first16)));
      CHECK_FALSE(same_bits(hooked, plain));
    }
  }
  WHEN("post_rope zeroes v") {
    fq::llm::Hooks zero_v;
    zero_v.post_rope = [](int, int, std::span<float>, std::span<float>, std::span<float> v) {
      std::fill(v.begin(), v.end(), 0.0f);
    };
    fq::llm::Hooks zero_wo_input;
    zero_wo_input.pre_linear = [](int, Linear which, std::span<float> x) {
      if (which == Linear::kWo) std::fill(x.begin(), x.end(), 0.0f);
    };
    THEN("the zeroed values reach the cache: attention outputs are exactly zero") {
      CHECK(same_bits(fq::llm::forward_sequence(w, first16, zero_v), fq::llm::forward_sequence(w, first16, zero_wo_input)));
    }
  }
}

SCENARIO("forward_sequence equals step-by-step forward, and a runner can rewind", "[llm]") {
  const auto& w = stories();
  const auto tokens = greedy_input();
  const auto all = fq::llm::forward_sequence(w, tokens);
  fq::llm::LlamaRunner runner(w);
  for (int pos = 0; pos < static_cast<int>(tokens.size()); ++pos) {
    const auto logits = runner.forward(tokens[static_cast<size_t>(pos)], pos);
    REQUIRE(std::memcmp(logits.data(), all.data() + static_cast<size_t>(pos) * 512, 512 * sizeof(float)) == 0);
  }
  // Rewind to position 3 with other tokens, then compare with a fresh run of the same prefix.
  const std::vector<int> other = {tokens[0], tokens[1], tokens[2], 7, 300, 42};
  std::vector<float> rewound;
  for (int pos = 3; pos < 6; ++pos) {
    const auto logits = runner.forward(other[static_cast<size_t>(pos)], pos);
    rewound.assign(logits.begin(), logits.end());
  }
  const auto fresh = fq::llm::forward_sequence(w, other);
  CHECK(same_bits(rewound, std::vector<float>(fresh.end() - 512, fresh.end())));
  runner.reset();
  CHECK(runner.cached_positions() == 0);
}

SCENARIO("an untied classifier equal to the embedding gives the same logits", "[llm]") {
  // Rewrites stories260K as llama2.c writes untied models: vocab_size negated in the header and
  // the classifier appended after freq_cis_imag.
  const auto dir = fq::test::temp_dir("llm_untied");
  std::string bytes = slurp(fq::test::stories260k());
  int32_t vocab;
  std::memcpy(&vocab, bytes.data() + 20, 4);
  const int32_t negated = -vocab;
  std::memcpy(bytes.data() + 20, &negated, 4);
  bytes.append(bytes.substr(28, static_cast<size_t>(vocab) * 64 * 4));
  const auto path = dir / "untied.bin";
  std::ofstream(path, std::ios::binary) << bytes;

  const auto untied = fq::llm::load_llama(*fq::open_checkpoint(path));
  CHECK_FALSE(untied.config.shared_classifier);
  const std::vector<int> tokens = {1, 461, 461, 401};
  CHECK(same_bits(fq::llm::forward_sequence(untied, tokens), fq::llm::forward_sequence(stories(), tokens)));
}

SCENARIO("sampling is deterministic and thread-count independent", "[llm]") {
  const auto& w = stories();
  const auto one = fq::llm::sample_sequences(w, 6, 40, 1234, 1.0, 1);
  const auto two = fq::llm::sample_sequences(w, 6, 40, 1234, 1.0, 2);
  CHECK(one == two);
  REQUIRE(one.size() == 6);
  for (const auto& s : one) {
    REQUIRE(s.size() == 40);
    CHECK(s.front() == fq::llm::kBosToken);
  }
  CHECK(one[0] != one[1]);
  CHECK(fq::llm::sample_sequences(w, 6, 40, 1235, 1.0, 1) != one);
  // Temperature 0 is greedy decoding.
  const auto greedy = fq::llm::sample_sequences(w, 1, 33, 99, 0.0, 1);
  CHECK(std::vector<int>(greedy[0].begin() + 1, greedy[0].end()) ==
        std::vector<int>(kReferenceGreedy.begin(), kReferenceGreedy.begin() + 32));
}

SCENARIO("perplexity and KL of sampled sequences", "[llm]") {
  const auto& w = stories();
  const auto seqs = fq::llm::sample_sequences(w, 8, 96, 2024);
  const double ppl = fq::llm::perplexity(w, seqs, {}, 1);
  // Samples from the model itself score near its entropy, far below the vocabulary size 512.
  CHECK(std::isfinite(ppl));
  CHECK(ppl == Approx(kMeasuredPerplexity).epsilon(0.01));
  CHECK(fq::llm::perplexity(w, seqs, {}, 2) == ppl);

  const auto self = fq::llm::compare_models(w, w, seqs);
  CHECK(self.mean_kl == 0.0);
  CHECK(self.top1_agreement == 1.0);
  CHECK(self.perplexity_ref == self.perplexity_test);
  CHECK(self.perplexity_ref == ppl);
  CHECK(self.positions == 8 * 95);

  // A perturbed model: classifier input rounded to 1/8, the crudest activation quantizer.
  fq::llm::Hooks coarse;
  coarse.pre_linear = [](int, Linear which, std::span<float> x) {
    if (which == Linear::kCls) {
      for (float& v : x) v = std::round(v * 8.0f) / 8.0f;
    }
  };
  const auto cmp = fq::llm::compare_models(w, w, seqs, coarse);
  // Measured: KL 0.0017 nats, top-1 agreement 0.967.
  CHECK(cmp.mean_kl > 1e-4);
  CHECK(cmp.mean_kl < 1e-2);
  CHECK(cmp.top1_agreement > 0.9);
  CHECK(cmp.top1_agreement < 1.0);
  CHECK(cmp.perplexity_ref == ppl);
  CHECK(cmp.perplexity_test > 0.0);
}

SCENARIO("metrics on hand-made logits", "[llm]") {
  const std::vector<float> a = {0.0f, 0.0f, 1.0f, 2.0f, 0.0f, 0.0f};  // 2 rows of vocab 3
  const std::vector<float> b = {0.0f, 0.0f, 0.0f, 2.0f, 0.0f, 0.0f};
  CHECK(fq::llm::mean_kl(a, a, 3) == 0.0);
  // Row 0: P = (1,1,e)/(2+e), Q uniform: KL = Σ p log(3p).
  const double z = 2.0 + std::exp(1.0);
  const double kl0 = 2.0 / z * std::log(3.0 / z) + std::exp(1.0) / z * std::log(3.0 * std::exp(1.0) / z);
  CHECK(fq::llm::mean_kl(a, b, 3) == Approx(kl0 / 2.0).epsilon(1e-12));
  CHECK(fq::llm::top1_agreement(a, b, 3) == 0.5);
  const std::vector<int> tokens = {2, 0};
  CHECK(fq::llm::sum_nll(a, tokens, 3) == Approx(-std::log(1.0 / z)).epsilon(1e-12));
  CHECK_THROWS_AS(fq::llm::mean_kl(a, std::vector<float>(4), 3), fq::Error);
}

SCENARIO("bad inputs are clear errors", "[llm]") {
  const auto& w = stories();
  fq::llm::LlamaRunner runner(w);
  CHECK_THROWS_AS(runner.forward(-1, 0), fq::Error);
  CHECK_THROWS_AS(runner.forward(512, 0), fq::Error);
  CHECK_THROWS_AS(runner.forward(1, 512), fq::Error);
  CHECK_THROWS_AS(runner.forward(1, 1), fq::Error);  // position 0 is not cached yet
  const std::vector<int> bad = {1, 5, 9999};
  CHECK_THROWS_AS(fq::llm::forward_sequence(w, bad), fq::Error);
  CHECK_THROWS_AS(fq::llm::generate_greedy(w, 1, 513), fq::Error);
  CHECK_THROWS_AS(fq::llm::sample_sequences(w, 1, 0, 1), fq::Error);
  CHECK_THROWS_AS(fq::llm::perplexity(w, {{1}}), fq::Error);
  auto broken = w;
  broken.linear(2, Linear::kW2).pop_back();
  CHECK_THROWS_WITH(fq::llm::LlamaRunner(broken), Catch::Contains("layers.2.w2"));

  const auto dir = fq::test::temp_dir("llm_not_llama");
  const std::string header = R"({"gemm":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  std::string file(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  file += header + std::string(16, '\0');
  std::ofstream(dir / "gemm.safetensors", std::ios::binary) << file;
  const auto ckpt = fq::open_checkpoint(dir / "gemm.safetensors");
  CHECK_THROWS_WITH(fq::llm::load_llama(*ckpt), Catch::Contains("not a llama2.c LLaMA checkpoint"));
}
