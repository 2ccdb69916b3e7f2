#include "model/ir/tir_text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <fstream>
#include <istream>
#include <limits>
#include <ostream>
#include <sstream>
#include <vector>

#include "model/core/atomic_file.h"
#include "model/core/error.h"

namespace fq::ir {
namespace {

constexpr const char* kHeaderComment = "# fqsim tile program (docs/isa.md)";
constexpr size_t kFlushBytes = 1 << 20;
constexpr size_t kMaxLineBytes = 1 << 16;
constexpr size_t kMaxTokens = 24;

constexpr HwFormat kFormats[] = {HwFormat::kFineqR, HwFormat::kInt8, HwFormat::kInt4, HwFormat::kInt3,
                                 HwFormat::kInt2};
constexpr Opcode kOpcodes[] = {Opcode::kDmaLoad,  Opcode::kDmaStore, Opcode::kPreload,
                               Opcode::kMatmul,   Opcode::kOsMatmul, Opcode::kDequant};
constexpr Buffer kBuffers[] = {Buffer::kWbuf, Buffer::kAbuf, Buffer::kObuf, Buffer::kSbuf};

// Names as views, so that comparing and appending them needs no strlen.
const auto kFieldNames = [] {
  std::array<std::string_view, kNumFields> names{};
  for (int f = 0; f < kNumFields; ++f) names[static_cast<size_t>(f)] = field_name(static_cast<Field>(f));
  return names;
}();
const auto kOpcodeNames = [] {
  std::array<std::string_view, kNumOpcodes> names{};
  for (int o = 0; o < kNumOpcodes; ++o) names[static_cast<size_t>(o)] = opcode_name(static_cast<Opcode>(o));
  return names;
}();
std::string_view name_of(Field f) { return kFieldNames[static_cast<size_t>(f)]; }

bool valid_opcode(Opcode op) { return static_cast<int>(op) < kNumOpcodes; }
bool valid_format(HwFormat f) { return std::find(std::begin(kFormats), std::end(kFormats), f) != std::end(kFormats); }

bool is_fingerprint(std::string_view s) {
  if (s.size() != 16) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// ---------------------------------------------------------------------------------------------
// Printer.

// Buffered writer: characters go straight into a fixed buffer (no per-character capacity
// check, numbers converted in place), flushed to the stream in large blocks.
class Writer {
 public:
  explicit Writer(std::ostream& out) : m_out(out), m_buf(kFlushBytes + 4096) {}
  ~Writer() = default;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void text(std::string_view s) {
    room(s.size());
    std::memcpy(m_buf.data() + m_pos, s.data(), s.size());
    m_pos += s.size();
  }
  void ch(char c) {
    room(1);
    m_buf[m_pos++] = c;
  }
  void dec(uint64_t v) { number(v, 10); }
  void hex(uint64_t v) {
    text("0x");
    number(v, 16);
  }
  void end_line() {
    ch('\n');
    if (m_pos >= kFlushBytes) flush();
  }
  void flush() {
    m_out.write(m_buf.data(), static_cast<std::streamsize>(m_pos));
    m_pos = 0;
  }

 private:
  // Makes room for n more characters: flushes, and grows the buffer only for a longer piece.
  void room(size_t n) {
    if (m_pos + n <= m_buf.size()) return;
    flush();
    if (n > m_buf.size()) m_buf.resize(n);
  }
  void number(uint64_t v, int base) {
    room(24);  // 20 decimal or 16 hex digits at most
    char* begin = m_buf.data() + m_pos;
    m_pos += static_cast<size_t>(std::to_chars(begin, begin + 24, v, base).ptr - begin);
  }
  std::ostream& m_out;
  std::vector<char> m_buf;
  size_t m_pos = 0;
};

void print_gemm(Writer& w, size_t index, const GemmDesc& g) {
  if (!is_token(g.name)) fail("tile program: gemm {} name '{}' is not a token", index, g.name);
  if (!valid_format(g.format)) fail("tile program: gemm {} has invalid format {}", index, static_cast<int>(g.format));
  w.text("gemm ");
  w.dec(index);
  w.text(" name=");
  w.text(g.name);
  w.text(" format=");
  w.text(format_name(g.format));
  w.text(" m=");
  w.dec(g.m);
  w.text(" n=");
  w.dec(g.n);
  w.text(" k=");
  w.dec(g.k);
  w.text(" w_addr=");
  w.hex(g.w_addr);
  w.text(" ws_addr=");
  w.hex(g.ws_addr);
  w.text(" a_addr=");
  w.hex(g.a_addr);
  w.text(" a_stride=");
  w.dec(g.a_stride);
  w.text(" as_addr=");
  w.hex(g.as_addr);
  w.text(" acc_addr=");
  w.hex(g.acc_addr);
  w.text(" y_addr=");
  w.hex(g.y_addr);
  w.end_line();
}

// ---------------------------------------------------------------------------------------------
// Parser.

// Lines from a stream (read in large blocks) or from a string held by the caller.
class LineReader {
 public:
  LineReader(std::istream& in, const std::string& origin) : m_in(&in), m_origin(origin) {
    m_buf.resize(kFlushBytes);
  }
  LineReader(std::string_view text, const std::string& origin) : m_origin(origin), m_view(text) {}

  // The next line without its '\n'; false at the end. The view is valid until the next call.
  bool next(std::string_view& line) {
    for (;;) {
      const size_t nl = m_view.find('\n', m_pos);
      if (nl != std::string_view::npos) {
        line = m_view.substr(m_pos, nl - m_pos);
        m_pos = nl + 1;
        ++m_line;
        return true;
      }
      if (m_in == nullptr || m_eof) {
        if (m_pos >= m_view.size()) return false;
        line = m_view.substr(m_pos);
        m_pos = m_view.size();
        ++m_line;
        return true;
      }
      refill();
    }
  }
  size_t line_number() const { return m_line; }
  const std::string& origin() const { return m_origin; }

 private:
  void refill() {
    const size_t rest = m_view.size() - m_pos;
    if (rest > kMaxLineBytes) fail("{}:{}: line longer than {} bytes", m_origin, m_line + 1, kMaxLineBytes);
    std::memmove(m_buf.data(), m_buf.data() + m_pos, rest);
    m_in->read(m_buf.data() + rest, static_cast<std::streamsize>(m_buf.size() - rest));
    const auto got = static_cast<size_t>(m_in->gcount());
    if (m_in->bad()) fail("{}: read error after line {}", m_origin, m_line);
    if (got == 0 || m_in->eof()) m_eof = true;
    m_view = std::string_view(m_buf.data(), rest + got);
    m_pos = 0;
  }

  std::istream* m_in = nullptr;
  std::string m_origin;
  std::string m_buf;
  std::string_view m_view;
  size_t m_pos = 0;
  size_t m_line = 0;
  bool m_eof = false;
};

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

class Parser {
 public:
  explicit Parser(LineReader& reader) : m_reader(reader) {}

  TileProgram run() {
    std::string_view line;
    while (m_reader.next(line)) {
      tokenize(line);
      if (m_count == 0) continue;
      switch (m_state) {
        case State::kVersion: parse_version(); break;
        case State::kArch: parse_arch(); break;
        case State::kGemms: parse_gemm_or_ops(); break;
        case State::kOps: parse_op(); break;
        case State::kDone: error("unexpected line after the last op", m_tok[0]);
      }
    }
    if (m_state != State::kDone) {
      const char* missing = m_state == State::kVersion ? "missing 'fqtir' version line"
                            : m_state == State::kArch  ? "missing 'arch' line"
                            : m_state == State::kGemms ? "missing 'ops' line"
                                                       : nullptr;
      if (missing != nullptr) fail("{}:{}: {}", m_reader.origin(), m_reader.line_number(), missing);
      fail("{}:{}: file ends after {} of {} ops", m_reader.origin(), m_reader.line_number(), m_program.size(),
           m_expected_ops);
    }
    return std::move(m_program);
  }

 private:
  enum class State { kVersion, kArch, kGemms, kOps, kDone };

  [[noreturn]] void error(std::string_view what, std::string_view token) const {
    constexpr size_t kShown = 60;
    const std::string shown = token.size() > kShown ? std::string(token.substr(0, kShown)) + "..." : std::string(token);
    fail("{}:{}: {}: '{}'", m_reader.origin(), m_reader.line_number(), what, shown);
  }

  void tokenize(std::string_view line) {
    m_count = 0;
    size_t i = 0;
    const size_t n = line.size();
    while (i < n) {
      const char c = line[i];
      if (c == '#') break;
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < n && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '#') ++j;
      if (m_count == kMaxTokens) error("too many tokens on one line", line.substr(i, j - i));
      m_tok[m_count++] = line.substr(i, j - i);
      i = j;
    }
  }

  // Splits `key=value`; the token itself is named in the error.
  void split(std::string_view token, std::string_view& key, std::string_view& value) const {
    const size_t eq = token.find('=');
    if (eq == std::string_view::npos || eq == 0) error("expected key=value", token);
    key = token.substr(0, eq);
    value = token.substr(eq + 1);
  }

  uint64_t number(std::string_view token, std::string_view value, uint64_t max) const {
    uint64_t v = 0;
    if (!parse_u64(value, v)) error("expected a decimal or 0x-hex unsigned integer", token);
    if (v > max) error(fmt::format("value exceeds {}", max), token);
    return v;
  }

  void parse_version() {
    if (m_tok[0] != "fqtir") error("expected 'fqtir <version>' as the first line", m_tok[0]);
    if (m_count != 2) error("expected 'fqtir <version>'", m_count > 2 ? m_tok[2] : m_tok[0]);
    uint64_t v = 0;
    if (!parse_u64(m_tok[1], v)) error("expected a version number", m_tok[1]);
    if (v != static_cast<uint64_t>(kTirVersion)) {
      error(fmt::format("unsupported fqtir version (this reader knows {})", kTirVersion), m_tok[1]);
    }
    m_program.version = kTirVersion;
    m_state = State::kArch;
  }

  void parse_arch() {
    if (m_tok[0] != "arch") error("expected 'arch fingerprint=<16 hex> name=<name>'", m_tok[0]);
    bool have_fp = false;
    bool have_name = false;
    for (size_t t = 1; t < m_count; ++t) {
      std::string_view key, value;
      split(m_tok[t], key, value);
      if (key == "fingerprint" && !have_fp) {
        if (!is_fingerprint(value)) error("fingerprint must be 16 lowercase hex digits", m_tok[t]);
        m_program.arch_fingerprint = std::string(value);
        have_fp = true;
      } else if (key == "name" && !have_name) {
        if (!is_token(value)) error("arch name must be 1..255 printable characters", m_tok[t]);
        m_program.arch_name = std::string(value);
        have_name = true;
      } else {
        error(key == "fingerprint" || key == "name" ? "duplicate key" : "unknown key in 'arch' line", m_tok[t]);
      }
    }
    if (!have_fp) error("missing fingerprint=", m_tok[0]);
    if (!have_name) error("missing name=", m_tok[0]);
    m_state = State::kGemms;
  }

  void parse_gemm_or_ops() {
    if (m_tok[0] == "ops") {
      if (m_count != 2) error("expected 'ops <count>'", m_count > 2 ? m_tok[2] : m_tok[0]);
      m_expected_ops = number(m_tok[1], m_tok[1], std::numeric_limits<uint32_t>::max() - 1);
      // The count is not checked against the input yet: a lying count reserves at most 4096 ops
      // (a few hundred KB, also under `ulimit -v`); longer programs grow the vectors as they go.
      const uint64_t reserve = std::min<uint64_t>(m_expected_ops, uint64_t{1} << 12);
      m_program.reserve(reserve, reserve);
      m_state = m_expected_ops == 0 ? State::kDone : State::kOps;
      return;
    }
    if (m_tok[0] != "gemm") error("expected a 'gemm' or 'ops' line", m_tok[0]);
    if (m_count < 2) error("expected 'gemm <index> key=value ...'", m_tok[0]);
    uint64_t index = 0;
    if (!parse_u64(m_tok[1], index)) error("expected a gemm index", m_tok[1]);
    if (index != m_program.gemms.size()) {
      error(fmt::format("gemm index out of sequence (expected {})", m_program.gemms.size()), m_tok[1]);
    }
    static constexpr std::string_view kKeys[] = {"name",   "format",   "m",        "n",        "k",
                                                 "w_addr", "ws_addr",  "a_addr",   "a_stride", "as_addr",
                                                 "acc_addr", "y_addr"};
    constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
    constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();
    GemmDesc g;
    uint32_t seen = 0;
    for (size_t t = 2; t < m_count; ++t) {
      std::string_view key, value;
      split(m_tok[t], key, value);
      size_t f = 0;
      while (f < std::size(kKeys) && kKeys[f] != key) ++f;
      if (f == std::size(kKeys)) error("unknown key in 'gemm' line", m_tok[t]);
      if (seen & (1u << f)) error("duplicate key", m_tok[t]);
      seen |= 1u << f;
      switch (f) {
        case 0:
          if (!is_token(value)) error("gemm name must be 1..255 printable characters", m_tok[t]);
          g.name = std::string(value);
          break;
        case 1: {
          size_t i = 0;
          while (i < std::size(kFormats) && format_name(kFormats[i]) != value) ++i;
          if (i == std::size(kFormats)) error("unknown weight format (fineq_r, int8, int4, int3, int2)", m_tok[t]);
          g.format = kFormats[i];
          break;
        }
        case 2: g.m = static_cast<uint32_t>(number(m_tok[t], value, kU32)); break;
        case 3: g.n = static_cast<uint32_t>(number(m_tok[t], value, kU32)); break;
        case 4: g.k = static_cast<uint32_t>(number(m_tok[t], value, kU32)); break;
        case 5: g.w_addr = number(m_tok[t], value, kU64); break;
        case 6: g.ws_addr = number(m_tok[t], value, kU64); break;
        case 7: g.a_addr = number(m_tok[t], value, kU64); break;
        case 8: g.a_stride = static_cast<uint32_t>(number(m_tok[t], value, kU32)); break;
        case 9: g.as_addr = number(m_tok[t], value, kU64); break;
        case 10: g.acc_addr = number(m_tok[t], value, kU64); break;
        default: g.y_addr = number(m_tok[t], value, kU64); break;
      }
    }
    for (size_t f = 0; f < std::size(kKeys); ++f) {
      if (!(seen & (1u << f))) error(fmt::format("missing key '{}'", kKeys[f]), m_tok[0]);
    }
    m_program.gemms.push_back(std::move(g));
  }

  void parse_op() {
    if (m_count < 2) error("expected '<id> <opcode> key=value ...'", m_tok[0]);
    uint64_t id = 0;
    if (!parse_u64(m_tok[0], id)) error("expected an op id", m_tok[0]);
    if (id != m_program.size()) error(fmt::format("op id out of sequence (expected {})", m_program.size()), m_tok[0]);
    const std::string_view name = m_tok[1];
    size_t o = 0;
    while (o < std::size(kOpcodes) && kOpcodeNames[static_cast<size_t>(kOpcodes[o])] != name) ++o;
    if (o == std::size(kOpcodes)) error("unknown opcode", name);
    TileOp op;
    op.opcode = kOpcodes[o];
    const std::span<const Field> fields = op_fields(op.opcode);
    uint32_t seen = 0;
    size_t expect = 0;  // canonical order makes the first guess right for printed text
    bool have_deps = false;
    m_deps.clear();
    for (size_t t = 2; t < m_count; ++t) {
      std::string_view key, value;
      split(m_tok[t], key, value);
      if (key == "deps") {
        if (have_deps) error("duplicate key", m_tok[t]);
        have_deps = true;
        parse_deps(m_tok[t], value);
        continue;
      }
      size_t f = expect < fields.size() && key == name_of(fields[expect]) ? expect : fields.size();
      if (f == fields.size()) {
        for (f = 0; f < fields.size() && key != name_of(fields[f]); ++f) {
        }
      }
      if (f == fields.size()) error(fmt::format("unknown field for {}", name), m_tok[t]);
      if (seen & (1u << f)) error("duplicate key", m_tok[t]);
      seen |= 1u << f;
      expect = f + 1;
      const Field field = fields[f];
      if (field == Field::kBuf) {
        size_t b = 0;
        while (b < std::size(kBuffers) && buffer_name(kBuffers[b]) != value) ++b;
        if (b == std::size(kBuffers)) error("unknown buffer (wbuf, abuf, obuf, sbuf)", m_tok[t]);
        op.buf = kBuffers[b];
      } else {
        set_field(op, field, number(m_tok[t], value, field_max(field)));
      }
    }
    for (size_t f = 0; f < fields.size(); ++f) {
      if (!(seen & (1u << f))) error(fmt::format("missing field '{}'", field_name(fields[f])), name);
    }
    m_program.add(op, m_deps);
    if (m_program.size() == m_expected_ops) m_state = State::kDone;
  }

  void parse_deps(std::string_view token, std::string_view list) {
    if (list.empty()) error("empty deps list (omit deps= instead)", token);
    size_t i = 0;
    for (;;) {
      const size_t comma = list.find(',', i);
      const std::string_view item = list.substr(i, comma == std::string_view::npos ? list.size() - i : comma - i);
      uint64_t v = 0;
      if (!parse_u64(item, v) || v > std::numeric_limits<uint32_t>::max()) {
        error("deps must be a comma separated list of op ids", token);
      }
      m_deps.push_back(static_cast<OpId>(v));
      if (comma == std::string_view::npos) break;
      i = comma + 1;
    }
  }

  LineReader& m_reader;
  TileProgram m_program;
  State m_state = State::kVersion;
  uint64_t m_expected_ops = 0;
  std::array<std::string_view, kMaxTokens> m_tok{};
  size_t m_count = 0;
  std::vector<OpId> m_deps;
};

// One op's line without the newline: `<id> <opcode> field=value ... [deps=...]`.
void print_op(Writer& w, const TileProgram& program, OpId id) {
  const TileOp& op = program.op(id);
  if (!valid_opcode(op.opcode)) fail("tile program: op {} has invalid opcode {}", id, static_cast<int>(op.opcode));
  w.dec(id);
  w.ch(' ');
  w.text(kOpcodeNames[static_cast<size_t>(op.opcode)]);
  for (const Field f : op_fields(op.opcode)) {
    w.ch(' ');
    w.text(name_of(f));
    w.ch('=');
    const uint64_t v = get_field(op, f);
    if (v > field_max(f)) fail("tile program: op {} field {} = {} is out of range", id, field_name(f), v);
    if (f == Field::kBuf) {
      w.text(buffer_name(op.buf));
    } else if (field_is_address(f)) {
      w.hex(v);
    } else {
      w.dec(v);
    }
  }
  const auto deps = program.deps(id);
  if (!deps.empty()) {
    w.text(" deps=");
    for (size_t i = 0; i < deps.size(); ++i) {
      if (i) w.ch(',');
      w.dec(deps[i]);
    }
  }
}

}  // namespace

void print_tir(const TileProgram& program, std::ostream& out) {
  if (program.version != kTirVersion) fail("tile program: cannot print version {}", program.version);
  if (!is_fingerprint(program.arch_fingerprint)) {
    fail("tile program: arch fingerprint '{}' is not 16 lowercase hex digits", program.arch_fingerprint);
  }
  if (!is_token(program.arch_name)) fail("tile program: arch name '{}' is not a token", program.arch_name);
  Writer w(out);
  w.text("fqtir ");
  w.dec(static_cast<uint64_t>(kTirVersion));
  w.end_line();
  w.text(kHeaderComment);
  w.end_line();
  w.text("arch fingerprint=");
  w.text(program.arch_fingerprint);
  w.text(" name=");
  w.text(program.arch_name);
  w.end_line();
  for (size_t g = 0; g < program.gemms.size(); ++g) print_gemm(w, g, program.gemms[g]);
  w.text("ops ");
  w.dec(program.size());
  w.end_line();
  for (OpId id = 0; id < program.size(); ++id) {
    print_op(w, program, id);
    w.end_line();
  }
  w.flush();
}

std::string tir_op_line(const TileProgram& program, OpId id) {
  std::ostringstream out;
  Writer w(out);
  print_op(w, program, id);
  w.flush();
  return std::move(out).str();
}

std::string to_tir_text(const TileProgram& program) {
  std::ostringstream out;
  print_tir(program, out);
  return std::move(out).str();
}

void write_tir(const TileProgram& program, const std::filesystem::path& path) {
  write_file_atomically(path, [&](std::ostream& out) { print_tir(program, out); });
}

TileProgram parse_tir(std::istream& in, const std::string& origin) {
  LineReader reader(in, origin);
  return Parser(reader).run();
}

TileProgram parse_tir_text(std::string_view text, const std::string& origin) {
  LineReader reader(text, origin);
  return Parser(reader).run();
}

TileProgram read_tir(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  return parse_tir(in, path.string());
}

}  // namespace fq::ir
