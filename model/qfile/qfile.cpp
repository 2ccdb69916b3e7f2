#include "model/qfile/qfile.h"

#include "model/core/atomic_file.h"
#include "model/core/crc32.h"
#include "model/core/error.h"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <limits>

namespace fq {
namespace {

constexpr std::array<char, 8> kMagic = {'F', 'Q', 'S', 'I', 'M', '.', 'Q', '\0'};
constexpr std::array<char, 8> kEndMagic = {'F', 'Q', 'Q', '-', 'E', 'N', 'D', '\0'};
constexpr uint64_t kHeaderBytes = 64;
constexpr uint64_t kFooterBytes = 32;
constexpr uint64_t kAlign = 64;
constexpr size_t kMaxText = 4096;     // longest name, method, parameter key or value
constexpr uint32_t kMaxParams = 256;  // per tensor

void put_u16(std::string& s, uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
void put_text(std::string& s, const std::string& t, const std::string& what) {
  if (t.size() > kMaxText) fail("{} is {} bytes long (at most {})", what, t.size(), kMaxText);
  put_u16(s, static_cast<uint16_t>(t.size()));
  s += t;
}

uint32_t crc_of(const void* data, size_t bytes) {
  return crc32(std::span<const uint8_t>(static_cast<const uint8_t*>(data), bytes));
}

std::string directory_bytes(const std::vector<QTensorInfo>& entries) {
  std::string d;
  put_u32(d, static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) {
    put_text(d, e.name, "tensor name");
    put_text(d, e.method, "method name");
    put_u16(d, static_cast<uint16_t>(e.params.size()));
    for (const auto& [k, v] : e.params) {
      put_text(d, k, "parameter key");
      put_text(d, v, "parameter value");
    }
    d.push_back(static_cast<char>(e.format));
    d.append(3, '\0');
    put_u32(d, static_cast<uint32_t>(e.rows));
    put_u32(d, static_cast<uint32_t>(e.cols));
    put_u32(d, static_cast<uint32_t>(e.cols_padded));
    put_u32(d, static_cast<uint32_t>(e.group_size));
    put_u64(d, e.codes_offset);
    put_u64(d, e.code_bytes);
    put_u64(d, e.scales_offset);
    put_u64(d, e.scale_count);
    put_u32(d, e.codes_crc);
    put_u32(d, e.scales_crc);
  }
  return d;
}

std::string header_bytes() {
  std::string h(kMagic.begin(), kMagic.end());
  put_u16(h, kQFileMajor);
  put_u16(h, kQFileMinor);
  h.resize(kHeaderBytes, '\0');
  return h;
}

// Reads a .q file's fixed parts with bounds checks; every message names the file and offset.
class Reader {
 public:
  explicit Reader(const std::filesystem::path& path) : m_path(path.string()), m_in(path, std::ios::binary) {
    if (!m_in) fail("{}: cannot open the file", m_path);
    m_in.seekg(0, std::ios::end);
    m_size = static_cast<uint64_t>(m_in.tellg());
  }

  [[noreturn]] void error(uint64_t offset, const std::string& what) const {
    fail("{}: offset {}: {}", m_path, offset, what);
  }

  std::string read_at(uint64_t offset, uint64_t bytes, const char* what) {
    if (offset > m_size || bytes > m_size - offset) {
      error(offset, fmt::format("{} of {} bytes runs past the end of the file ({} bytes)", what, bytes, m_size));
    }
    std::string s(static_cast<size_t>(bytes), '\0');
    m_in.seekg(static_cast<std::streamoff>(offset));
    m_in.read(s.data(), static_cast<std::streamsize>(bytes));
    if (!m_in) error(offset, fmt::format("cannot read {}", what));
    return s;
  }

  std::vector<QTensorInfo> index() {
    if (m_size < kHeaderBytes + kFooterBytes) {
      error(0, fmt::format("file of {} bytes is shorter than a header and footer ({} bytes): not a complete .q file",
                           m_size, kHeaderBytes + kFooterBytes));
    }
    const std::string header = read_at(0, kHeaderBytes, "header");
    if (std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) error(0, "bad magic: not an fqsim .q file");
    uint16_t major = 0, minor = 0;
    std::memcpy(&major, header.data() + 8, 2);
    std::memcpy(&minor, header.data() + 10, 2);
    if (major != kQFileMajor) {
      error(8, fmt::format("version {}.{} is not supported (this reader: {}.x)", major, minor, kQFileMajor));
    }
    const uint64_t foot = m_size - kFooterBytes;
    const std::string footer = read_at(foot, kFooterBytes, "footer");
    if (std::memcmp(footer.data() + 24, kEndMagic.data(), kEndMagic.size()) != 0) {
      error(foot + 24, "footer magic missing: the file is truncated or was not finished");
    }
    uint64_t dir_offset = 0, dir_bytes = 0;
    uint32_t dir_crc = 0, header_crc = 0;
    std::memcpy(&dir_offset, footer.data(), 8);
    std::memcpy(&dir_bytes, footer.data() + 8, 8);
    std::memcpy(&dir_crc, footer.data() + 16, 4);
    std::memcpy(&header_crc, footer.data() + 20, 4);
    if (crc_of(header.data(), header.size()) != header_crc) error(0, "header CRC mismatch");
    if (dir_offset < kHeaderBytes || dir_offset > foot || dir_bytes != foot - dir_offset) {
      error(foot, fmt::format("directory offset {} and size {} do not fit between the header and the footer at {}",
                              dir_offset, dir_bytes, foot));
    }
    const std::string dir = read_at(dir_offset, dir_bytes, "directory");
    if (crc_of(dir.data(), dir.size()) != dir_crc) {
      error(dir_offset, fmt::format("directory CRC mismatch (stored 0x{:08x}, computed 0x{:08x})", dir_crc,
                                    crc_of(dir.data(), dir.size())));
    }
    return parse_directory(dir, dir_offset);
  }

  std::vector<uint8_t> section(uint64_t offset, uint64_t bytes, uint32_t crc, const std::string& what) {
    const std::string s = read_at(offset, bytes, what.c_str());
    const uint32_t got = crc_of(s.data(), s.size());
    if (got != crc) error(offset, fmt::format("{} CRC mismatch (stored 0x{:08x}, computed 0x{:08x})", what, crc, got));
    return std::vector<uint8_t>(s.begin(), s.end());
  }

  const std::string& path() const { return m_path; }

 private:
  std::vector<QTensorInfo> parse_directory(const std::string& d, uint64_t base) {
    size_t pos = 0;
    auto need = [&](size_t n, const char* what) {
      if (n > d.size() - pos) error(base + pos, fmt::format("directory ends inside {}", what));
    };
    auto u16 = [&](const char* what) {
      need(2, what);
      uint16_t v;
      std::memcpy(&v, d.data() + pos, 2);
      pos += 2;
      return v;
    };
    auto u32 = [&](const char* what) {
      need(4, what);
      uint32_t v;
      std::memcpy(&v, d.data() + pos, 4);
      pos += 4;
      return v;
    };
    auto u64 = [&](const char* what) {
      need(8, what);
      uint64_t v;
      std::memcpy(&v, d.data() + pos, 8);
      pos += 8;
      return v;
    };
    auto text = [&](const char* what) {
      const uint16_t n = u16(what);
      if (n > kMaxText) error(base + pos - 2, fmt::format("{} length {} exceeds {}", what, n, kMaxText));
      need(n, what);
      std::string s = d.substr(pos, n);
      pos += n;
      return s;
    };
    const uint32_t count = u32("tensor count");
    // Each entry takes at least 64 bytes: a count beyond that cannot be honest.
    if (count > d.size() / 64) error(base, fmt::format("tensor count {} is larger than the directory can hold", count));
    std::vector<QTensorInfo> out;
    std::set<std::string> names;
    for (uint32_t t = 0; t < count; ++t) {
      const uint64_t at = base + pos;
      QTensorInfo e;
      e.name = text("tensor name");
      const std::string who = fmt::format("tensor {} '{}'", t, e.name);
      if (e.name.empty() || !names.insert(e.name).second) error(at, fmt::format("{}: empty or duplicate name", who));
      e.method = text("method name");
      const uint16_t params = u16("parameter count");
      if (params > kMaxParams) error(base + pos - 2, fmt::format("{}: {} parameters (at most {})", who, params, kMaxParams));
      for (uint16_t p = 0; p < params; ++p) {
        std::string k = text("parameter key");
        e.params[k] = text("parameter value");
      }
      need(4, "format");
      const auto format = static_cast<uint8_t>(d[pos]);
      pos += 4;
      if (format < 1 || format > kLastHwFormat) error(base + pos - 4, fmt::format("{}: unknown weight format {}", who, format));
      e.format = static_cast<HwFormat>(format);
      const uint64_t shape_at = base + pos;
      const uint32_t rows = u32("rows"), cols = u32("cols"), padded = u32("cols_padded"), group = u32("group_size");
      if (rows == 0 || cols == 0 || rows > (1u << 30) || cols > (1u << 30) || padded > (1u << 30) ||
          group > (1u << 30)) {
        error(shape_at, fmt::format("{}: implausible shape [{}, {}] (padded {}, group {})", who, rows, cols, padded, group));
      }
      e.rows = static_cast<int>(rows);
      e.cols = static_cast<int>(cols);
      e.cols_padded = static_cast<int>(padded);
      e.group_size = static_cast<int>(group);
      e.codes_offset = u64("codes offset");
      e.code_bytes = u64("code bytes");
      e.scales_offset = u64("scales offset");
      e.scale_count = u64("scale count");
      e.codes_crc = u32("codes CRC");
      e.scales_crc = u32("scales CRC");
      // The shape decides the section sizes; a lying length field is caught here, before reading.
      EncodedMatrix shape;
      shape.format = e.format;
      shape.rows = e.rows;
      shape.cols = e.cols;
      shape.cols_padded = e.cols_padded;
      shape.group_size = e.group_size;
      const uint64_t want_codes = uint64_t{rows} * static_cast<uint64_t>(shape.row_bytes());
      const uint64_t want_scales = uint64_t{rows} * static_cast<uint64_t>(group ? shape.scale_groups() : 1);
      if (e.code_bytes != want_codes || e.scale_count != want_scales) {
        error(shape_at, fmt::format("{}: sections of {} code bytes and {} scales do not match shape [{}, {}] ({} and {})",
                                    who, e.code_bytes, e.scale_count, rows, cols, want_codes, want_scales));
      }
      const uint64_t dir = base;
      if (e.codes_offset < kHeaderBytes || e.codes_offset > dir || e.code_bytes > dir - e.codes_offset ||
          e.scales_offset < kHeaderBytes || e.scales_offset > dir || 2 * e.scale_count > dir - e.scales_offset) {
        error(shape_at, fmt::format("{}: data sections lie outside the data area [{}, {})", who, kHeaderBytes, dir));
      }
      out.push_back(std::move(e));
    }
    if (pos != d.size()) error(base + pos, fmt::format("{} unexpected bytes after the last directory entry", d.size() - pos));
    return out;
  }

  std::string m_path;
  std::ifstream m_in;
  uint64_t m_size = 0;
};

QTensor load(Reader& r, const QTensorInfo& e) {
  QTensor t;
  t.name = e.name;
  t.method = e.method;
  t.params = e.params;
  auto& m = t.matrix;
  m.format = e.format;
  m.rows = e.rows;
  m.cols = e.cols;
  m.cols_padded = e.cols_padded;
  m.group_size = e.group_size;
  m.codes = r.section(e.codes_offset, e.code_bytes, e.codes_crc, fmt::format("tensor '{}' codes", e.name));
  const auto raw = r.section(e.scales_offset, 2 * e.scale_count, e.scales_crc, fmt::format("tensor '{}' scales", e.name));
  m.scales.resize(e.scale_count);
  std::memcpy(m.scales.data(), raw.data(), raw.size());
  try {
    validate(m, fmt::format("tensor '{}'", e.name));
  } catch (const Error& err) {
    fail("{}: offset {}: {}", r.path(), e.codes_offset, err.what());
  }
  return t;
}

}  // namespace

QFileWriter::QFileWriter(std::filesystem::path path) : m_path(std::move(path)), m_tmp(temp_path_for(m_path)) {
  remove_stale_temps(m_path);
  m_out.open(m_tmp, std::ios::binary | std::ios::trunc);
  if (!m_out) fail("{}: cannot create the file", m_tmp.string());
  const std::string h = header_bytes();
  write(h.data(), h.size());
}

QFileWriter::~QFileWriter() {
  if (m_finished) return;
  m_out.close();
  std::error_code ec;
  std::filesystem::remove(m_tmp, ec);
}

void QFileWriter::write(const void* data, uint64_t bytes) {
  m_out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!m_out) fail("{}: write failed at offset {}", m_tmp.string(), m_offset);
  m_offset += bytes;
}

void QFileWriter::align() {
  static const std::array<char, kAlign> zeros{};
  if (m_offset % kAlign) write(zeros.data(), kAlign - m_offset % kAlign);
}

void QFileWriter::add(const QTensor& t) {
  if (m_finished) fail("{}: add() after finish()", m_path.string());
  validate(t.matrix, fmt::format("{}: tensor '{}'", m_path.string(), t.name));
  if (t.name.empty() || !m_names.insert(t.name).second) {
    fail("{}: tensor name '{}' is empty or already used", m_path.string(), t.name);
  }
  const auto& m = t.matrix;
  QTensorInfo e{t.name, t.method, t.params, m.format, m.rows, m.cols, m.cols_padded, m.group_size};
  directory_bytes({e});  // checks every text length before anything is written
  align();
  e.codes_offset = m_offset;
  e.code_bytes = m.codes.size();
  e.codes_crc = crc32(m.codes);
  write(m.codes.data(), m.codes.size());
  align();
  e.scales_offset = m_offset;
  e.scale_count = m.scales.size();
  e.scales_crc = crc_of(m.scales.data(), 2 * m.scales.size());
  write(m.scales.data(), 2 * m.scales.size());
  m_entries.push_back(std::move(e));
}

void QFileWriter::finish() {
  align();
  const std::string dir = directory_bytes(m_entries);
  const uint64_t dir_offset = m_offset;
  write(dir.data(), dir.size());
  std::string footer;
  put_u64(footer, dir_offset);
  put_u64(footer, dir.size());
  put_u32(footer, crc_of(dir.data(), dir.size()));
  const std::string h = header_bytes();
  put_u32(footer, crc_of(h.data(), h.size()));
  footer.append(kEndMagic.begin(), kEndMagic.end());
  write(footer.data(), footer.size());
  m_out.close();
  if (!m_out) fail("{}: closing failed", m_tmp.string());
  std::error_code ec;
  std::filesystem::rename(m_tmp, m_path, ec);
  if (ec) fail("{}: cannot rename to {}: {}", m_tmp.string(), m_path.string(), ec.message());
  m_finished = true;
}

void write_qfile(const std::filesystem::path& path, const std::vector<QTensor>& tensors) {
  QFileWriter w(path);
  for (const auto& t : tensors) w.add(t);
  w.finish();
}

std::vector<QTensorInfo> read_qfile_index(const std::filesystem::path& path) { return Reader(path).index(); }

QTensor read_qtensor(const std::filesystem::path& path, const std::string& name) {
  Reader r(path);
  const auto entries = r.index();
  std::string names;
  for (const auto& e : entries) {
    if (e.name == name) return load(r, e);
    if (names.size() < 200) names += (names.empty() ? "" : ", ") + e.name;
  }
  fail("{}: no tensor named '{}' (tensors: {}{})", path.string(), name, names, names.size() >= 200 ? ", ..." : "");
}

std::vector<QTensor> read_qfile(const std::filesystem::path& path) {
  Reader r(path);
  std::vector<QTensor> out;
  for (const auto& e : r.index()) out.push_back(load(r, e));
  return out;
}

}  // namespace fq
