// The llama2.c tokenizer (model/llm/tokenizer.h) and real-text chunks (model/llm/text_corpus.h)
// against the reference of ../shared/models/README.md, a literal transcription of run.c's
// quadratic merge loop, and damaged files.
#include "model/core/error.h"
#include "model/llm/text_corpus.h"
#include "model/llm/tokenizer.h"
#include "support/errors.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using fq::llm::Tokenizer;

const Tokenizer& tok512() {
  static const Tokenizer t = Tokenizer::load(fq::test::tok512());
  return t;
}

// run.c's encode() merge phase as written there: rescan every adjacent pair, merge the first one
// with the highest score, repeat. Quadratic; the reference the priority-queue merge must equal.
std::vector<int> reference_encode(const Tokenizer& t, const std::string& text, bool bos) {
  const auto lookup = [&](const std::string& s) {
    for (int i = 0; i < t.vocab_size(); ++i) {
      if (t.piece(i) == s) return i;
    }
    return -1;
  };
  std::vector<int> ids;
  if (bos) ids.push_back(1);
  if (!text.empty()) ids.push_back(lookup(" "));
  std::string buf;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) buf.clear();
    buf.push_back(static_cast<char>(c));
    if (i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80 && buf.size() < 4) continue;
    if (const int id = lookup(buf); id != -1) {
      ids.push_back(id);
    } else {
      for (const char b : buf) ids.push_back(static_cast<unsigned char>(b) + 3);
    }
    buf.clear();
  }
  while (true) {
    float best_score = -1e10f;
    int best_id = -1, best_idx = -1;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const int id = lookup(t.piece(ids[i]) + t.piece(ids[i + 1]));
      if (id != -1 && t.score(id) > best_score) {
        best_score = t.score(id);
        best_id = id;
        best_idx = static_cast<int>(i);
      }
    }
    if (best_idx == -1) break;
    ids[static_cast<size_t>(best_idx)] = best_id;
    ids.erase(ids.begin() + best_idx + 1);
  }
  return ids;
}

// A tokenizer file: max_token_length, then (score, length, bytes) records.
struct FileBuilder {
  std::string bytes;
  explicit FileBuilder(int32_t max_len) { put(max_len); }
  template <typename T>
  void put(T v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  FileBuilder& token(const std::string& s, float score = 0.f) {
    put(score);
    put(static_cast<int32_t>(s.size()));
    bytes += s;
    return *this;
  }
};

}  // namespace

SCENARIO("tok512 loads with the layout of ../shared/models/README.md", "[tokenizer]") {
  const auto& t = tok512();
  CHECK(t.vocab_size() == 512);
  CHECK(t.max_token_length() == 7);
  CHECK(t.piece(0) == "<unk>");
  CHECK(t.piece(1) == "\n<s>\n");  // as sentencepiece exports them
  CHECK(t.piece(2) == "\n</s>\n");
  CHECK(t.piece(3) == "<0x00>");
  CHECK(t.piece(258) == "<0xFF>");
  CHECK_THROWS_AS(t.piece(512), fq::Error);
}

SCENARIO("encoding equals the README reference", "[tokenizer]") {
  const std::vector<int> expected = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426};
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  CHECK(tok512().encode(text, true, false) == expected);
  auto with_eos = expected;
  with_eos.push_back(fq::llm::kEosToken);
  CHECK(tok512().encode(text, true, true) == with_eos);
  CHECK(tok512().encode(text, false, false) == std::vector<int>(expected.begin() + 1, expected.end()));
}

SCENARIO("the README's greedy ids decode to its text", "[tokenizer]") {
  const std::vector<int> greedy = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
                                   401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385};
  const std::string text = tok512().decode(greedy);
  CHECK(text.rfind("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", 0) ==
        0);
  // Without BOS before it, the first piece keeps its space.
  CHECK(tok512().decode(greedy, 0).rfind(" Once upon a time", 0) == 0);
}

SCENARIO("round trips: ASCII, multi-byte UTF-8, invalid bytes, empty text", "[tokenizer]") {
  const auto& t = tok512();
  const std::vector<std::string> texts = {
      "The cat sat on the mat.\nIt was happy!",
      "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9d\x84\x9e \xe6\x97\xa5\xe6\x9c\xac",  // é, snowman, G clef, 日本
      "\xff\xfe\x80\x80\x80\x80\x80 abc \xc3",  // stray bytes, a run of 5 continuation bytes, a cut lead byte
      std::string("a\0b", 3),                                               // NUL is an ordinary byte here
      " leading and trailing spaces  ",
  };
  for (const auto& text : texts) {
    INFO(text);
    const auto ids = t.encode(text, true, false);
    CHECK(ids == reference_encode(t, text, true));
    // Decoding after BOS strips the dummy-prefix space: the text comes back exactly.
    CHECK(t.decode(std::span<const int>(ids).subspan(1)) == text);
  }
  CHECK(t.encode("", true, false) == std::vector<int>{1});
  CHECK(t.encode("", false, false).empty());
  CHECK(t.encode("", true, true) == std::vector<int>{1, 2});
  CHECK(t.decode(std::vector<int>{}).empty());
}

