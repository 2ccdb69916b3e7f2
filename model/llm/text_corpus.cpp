#include "model/llm/text_corpus.h"

#include "model/core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

namespace fq::llm {

std::vector<std::string_view> split_chunks(std::string_view text) {
  std::vector<std::string_view> chunks;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find("\n\n", start);
    const size_t stop = end == std::string_view::npos ? text.size() : end;
    if (stop > start) chunks.push_back(text.substr(start, stop - start));
    if (end == std::string_view::npos) break;
    start = end + 2;
  }
  return chunks;
}

TextCorpus TextCorpus::load(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot open the text: {}", path.string(), ec.message());
  TextCorpus c;
  c.path = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the text", path.string());
  c.text.resize(static_cast<size_t>(size));
  in.read(c.text.data(), static_cast<std::streamsize>(size));
  if (!in) fail("{}: cannot read {} bytes", path.string(), size);
  // A short string's characters live inside the object and would move with it; reserve past the
  // small-string capacity so the chunk views survive moving the corpus.
  c.text.reserve(std::max<size_t>(c.text.size(), 64));
  c.chunks = split_chunks(c.text);
  if (c.chunks.empty()) fail("{}: no text (every chunk between blank lines is empty)", path.string());
  return c;
}

std::string ChunkRange::describe() const {
  return count == 1 ? fmt::format("chunk {}", first) : fmt::format("chunks {}-{}", first, first + count - 1);
}

std::vector<std::vector<int>> encode_chunks(const Tokenizer& tok, const TextCorpus& corpus, ChunkRange range,
                                            int seq_len) {
  if (range.first < 0 || range.count < 0 || static_cast<size_t>(range.first) + static_cast<size_t>(range.count) >
                                                  corpus.chunks.size()) {
    fail("{}: {} is outside its {} chunks", corpus.path, range.describe(), corpus.chunks.size());
  }
  std::vector<std::vector<int>> seqs;
  seqs.reserve(static_cast<size_t>(range.count));
  for (int i = range.first; i < range.first + range.count; ++i) {
    auto ids = tok.encode(corpus.chunks[static_cast<size_t>(i)], true, false);
    if (ids.size() > static_cast<size_t>(seq_len)) ids.resize(static_cast<size_t>(seq_len));
    seqs.push_back(std::move(ids));
  }
  return seqs;
}

ChunkRange evaluation_range(const TextCorpus& corpus, int eval) {
  if (eval < 1) fail("{}: the number of evaluation chunks must be at least 1, got {}", corpus.path, eval);
  if (static_cast<size_t>(eval) > corpus.chunks.size()) {
    fail("{}: {} evaluation chunks requested, the text has {}", corpus.path, eval, corpus.chunks.size());
  }
  return {0, eval};
}

ChunkRange calibration_range(const TextCorpus& corpus, int eval, int calib) {
  const auto total = static_cast<int64_t>(corpus.chunks.size());
  if (calib < 1) fail("{}: the number of calibration chunks must be at least 1, got {}", corpus.path, calib);
  if (static_cast<int64_t>(eval) + calib > total) {
    fail("{}: {} evaluation and {} calibration chunks would overlap: the text has {} chunks", corpus.path, eval,
         calib, total);
  }
  return {static_cast<int>(total - calib), calib};
}

}  // namespace fq::llm
