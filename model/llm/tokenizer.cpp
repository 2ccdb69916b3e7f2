#include "model/llm/tokenizer.h"

#include "model/core/error.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <queue>
#include <sstream>

namespace fq::llm {
namespace {

int32_t read_i32(std::string_view bytes, size_t offset) {
  int32_t v;
  std::memcpy(&v, bytes.data() + offset, 4);
  return v;
}

float read_f32(std::string_view bytes, size_t offset) {
  float v;
  std::memcpy(&v, bytes.data() + offset, 4);
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// run.c's sscanf(piece, "<0x%02hhX>", &b) == 1 for the pieces a tokenizer holds: "<0x" and one or
// two hex digits.
int byte_of_piece(std::string_view p) {
  if (p.size() < 4 || p.substr(0, 3) != "<0x") return -1;
  const int hi = hex_digit(p[3]);
  if (hi < 0) return -1;
  const int lo = p.size() > 4 ? hex_digit(p[4]) : -1;
  return lo < 0 ? hi : hi * 16 + lo;
}

// Scores at or below this never merge: run.c starts its search from best_score = -1e10 with ">".
constexpr float kNoMerge = -1e10f;

}  // namespace

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot open the tokenizer: {}", path.string(), ec.message());
  // A tokenizer is small (tok512 6 KB, the 32000-token one 424 KB); refuse what cannot be one
  // before reading it whole.
  if (size > (uint64_t{1} << 30)) fail("{}: {} bytes is too large for a tokenizer file", path.string(), size);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the tokenizer", path.string());
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) fail("{}: cannot read {} bytes", path.string(), size);
  return parse(bytes, path.string());
}

Tokenizer Tokenizer::parse(std::string_view bytes, const std::string& name) {
  Tokenizer t;
  t.m_name = name;
  if (bytes.size() < 4) fail("{}: offset 0: {} bytes, too short for the max_token_length header", name, bytes.size());
  const int32_t max_len = read_i32(bytes, 0);
  if (max_len <= 0) fail("{}: offset 0: max_token_length {} must be positive", name, max_len);
  t.m_max_token_length = max_len;
  size_t off = 4;
  while (off < bytes.size()) {
    const int id = static_cast<int>(t.m_vocab.size());
    if (bytes.size() - off < 8) {
      fail("{}: offset {}: token {}: {} bytes left, a record needs a score and a length (8 bytes)", name, off, id,
           bytes.size() - off);
    }
    const float score = read_f32(bytes, off);
    if (std::isnan(score)) fail("{}: offset {}: token {}: merge score is NaN", name, off, id);
    const int32_t len = read_i32(bytes, off + 4);
    if (len < 0) fail("{}: offset {}: token {}: negative length {}", name, off + 4, id, len);
    if (len > max_len) {
      fail("{}: offset {}: token {}: length {} exceeds max_token_length {}", name, off + 4, id, len, max_len);
    }
    if (static_cast<uint64_t>(len) > bytes.size() - off - 8) {
      fail("{}: offset {}: token {}: length {} runs past the end of the file ({} bytes)", name, off + 4, id, len,
           bytes.size());
    }
    t.m_scores.push_back(score);
    t.m_vocab.emplace_back(bytes.substr(off + 8, static_cast<size_t>(len)));
    off += 8 + static_cast<size_t>(len);
  }
  if (t.m_vocab.size() < 3) fail("{}: {} tokens; a tokenizer needs at least <unk>, BOS and EOS", name, t.m_vocab.size());
  for (int id = 0; id < t.vocab_size(); ++id) t.m_index.emplace(t.m_vocab[static_cast<size_t>(id)], id);
  t.m_byte_pieces.resize(256);
  for (int b = 0; b < 256; ++b) t.m_byte_pieces[static_cast<size_t>(b)] = static_cast<char>(b);
  return t;
}

const std::string& Tokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size()) fail("{}: token id {} is outside the vocabulary [0, {})", m_name, id, vocab_size());
  return m_vocab[static_cast<size_t>(id)];
}

float Tokenizer::score(int id) const {
  piece(id);
  return m_scores[static_cast<size_t>(id)];
}

int Tokenizer::lookup(std::string_view s) const {
  const auto it = m_index.find(s);
  return it == m_index.end() ? -1 : it->second;
}

