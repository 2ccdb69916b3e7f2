// FP32 perplexity of the official stories260K on real text, against llama2.c run.c.
// Reference: run.c of karpathy/llama2.c at commit bd182289c596fa6059eb7b3b7c8ccd04b5c90fc3 — its
// rmsnorm(), softmax(), matmul() and transformer() transcribed into an out-of-tree C driver
// (gcc 12 -O2, x86-64 Debian 12) that reads the ids of each chunk (the first 50 chunks of
// ../shared/data/tinystories-valid-excerpt.txt split at "\n\n", split and fed by a Python script
// through `tokenize`, whose encoding tests/unit/170 checks against run.c's merge loop), runs each
// chunk from position 0 with a fresh KV cache, and sums -log softmax (double, max subtracted) of
// every next token: 5055 predicted tokens, NLL 6999.4452962342848, perplexity 3.9934592018793582.
// Our forward pass equals run.c's bit for bit (tests/unit/160), so the sums agree to rounding of
// the double accumulation order; the test allows 1e-12 relative.
#include "model/ckpt/checkpoint.h"
#include "model/core/error.h"
#include "model/llm/eval_metrics.h"
#include "model/llm/llama.h"
#include "model/llm/text_corpus.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

SCENARIO("FP32 perplexity on the first 50 TinyStories chunks equals llama2.c run.c's", "[llm][text]") {
  const auto weights = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
  const auto tok = fq::llm::Tokenizer::load(fq::test::tok512());
  const auto corpus = fq::llm::TextCorpus::load(fq::test::tinystories_text());
  const auto seqs = fq::llm::encode_chunks(tok, corpus, fq::llm::evaluation_range(corpus, 50), weights.config.seq_len);
  CHECK(fq::llm::perplexity(weights, seqs) == Approx(3.9934592018793582).epsilon(1e-12));
  CHECK(fq::llm::perplexity(weights, seqs, {}, 1) == fq::llm::perplexity(weights, seqs, {}, 2));
}

SCENARIO("a prompt's greedy continuation is run.c's greedy story", "[llm][text]") {
  const auto weights = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
  const auto tok = fq::llm::Tokenizer::load(fq::test::tok512());
  // ../shared/models/README.md: greedy ids from BOS.
  const std::vector<int> greedy = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
                                   401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385};
  CHECK(fq::llm::continue_greedy(weights, std::vector<int>{1}, 32) == greedy);
  // "Once upon a time" is the story's first four tokens, so its continuation is the rest.
  const auto prompt = tok.encode("Once upon a time", true, false);
  REQUIRE(prompt == std::vector<int>{1, 403, 407, 261, 378});
  CHECK(fq::llm::continue_greedy(weights, prompt, 28) == std::vector<int>(greedy.begin() + 4, greedy.end()));
  CHECK(fq::llm::continue_greedy(weights, prompt, 0).empty());
  CHECK_THROWS_AS(fq::llm::continue_greedy(weights, std::vector<int>{}, 4), fq::Error);
}
