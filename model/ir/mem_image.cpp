#include "model/ir/mem_image.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <fstream>

#include "model/core/crc32.h"
#include "model/core/atomic_file.h"
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/ir/tile_program.h"

namespace fq::ir {
namespace {

constexpr char kMagic[8] = {'F', 'Q', 'M', 'E', 'M', 'I', 'M', 'G'};
constexpr size_t kHeaderBytes = 32;       // magic, version, count, fingerprint
constexpr size_t kEntryFixedBytes = 22;   // u16 name length, u64 base, u64 size, u32 crc
constexpr size_t kMaxNameBytes = 255;

bool is_fingerprint(std::string_view s) {
  return s.size() == 16 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

constexpr uint64_t kZeroBlock = 64 * 1024;

bool all_zero(std::span<const uint8_t> b) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    acc |= w;
  }
  for (; i < b.size(); ++i) acc |= b[i];
  return acc == 0;
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Sequential reader that knows the file size, so no length is trusted before it is checked.
class FileCursor {
 public:
  explicit FileCursor(const std::filesystem::path& path) : m_path(path.string()), m_in(path, std::ios::binary) {
    if (!m_in) fail("{}: cannot open", m_path);
    std::error_code ec;
    m_size = std::filesystem::file_size(path, ec);
    if (ec) fail("{}: cannot determine size: {}", m_path, ec.message());
  }

  uint64_t offset() const { return m_offset; }
  uint64_t remaining() const { return m_size - m_offset; }

  // Reads n bytes; they are appended to `seen` (the CRC input) when given.
  void read(uint8_t* out, uint64_t n, const char* what, std::string* seen = nullptr) {
    if (n > remaining()) {
      error("file ends inside {} (needs {} bytes, {} left)", what, n, remaining());
    }
    m_in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
    if (static_cast<uint64_t>(m_in.gcount()) != n) error("read error in {}", what);
    if (seen != nullptr) seen->append(reinterpret_cast<const char*>(out), n);
    m_offset += n;
  }

