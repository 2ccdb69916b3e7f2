// fuzz_mem: a .mem DRAM image is read, read through the backdoor accessors, written back and read
// again unchanged; the same bytes with the header and segment CRCs recomputed are read again, so
// the parser behind the checksums is searched too. Layout: docs/isa.md "Memory image file".
#include "fuzz/targets.h"

#include "model/core/crc32.h"
#include "model/core/error.h"
#include "model/ir/mem_image.h"

#include <vector>

namespace fq::fuzz {
namespace {

uint64_t get(const std::vector<uint8_t>& b, uint64_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{b[at + static_cast<uint64_t>(i)]} << (8 * i);
  return v;
}
void put32(std::vector<uint8_t>& b, uint64_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<uint64_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

// Walks the segment table (32-byte header, then per segment u16 name length, name, u64 base,
// u64 size, u32 CRC, then the header CRC and the data in table order) and recomputes every CRC
// whose bytes lie in the file.
}  // namespace

std::vector<uint8_t> mem_with_crcs_repaired(std::vector<uint8_t> b) {
  const uint64_t size = b.size();
  if (size < 32) return b;
  const uint64_t count = get(b, 12, 4);
  uint64_t pos = 32;
  std::vector<std::pair<uint64_t, uint64_t>> entries;  // CRC field offset, segment size
  for (uint64_t i = 0; i < count; ++i) {
    if (size - pos < 2) return b;
    const uint64_t len = get(b, pos, 2);
    if (size - pos - 2 < len + 20) return b;
    pos += 2 + len;
    entries.emplace_back(pos + 16, get(b, pos + 8, 8));
    pos += 20;
  }
  if (size - pos < 4) return b;
  const uint64_t crc_at = pos;
  uint64_t data = pos + 4;
  for (const auto& [field, bytes] : entries) {
    if (bytes > size - data) break;
    put32(b, field, crc32(std::span<const uint8_t>(b.data() + data, static_cast<size_t>(bytes))));
    data += bytes;
  }
  put32(b, crc_at, crc32(std::span<const uint8_t>(b.data(), static_cast<size_t>(crc_at))));
  return b;
}

namespace {

void run(const std::vector<uint8_t>& bytes) {
  ir::MemoryImage image;
  try {
    image = ir::read_mem(as_file(bytes, ".in.mem"));
  } catch (const Error&) {
    return;
  }
  // The contract (mem_image.h): segments sorted by base and disjoint.
  for (size_t i = 1; i < image.segments().size(); ++i) {
    if (image.segments()[i].base < image.segments()[i - 1].end()) broken("read_mem accepted overlapping segments");
  }
  // The first consumer: the engines read words through the backdoor, inside and between segments.
  for (const auto& s : image.segments()) {
    (void)image.read_u8(s.base);
    (void)image.read_i32(s.end() - 1);
    (void)image.read_fp16(s.end() - 2);
    (void)image.span(s.base, s.bytes.size());
  }
  const auto out = scratch_path(".out.mem");
  ir::write_mem(image, out);
  if (!(ir::read_mem(out) == image)) broken("the image changed in a write/read round trip");
}

}  // namespace

int mem(const uint8_t* data, size_t size) { return run_raw_and_repaired(data, size, run, mem_with_crcs_repaired); }

}  // namespace fq::fuzz
