// MemoryImage: the accelerator's DRAM as named segments of a flat little-endian byte space,
// and its .mem file (docs/isa.md "Memory image file").
// Contract: segments are disjoint, sorted by base, named by unique tokens; bytes outside every
// segment read as zero and cannot be written. write_mem() writes a temporary file, then renames;
// read_mem() validates every length before allocating, checks a CRC-32 per segment and over
// the header, and names the file and byte offset in every error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fq::ir {

inline constexpr uint32_t kMemVersion = 1;

// A segment's bytes: a fixed-size, zero-filled byte array. The zeros come from calloc, so the
// pages of a large segment that nothing writes (the accumulator and output regions, for an
// engine that moves no data) are never touched: a 7B layer's image is mostly such bytes.
class SegmentBytes {
 public:
  SegmentBytes() = default;
  explicit SegmentBytes(size_t size);  // zero-filled
  SegmentBytes(const SegmentBytes& o);
  SegmentBytes(SegmentBytes&& o) noexcept : m_data(o.m_data), m_size(o.m_size) { o.m_data = nullptr, o.m_size = 0; }
  SegmentBytes& operator=(const SegmentBytes& o);
  SegmentBytes& operator=(SegmentBytes&& o) noexcept;
  ~SegmentBytes();

  size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  uint8_t* data() { return m_data; }
  const uint8_t* data() const { return m_data; }
  uint8_t* begin() { return m_data; }
  uint8_t* end() { return m_data + m_size; }
  const uint8_t* begin() const { return m_data; }
  const uint8_t* end() const { return m_data + m_size; }
  uint8_t& operator[](size_t i) { return m_data[i]; }
  const uint8_t& operator[](size_t i) const { return m_data[i]; }
  bool operator==(const SegmentBytes& o) const;

 private:
  uint8_t* m_data = nullptr;
  size_t m_size = 0;
};

struct Segment {
  std::string name;
  uint64_t base = 0;
  SegmentBytes bytes;

  uint64_t end() const { return base + bytes.size(); }
  bool operator==(const Segment&) const = default;
};

class MemoryImage;
MemoryImage read_mem(const std::filesystem::path& path);

class MemoryImage {
 public:
  std::string arch_fingerprint;  // 16 lowercase hex digits, as in the .tir header

  // A new zero-filled segment at the lowest multiple of `align` (a power of two) at or above
  // end_bytes(); returns its base.
  uint64_t allocate(const std::string& name, uint64_t size_bytes, uint64_t align = 64);
  // A new zero-filled segment at a chosen base; throws if it overlaps another one.
  void add_segment(const std::string& name, uint64_t base, uint64_t size_bytes);

  const std::vector<Segment>& segments() const { return m_segments; }
  const Segment* find(std::string_view name) const;  // nullptr if absent
  const Segment& segment(std::string_view name) const;  // throws if absent
  uint64_t end_bytes() const { return m_segments.empty() ? 0 : m_segments.back().end(); }

  // Backdoor access. read() returns zero for bytes outside every segment; write() and span()
  // need [addr, addr + size) inside one segment and throw fq::Error naming the address otherwise.
  void read(uint64_t addr, std::span<uint8_t> out) const;
  void write(uint64_t addr, std::span<const uint8_t> data);
  std::span<uint8_t> span(uint64_t addr, uint64_t size_bytes);
  std::span<const uint8_t> span(uint64_t addr, uint64_t size_bytes) const;

  uint8_t read_u8(uint64_t addr) const;
  uint16_t read_u16(uint64_t addr) const;
  int32_t read_i32(uint64_t addr) const;
  float read_f32(uint64_t addr) const;
  float read_fp16(uint64_t addr) const;  // FP16 bits at addr, converted to float
  void write_u8(uint64_t addr, uint8_t value);
  void write_u16(uint64_t addr, uint16_t value);
  void write_i32(uint64_t addr, int32_t value);
  void write_f32(uint64_t addr, float value);
  void write_fp16(uint64_t addr, float value);  // rounded to nearest-even FP16

  bool operator==(const MemoryImage&) const = default;

 private:
  friend MemoryImage read_mem(const std::filesystem::path& path);
  Segment* containing(uint64_t addr, uint64_t size_bytes);
  std::vector<Segment> m_segments;
};

void write_mem(const MemoryImage& image, const std::filesystem::path& path);
MemoryImage read_mem(const std::filesystem::path& path);

}  // namespace fq::ir