std::vector<int> Tokenizer::encode(std::string_view text, bool bos, bool eos) const {
  std::vector<int> ids;
  ids.reserve(text.size() + 3);
  if (bos) ids.push_back(1);
  const auto byte_token = [&](unsigned char b) {
    const int id = b + 3;
    if (id >= vocab_size()) fail("{}: byte 0x{:02X} has no token (vocabulary of {})", m_name, b, vocab_size());
    return id;
  };
  if (!text.empty()) {
    const int space = lookup(" ");
    // Without " " the dummy prefix is the byte token of ' ', which a small vocabulary lacks too.
    ids.push_back(space >= 0 ? space : byte_token(' '));
  }
  // Code points as run.c groups them: a non-continuation byte starts a new group, and a group
  // ends before a byte that is not a continuation byte or once it holds four bytes.
  size_t start = 0, len = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      start = i;
      len = 0;
    } else if (len == 0) {
      start = i;
    }
    ++len;
    const bool next_continues =
        i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80;
    if (next_continues && len < 4) continue;
    const std::string_view cp = text.substr(start, len);
    if (const int id = lookup(cp); id >= 0) {
      ids.push_back(id);
    } else {
      for (const char b : cp) ids.push_back(byte_token(static_cast<unsigned char>(b)));
    }
    len = 0;
  }

  // Merging on a doubly linked list. A queue entry is a candidate pair (left node, its right
  // neighbour) with the stamps both nodes had when it was pushed; a merge bumps the left node's
  // stamp and kills the right one, so stale entries are recognised and skipped. The queue
  // orders by score, then by the left node's original position: the list keeps positions in
  // order, so this is run.c's "first index with the highest score".
  const int n = static_cast<int>(ids.size());
  std::vector<int> prev(static_cast<size_t>(n)), next(static_cast<size_t>(n)), stamp(static_cast<size_t>(n), 0);
  std::vector<bool> alive(static_cast<size_t>(n), true);
  for (int i = 0; i < n; ++i) {
    prev[static_cast<size_t>(i)] = i - 1;
    next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    float score;
    int left, right, merged, left_stamp, right_stamp;
  };
  const auto worse = [](const Cand& a, const Cand& b) {
    if (a.score != b.score) return a.score < b.score;
    return a.left > b.left;
  };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> queue(worse);
  std::string buf;
  const auto consider = [&](int left) {
    if (left < 0) return;
    const int right = next[static_cast<size_t>(left)];
    if (right < 0) return;
    const auto& a = m_vocab[static_cast<size_t>(ids[static_cast<size_t>(left)])];
    const auto& b = m_vocab[static_cast<size_t>(ids[static_cast<size_t>(right)])];
    buf.assign(a);
    buf.append(b);
    const int id = lookup(buf);
    if (id < 0) return;
    const float s = m_scores[static_cast<size_t>(id)];
    if (!(s > kNoMerge)) return;
    queue.push({s, left, right, id, stamp[static_cast<size_t>(left)], stamp[static_cast<size_t>(right)]});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Cand c = queue.top();
    queue.pop();
    const auto l = static_cast<size_t>(c.left), r = static_cast<size_t>(c.right);
    if (!alive[l] || !alive[r] || next[l] != c.right || stamp[l] != c.left_stamp || stamp[r] != c.right_stamp) {
      continue;
    }
    ids[l] = c.merged;
    ++stamp[l];
    alive[r] = false;
    next[l] = next[r];
    if (next[r] >= 0) prev[static_cast<size_t>(next[r])] = c.left;
    consider(prev[l]);
    consider(c.left);
  }
  std::vector<int> out;
  out.reserve(static_cast<size_t>(n) + 1);
  for (int i = n > 0 ? 0 : -1; i >= 0; i = next[static_cast<size_t>(i)]) out.push_back(ids[static_cast<size_t>(i)]);
  if (eos) out.push_back(kEosToken);
  return out;
}

std::string_view Tokenizer::decode_piece(int prev, int token) const {
  std::string_view p = piece(token);
  if (prev == 1 && !p.empty() && p.front() == ' ') p.remove_prefix(1);
  if (const int b = byte_of_piece(p); b >= 0) return std::string_view(m_byte_pieces).substr(static_cast<size_t>(b), 1);
  return p;
}

std::string Tokenizer::decode(std::span<const int> tokens, int prev) const {
  std::string text;
  for (const int t : tokens) {
    text.append(decode_piece(prev, t));
    prev = t;
  }
  return text;
}

}  // namespace fq::llm