SCENARIO("the priority-queue merge equals run.c's rescan on real text and random bytes", "[tokenizer]") {
  const auto& t = tok512();
  const auto corpus = fq::llm::TextCorpus::load(fq::test::tinystories_text());
  for (int i = 0; i < 60; ++i) {
    const std::string chunk(corpus.chunks[static_cast<size_t>(i) * 37]);
    INFO("chunk " << i * 37);
    REQUIRE(t.encode(chunk, true, false) == reference_encode(t, chunk, true));
  }
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string s(rng() % 40, '\0');
    // Mostly letters and spaces (so merges happen), some arbitrary bytes.
    for (auto& c : s) c = rng() % 4 == 0 ? static_cast<char>(rng() % 256) : "eat the  sno"[rng() % 12];
    INFO("random " << n);
    REQUIRE(t.encode(s, n % 2 == 0, false) == reference_encode(t, s, n % 2 == 0));
  }
}

SCENARIO("the whole TinyStories excerpt round-trips through encode and decode", "[tokenizer]") {
  const auto corpus = fq::llm::TextCorpus::load(fq::test::tinystories_text());
  const auto ids = tok512().encode(corpus.text, true, false);
  CHECK(ids.size() > 300000u);  // merged: about 2 bytes per token
  CHECK(tok512().decode(std::span<const int>(ids).subspan(1)) == corpus.text);
}

SCENARIO("text chunks follow the protocol of ../shared/models/README.md", "[tokenizer]") {
  using fq::llm::split_chunks;
  CHECK(split_chunks("a\n\nb\n\n\n\nc\n").size() == 3);
  CHECK(split_chunks("\n\n\n\n").empty());
  CHECK(split_chunks("one\n\n\ntwo") == std::vector<std::string_view>{"one", "\ntwo"});
  const auto corpus = fq::llm::TextCorpus::load(fq::test::tinystories_text());
  CHECK(corpus.text.size() == 794375u);  // bytes (the README's 793,451 counts code points)
  CHECK(corpus.chunks.size() == 4300u);
  const auto eval = fq::llm::evaluation_range(corpus, 50);
  const auto calib = fq::llm::calibration_range(corpus, 50, 16);
  CHECK(eval.describe() == "chunks 0-49");
  CHECK(calib.describe() == "chunks 4284-4299");
  const auto seqs = fq::llm::encode_chunks(tok512(), corpus, eval, 512);
  REQUIRE(seqs.size() == 50u);
  size_t predicted = 0;
  for (const auto& s : seqs) {
    CHECK(s.front() == 1);
    CHECK(s.size() <= 512u);
    predicted += s.size() - 1;
  }
  CHECK(predicted == 5055u);  // as the run.c perplexity driver counts (tests/unit/171_text_perplexity.cpp)
  fq::test::require_error_mentions([&] { fq::llm::calibration_range(corpus, 4290, 16); }, "would overlap");
  fq::test::require_error_mentions([&] { fq::llm::evaluation_range(corpus, 5000); }, "the text has 4300");
}

SCENARIO("malformed tokenizer files are rejected naming the offset", "[tokenizer]") {
  const auto parse = [](const std::string& bytes) { return Tokenizer::parse(bytes, "bad.bin"); };
  CHECK_THROWS(parse(FileBuilder(4).token("<unk>").bytes));  // max_token_length 4 < 5
  const auto ok = FileBuilder(5).token("<unk>").token("<s>").token("</s>").token("ab", 1.f);
  CHECK(parse(ok.bytes).vocab_size() == 4);
  fq::test::require_error_mentions([&] { parse("ab"); }, "bad.bin: offset 0");
  fq::test::require_error_mentions([&] { parse(FileBuilder(0).bytes); }, "max_token_length 0 must be positive");
  fq::test::require_error_mentions([&] { parse(ok.bytes.substr(0, ok.bytes.size() - 1)); },
                                   "token 3: length 2 runs past the end");
  fq::test::require_error_mentions([&] { parse(ok.bytes + "abc"); }, "token 4: 3 bytes left");
  auto negative = FileBuilder(5);
  negative.put(0.f);
  negative.put(int32_t{-5});
  fq::test::require_error_mentions([&] { parse(negative.bytes); }, "offset 8: token 0: negative length -5");
  auto huge = FileBuilder(5);
  huge.put(0.f);
  huge.put(int32_t{2000000000});
  fq::test::require_error_mentions([&] { parse(huge.bytes); }, "exceeds max_token_length 5");
  fq::test::require_error_mentions([&] { parse(FileBuilder(5).token("<unk>", std::nanf("")).bytes); },
                                   "merge score is NaN");
  fq::test::require_error_mentions([&] { parse(FileBuilder(5).token("<unk>").token("<s>").bytes); },
                                   "at least <unk>, BOS and EOS");
  fq::test::require_error_mentions([&] { Tokenizer::load("/nonexistent/tok.bin"); }, "/nonexistent/tok.bin");
}