  template <typename... Args>
  [[noreturn]] void error_at(uint64_t offset, fmt::format_string<Args...> f, Args&&... args) const {
    fail("{}: offset {}: {}", m_path, offset, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> f, Args&&... args) const {
    error_at(m_offset, f, std::forward<Args>(args)...);
  }

 private:
  std::string m_path;
  std::ifstream m_in;
  uint64_t m_size = 0;
  uint64_t m_offset = 0;
};

}  // namespace

SegmentBytes::SegmentBytes(size_t size) {
  if (size == 0) return;
  m_data = static_cast<uint8_t*>(std::calloc(size, 1));
  if (m_data == nullptr) throw std::bad_alloc();
  m_size = size;
}

SegmentBytes::SegmentBytes(const SegmentBytes& o) : SegmentBytes() {
  if (o.m_size == 0) return;
  m_data = static_cast<uint8_t*>(std::malloc(o.m_size));
  if (m_data == nullptr) throw std::bad_alloc();
  m_size = o.m_size;
  std::memcpy(m_data, o.m_data, m_size);
}

SegmentBytes& SegmentBytes::operator=(const SegmentBytes& o) {
  if (this != &o) *this = SegmentBytes(o);
  return *this;
}

SegmentBytes& SegmentBytes::operator=(SegmentBytes&& o) noexcept {
  if (this != &o) {
    std::free(m_data);
    m_data = std::exchange(o.m_data, nullptr);
    m_size = std::exchange(o.m_size, 0);
  }
  return *this;
}

SegmentBytes::~SegmentBytes() { std::free(m_data); }

bool SegmentBytes::operator==(const SegmentBytes& o) const {
  return m_size == o.m_size && (m_size == 0 || std::memcmp(m_data, o.m_data, m_size) == 0);
}

uint64_t MemoryImage::allocate(const std::string& name, uint64_t size_bytes, uint64_t align) {
  if (align == 0 || !std::has_single_bit(align)) fail("memory image: alignment {} of '{}' is not a power of two", align, name);
  const uint64_t end = end_bytes();
  uint64_t base = 0;
  if (__builtin_add_overflow(end, align - 1, &base)) fail("memory image: no room for '{}'", name);
  base &= ~(align - 1);
  add_segment(name, base, size_bytes);
  return base;
}

void MemoryImage::add_segment(const std::string& name, uint64_t base, uint64_t size_bytes) {
  if (!is_token(name)) fail("memory image: segment name '{}' is not a token", name);
  if (find(name) != nullptr) fail("memory image: segment '{}' exists already", name);
  if (size_bytes == 0) fail("memory image: segment '{}' is empty", name);
  uint64_t end = 0;
  if (__builtin_add_overflow(base, size_bytes, &end)) fail("memory image: segment '{}' wraps around", name);
  if (size_bytes > (uint64_t{1} << 40)) fail("memory image: segment '{}' of {} bytes is too large", name, size_bytes);
  auto it = std::upper_bound(m_segments.begin(), m_segments.end(), base,
                             [](uint64_t b, const Segment& s) { return b < s.base; });
  if (it != m_segments.end() && it->base < end) {
    fail("memory image: segment '{}' [0x{:x}, 0x{:x}) overlaps '{}'", name, base, end, it->name);
  }
  if (it != m_segments.begin() && std::prev(it)->end() > base) {
    fail("memory image: segment '{}' [0x{:x}, 0x{:x}) overlaps '{}'", name, base, end, std::prev(it)->name);
  }
  Segment s;
  s.name = name;
  s.base = base;
  s.bytes = SegmentBytes(size_bytes);
  m_segments.insert(it, std::move(s));
}

const Segment* MemoryImage::find(std::string_view name) const {
  for (const Segment& s : m_segments) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const Segment& MemoryImage::segment(std::string_view name) const {
  const Segment* s = find(name);
  if (s == nullptr) fail("memory image: no segment '{}'", name);
  return *s;
}

Segment* MemoryImage::containing(uint64_t addr, uint64_t size_bytes) {
  auto it = std::upper_bound(m_segments.begin(), m_segments.end(), addr,
                             [](uint64_t a, const Segment& s) { return a < s.base; });
  if (it == m_segments.begin()) return nullptr;
  Segment& s = *std::prev(it);
  if (addr - s.base > s.bytes.size() || size_bytes > s.bytes.size() - (addr - s.base)) return nullptr;
  return &s;
}

void MemoryImage::read(uint64_t addr, std::span<uint8_t> out) const {
  std::fill(out.begin(), out.end(), uint8_t{0});
  uint64_t end = 0;
  if (__builtin_add_overflow(addr, out.size(), &end)) end = ~uint64_t{0};
  auto it = std::upper_bound(m_segments.begin(), m_segments.end(), addr,
                             [](uint64_t a, const Segment& s) { return a < s.base; });
  if (it != m_segments.begin()) --it;
  for (; it != m_segments.end() && it->base < end; ++it) {
    const uint64_t lo = std::max(addr, it->base);
    const uint64_t hi = std::min(end, it->end());
    if (lo < hi) std::memcpy(out.data() + (lo - addr), it->bytes.data() + (lo - it->base), hi - lo);
  }
}

void MemoryImage::write(uint64_t addr, std::span<const uint8_t> data) {
  const auto dst = span(addr, data.size());
  if (!data.empty()) std::memcpy(dst.data(), data.data(), data.size());
}

std::span<uint8_t> MemoryImage::span(uint64_t addr, uint64_t size_bytes) {
  Segment* s = containing(addr, size_bytes);
  if (s == nullptr) fail("memory image: [0x{:x}, +{}) is not inside one segment", addr, size_bytes);
  return {s->bytes.data() + (addr - s->base), size_bytes};
}

std::span<const uint8_t> MemoryImage::span(uint64_t addr, uint64_t size_bytes) const {
  return const_cast<MemoryImage*>(this)->span(addr, size_bytes);
}

uint8_t MemoryImage::read_u8(uint64_t addr) const {
  uint8_t b[1];
  read(addr, b);
  return b[0];
}
uint16_t MemoryImage::read_u16(uint64_t addr) const {
  uint8_t b[2];
  read(addr, b);
  return static_cast<uint16_t>(get_le(b, 2));
}
int32_t MemoryImage::read_i32(uint64_t addr) const {
  uint8_t b[4];
  read(addr, b);
  return static_cast<int32_t>(static_cast<uint32_t>(get_le(b, 4)));
}
float MemoryImage::read_f32(uint64_t addr) const {
  uint8_t b[4];
  read(addr, b);
  return std::bit_cast<float>(static_cast<uint32_t>(get_le(b, 4)));
}
float MemoryImage::read_fp16(uint64_t addr) const { return fp16_to_float(read_u16(addr)); }

void MemoryImage::write_u8(uint64_t addr, uint8_t value) { span(addr, 1)[0] = value; }
void MemoryImage::write_u16(uint64_t addr, uint16_t value) {
  auto d = span(addr, 2);
  d[0] = static_cast<uint8_t>(value & 0xffu);
  d[1] = static_cast<uint8_t>(value >> 8);
}
void MemoryImage::write_i32(uint64_t addr, int32_t value) {
  auto d = span(addr, 4);
  const auto u = static_cast<uint32_t>(value);
  for (size_t i = 0; i < 4; ++i) d[i] = static_cast<uint8_t>((u >> (8 * i)) & 0xffu);
}
void MemoryImage::write_f32(uint64_t addr, float value) { write_i32(addr, std::bit_cast<int32_t>(value)); }
void MemoryImage::write_fp16(uint64_t addr, float value) { write_u16(addr, fp16_from_float(value)); }

void write_mem(const MemoryImage& image, const std::filesystem::path& path) {
  if (!is_fingerprint(image.arch_fingerprint)) {
    fail("{}: arch fingerprint '{}' is not 16 lowercase hex digits", path.string(), image.arch_fingerprint);
  }
  std::string head(kMagic, sizeof kMagic);
  put_le(head, kMemVersion, 4);
  put_le(head, image.segments().size(), 4);
  head += image.arch_fingerprint;
  // Segments are mostly zeros (accumulators, outputs): they are scanned in blocks once, all-zero
  // blocks enter the CRC by crc32_zeros() and are left as holes in the file (seeked over, read
  // back as zeros), so the file's bytes are the same and the zeros are never copied.
  std::vector<std::vector<bool>> zero_blocks(image.segments().size());
  for (size_t i = 0; i < image.segments().size(); ++i) {
    const Segment& s = image.segments()[i];
    put_le(head, s.name.size(), 2);
    head += s.name;
    put_le(head, s.base, 8);
    put_le(head, s.bytes.size(), 8);
    uint32_t crc = 0;
    for (uint64_t at = 0; at < s.bytes.size(); at += kZeroBlock) {
      const auto block = std::span<const uint8_t>(s.bytes.data() + at, std::min<uint64_t>(kZeroBlock, s.bytes.size() - at));
      const bool zero = all_zero(block);
      zero_blocks[i].push_back(zero);
      crc = zero ? crc32_zeros(block.size(), crc) : crc32(block, crc);
    }
    put_le(head, crc, 4);
  }
  put_le(head, crc32(as_bytes(head)), 4);

  write_file_atomically(path, [&](std::ostream& out) {
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    uint64_t hole = 0;  // zero bytes seeked over, not written yet
    for (size_t i = 0; i < image.segments().size(); ++i) {
      const Segment& s = image.segments()[i];
      for (uint64_t at = 0, b = 0; at < s.bytes.size(); at += kZeroBlock, ++b) {
        const uint64_t len = std::min<uint64_t>(kZeroBlock, s.bytes.size() - at);
        if (zero_blocks[i][b]) {
          hole += len;
          continue;
        }
        if (hole > 0) out.seekp(static_cast<std::streamoff>(hole), std::ios::cur);
        hole = 0;
        out.write(reinterpret_cast<const char*>(s.bytes.data() + at), static_cast<std::streamsize>(len));
      }
    }
    if (hole > 0) {  // the file must still end after the last zero
      out.seekp(static_cast<std::streamoff>(hole - 1), std::ios::cur);
      out.put('\0');
    }
  });
}

MemoryImage read_mem(const std::filesystem::path& path) {
  FileCursor in(path);
  std::string seen;  // every byte before the header CRC
  uint8_t header[kHeaderBytes];
  in.read(header, sizeof header, "the header", &seen);
  if (std::memcmp(header, kMagic, sizeof kMagic) != 0) in.error_at(0, "not a .mem file (bad magic)");
  const auto version = static_cast<uint32_t>(get_le(header + 8, 4));
  if (version != kMemVersion) in.error_at(8, "unsupported .mem version {} (this reader knows {})", version, kMemVersion);
  const auto count = static_cast<uint32_t>(get_le(header + 12, 4));
  if (count > in.remaining() / kEntryFixedBytes) {
    in.error_at(12, "segment count {} cannot fit in the {} bytes that follow", count, in.remaining());
  }
  MemoryImage image;
  image.arch_fingerprint.assign(reinterpret_cast<const char*>(header + 16), 16);
  if (!is_fingerprint(image.arch_fingerprint)) in.error_at(16, "arch fingerprint is not 16 lowercase hex digits");

  struct Entry {
    uint64_t size;
    uint32_t crc;
    uint64_t table_offset;
  };
  std::vector<Entry> entries;
  entries.reserve(count);
  std::vector<Segment> segments;
  segments.reserve(count);
  uint64_t data_bytes = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t at = in.offset();
    uint8_t len_bytes[2];
    in.read(len_bytes, 2, "a segment name length", &seen);
    const auto len = static_cast<size_t>(get_le(len_bytes, 2));
    if (len == 0 || len > kMaxNameBytes) in.error_at(at, "segment {} name length {} is not 1..255", i, len);
    std::string name(len, '\0');
    in.read(reinterpret_cast<uint8_t*>(name.data()), len, "a segment name", &seen);
    if (!is_token(name)) in.error_at(at + 2, "segment {} name is not a token", i);
    uint8_t fixed[20];
    in.read(fixed, sizeof fixed, "a segment table entry", &seen);
    const uint64_t base = get_le(fixed, 8);
    const uint64_t size = get_le(fixed + 8, 8);
    uint64_t end = 0;
    if (size == 0 || __builtin_add_overflow(base, size, &end)) {
      in.error_at(at + 2 + len, "segment '{}' has an invalid extent (base 0x{:x}, {} bytes)", name, base, size);
    }
    // The previous segment's bytes are not read yet (its end() is its base): compare with its
    // table extent.
    if (!segments.empty() && base < segments.back().base + entries.back().size) {
      in.error_at(at + 2 + len, "segment '{}' at 0x{:x} is not above the previous segment's end 0x{:x}", name, base,
                  segments.back().base + entries.back().size);
    }
    for (const Segment& s : segments) {
      if (s.name == name) in.error_at(at + 2, "duplicate segment name '{}'", name);
    }
    if (__builtin_add_overflow(data_bytes, size, &data_bytes)) in.error_at(at + 2 + len + 8, "segment sizes overflow");
    entries.push_back({size, static_cast<uint32_t>(get_le(fixed + 16, 4)), at});
    Segment s;
    s.name = std::move(name);
    s.base = base;
    segments.push_back(std::move(s));
  }
  const uint64_t crc_at = in.offset();
  uint8_t crc_bytes[4];
  in.read(crc_bytes, 4, "the header checksum");
  if (static_cast<uint32_t>(get_le(crc_bytes, 4)) != crc32(as_bytes(seen))) {
    in.error_at(crc_at, "header checksum mismatch (header or segment table corrupt)");
  }
  if (data_bytes != in.remaining()) {
    in.error("the segment table describes {} data bytes but {} follow", data_bytes, in.remaining());
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t at = in.offset();
    segments[i].bytes = SegmentBytes(entries[i].size);
    in.read(segments[i].bytes.data(), entries[i].size, "segment data");
    if (crc32(segments[i].bytes) != entries[i].crc) {
      in.error_at(at, "segment '{}' checksum mismatch (data corrupt)", segments[i].name);
    }
  }
  image.m_segments = std::move(segments);  // sorted, disjoint and uniquely named: checked above
  return image;
}

}  // namespace fq::ir
