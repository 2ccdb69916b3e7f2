// Real text for perplexity and calibration, under the protocol of ../shared/models/README.md:
// the text is split at "\n\n" (empty chunks skipped), each chunk is encoded with BOS and without
// EOS and truncated to the model's seq_len, and each is run from position 0 with a fresh KV cache.
// Evaluation takes the first chunks in file order; calibration takes chunks from the end of the
// file, so the two never overlap as long as first + count of both fit (checked, fq::Error).
#pragma once

#include "model/llm/tokenizer.h"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fq::llm {

// Chunks of `text` separated by "\n\n", in order, without empty ones.
std::vector<std::string_view> split_chunks(std::string_view text);

struct TextCorpus {
  std::string path;
  std::string text;                     // the whole file
  std::vector<std::string_view> chunks;  // views into text

  static TextCorpus load(const std::filesystem::path& path);
  TextCorpus() = default;
  TextCorpus(const TextCorpus&) = delete;  // chunks view into text
  TextCorpus(TextCorpus&&) = default;      // std::string's move keeps long buffers in place: see load()
};

// A run of chunks [first, first + count) as token sequences (BOS, no EOS, at most seq_len tokens).
struct ChunkRange {
  int first = 0, count = 0;
  std::string describe() const;  // "chunks 0-49"
};

std::vector<std::vector<int>> encode_chunks(const Tokenizer& tok, const TextCorpus& corpus, ChunkRange range,
                                            int seq_len);

// The evaluation range (the first `eval` chunks) and the calibration range (the last `calib`
// chunks); fq::Error naming the file when they would overlap or exceed the chunk count.
ChunkRange evaluation_range(const TextCorpus& corpus, int eval);
ChunkRange calibration_range(const TextCorpus& corpus, int eval, int calib);

}  // namespace fq::llm
