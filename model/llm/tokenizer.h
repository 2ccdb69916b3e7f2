// Tokenizer: llama2.c's tokenizer files (`tok512.bin`, the 32000-token `tokenizer.bin`) and the
// encoding and decoding of karpathy/llama2.c run.c.
// File layout (little-endian): int32 max_token_length, then per token: float32 merge score,
// int32 length, `length` bytes (no terminator), up to the end of the file. Token 1 is BOS, 2 EOS.
// Contract:
// - load() validates the whole file before building anything: a short header, a record cut by the
//   end of the file, a negative length, a length above max_token_length (run.c's merge buffer
//   would overflow) or a NaN score is an fq::Error naming the file, the token and the byte offset.
//   Memory is bounded by the file size (a record takes at least 8 bytes).
// - encode() computes what run.c's encode() computes: optional BOS, a dummy-prefix " " token
//   before a non-empty text, UTF-8 code points (a lead byte and up to three continuation bytes,
//   exactly run.c's grouping, so invalid UTF-8 is grouped the same way) looked up whole, falling
//   back to byte tokens id = byte + 3, then repeated merging of the adjacent pair whose
//   concatenation is a token with the highest score (leftmost on ties; scores <= -1e10 never
//   merge), optional EOS. The merge runs on a priority queue with lazy invalidation, which picks
//   the same pair as run.c's full rescan at every step (the list order equals the index order),
//   so long texts cost O(n log n) instead of O(n^2). Differences from run.c, only where run.c
//   misbehaves: a NUL byte is an ordinary byte here (run.c stops at it), and a vocabulary without
//   " " uses the byte token of ' ' as dummy prefix (run.c would store id -1; an fq::Error when
//   that byte token is missing too). Duplicate token strings resolve to the lowest id.
// - decode_piece() is run.c's decode(): after BOS a leading space is stripped, and a token
//   "<0xH>" / "<0xHH>" (hex, either case, as run.c's sscanf accepts) is the raw byte. run.c's
//   safe_printf additionally hides non-printable single bytes when printing; decode() keeps them.
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fq::llm {

inline constexpr int kEosToken = 2;

class Tokenizer {
 public:
  static Tokenizer load(const std::filesystem::path& path);
  // The same validation on bytes already in memory; `name` stands for the file in messages.
  static Tokenizer parse(std::string_view bytes, const std::string& name);

  int vocab_size() const { return static_cast<int>(m_vocab.size()); }
  int max_token_length() const { return m_max_token_length; }
  const std::string& piece(int id) const;  // fq::Error for an id out of range
  float score(int id) const;
  const std::string& name() const { return m_name; }

  std::vector<int> encode(std::string_view text, bool bos, bool eos) const;
  // The bytes token `token` prints as, when the token before it is `prev`.
  std::string_view decode_piece(int prev, int token) const;
  // Concatenated pieces of `tokens`, the first of them following `prev` (BOS by default, so a
  // sequence encoded with BOS decodes back from tokens[1..]).
  std::string decode(std::span<const int> tokens, int prev = 1) const;

 private:
  int lookup(std::string_view s) const;  // -1 when absent

  std::string m_name;
  int m_max_token_length = 0;
  std::vector<std::string> m_vocab;
  std::vector<float> m_scores;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int, Hash, std::equal_to<>> m_index;  // piece -> lowest id
  std::string m_byte_pieces;  // the 256 single bytes, for <0xHH>
};

}  // namespace fq::llm
