#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "model/core/atomic_file.h"
#include "model/core/crc32.h"
#include "model/core/error.h"
#include "model/ir/mem_image.h"
#include "support/paths.h"

using namespace fq;
using namespace fq::ir;

namespace {

std::vector<uint8_t> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(size));
}

std::span<const uint8_t> text_bytes(const char* s) {
  return {reinterpret_cast<const uint8_t*>(s), std::char_traits<char>::length(s)};
}

// Three segments with a gap, filled with position-dependent bytes.
MemoryImage sample() {
  MemoryImage m;
  m.arch_fingerprint = "0123456789abcdef";
  const uint64_t a = m.allocate("layers.0.w", 37, 1);
  const uint64_t b = m.allocate("layers.0.a", 20, 64);
  m.add_segment("out", 0x200, 16);
  for (uint64_t i = 0; i < 37; ++i) m.write_u8(a + i, static_cast<uint8_t>(i * 7 + 1));
  for (uint64_t i = 0; i < 20; ++i) m.write_u8(b + i, static_cast<uint8_t>(0xa0 + i));
  m.write_i32(0x200, -2);
  m.write_f32(0x204, 1.5f);
  return m;
}

}  // namespace

SCENARIO("CRC-32 matches the IEEE check values", "[core][crc32]") {
  CHECK(crc32({}) == 0u);
  CHECK(crc32(text_bytes("123456789")) == 0xCBF43926u);
  CHECK(crc32(text_bytes("The quick brown fox jumps over the lazy dog")) == 0x414FA339u);
  GIVEN("a buffer split at every position") {
    std::vector<uint8_t> data(100);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 5);
    const uint32_t whole = crc32(data);
    THEN("chaining the two halves gives the whole CRC") {
      for (size_t cut = 0; cut <= data.size(); ++cut) {
        const std::span<const uint8_t> all(data);
        REQUIRE(crc32(all.subspan(cut), crc32(all.first(cut))) == whole);
      }
    }
  }
}

SCENARIO("CRC-32 of zero runs in closed form equals the byte loop", "[core][crc32]") {
  const std::vector<uint8_t> zeros(200000, 0);
  for (const uint32_t seed : {0u, 1u, 0xCBF43926u, 0xffffffffu}) {
    for (const size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{8}, size_t{63}, size_t{64},
                           size_t{1000}, size_t{65536}, size_t{65537}, size_t{199999}, size_t{200000}}) {
      INFO("seed " << seed << ", " << n << " zeros");
      REQUIRE(crc32_zeros(n, seed) == crc32(std::span<const uint8_t>(zeros.data(), n), seed));
    }
  }
}

SCENARIO("A mostly zero image is written with the same bytes and read back", "[ir][mem]") {
  MemoryImage m;
  m.arch_fingerprint = "0123456789abcdef";
  const uint64_t a = m.allocate("lead", 3);
  const uint64_t z = m.allocate("zeros", 300000);
  const uint64_t mixed = m.allocate("mixed", 200001, 4096);
  const uint64_t tail = m.allocate("tail", 70000);
  m.write_u8(a + 1, 7);
  m.write_u8(mixed + 70000, 9);
  m.write_u8(mixed + 200000, 1);
  (void)z;
  (void)tail;
  const auto path = test::temp_dir("mem_zeros") / "z.mem";
  write_mem(m, path);
  const auto bytes = file_bytes(path);
  CHECK(bytes.size() == std::filesystem::file_size(path));
  const MemoryImage back = read_mem(path);
  CHECK(back == m);
  // The segment CRCs are the byte loop's.
  for (const Segment& s : back.segments()) {
    INFO(s.name);
    CHECK(crc32(std::span<const uint8_t>(s.bytes.data(), s.bytes.size())) ==
          crc32(std::span<const uint8_t>(m.segment(s.name).bytes.data(), s.bytes.size())));
  }
  CHECK(bytes.back() == 0);
  CHECK(back.read_u8(tail + 69999) == 0);
  CHECK(back.read_u8(mixed + 70000) == 9);
}

SCENARIO("Segments are allocated, aligned and accessed through the backdoor", "[ir][mem]") {
  MemoryImage m = sample();
  THEN("allocation follows the highest end at the requested alignment") {
    REQUIRE(m.segments().size() == 3);
    CHECK(m.segment("layers.0.w").base == 0);
    CHECK(m.segment("layers.0.a").base == 64);
    CHECK(m.segment("out").base == 0x200);
    CHECK(m.end_bytes() == 0x210);
    CHECK(m.allocate("next", 8, 256) == 0x300);
    CHECK(m.find("missing") == nullptr);
  }
  THEN("multi-byte values are little-endian") {
    CHECK(m.read_u8(0x200) == 0xfe);
    CHECK(m.read_u8(0x203) == 0xff);
    CHECK(m.read_i32(0x200) == -2);
    CHECK(m.read_f32(0x204) == 1.5f);
    CHECK(m.read_u8(0x206) == 0xc0);  // 1.5f = 0x3fc00000
    m.write_u16(0x208, 0x1234);
    CHECK(m.read_u8(0x208) == 0x34);
    CHECK(m.read_u8(0x209) == 0x12);
    m.write_fp16(0x20a, 0.01f);
    CHECK(m.read_u16(0x20a) == 0x211f);
    CHECK(m.read_fp16(0x20a) == Approx(0.01f).epsilon(1e-3));
  }
  THEN("bytes in gaps read as zero and a read may span segments and gaps") {
    std::vector<uint8_t> buf(10);
    m.read(35, buf);  // 2 bytes of layers.0.w, 26 gap bytes would follow
    CHECK(buf[0] == static_cast<uint8_t>(35 * 7 + 1));
    CHECK(buf[1] == static_cast<uint8_t>(36 * 7 + 1));
    for (size_t i = 2; i < buf.size(); ++i) CHECK(buf[i] == 0);
    std::vector<uint8_t> across(80);
    m.read(0, across);
    CHECK(across[36] == static_cast<uint8_t>(36 * 7 + 1));
    CHECK(across[40] == 0);
    CHECK(across[64] == 0xa0);
    CHECK(m.read_u8(0x1000) == 0);
  }
  THEN("writes outside one segment are refused") {
    CHECK_THROWS_WITH(m.write_u8(40, 1), Catch::Contains("[0x28, +1) is not inside one segment"));
    CHECK_THROWS_AS(m.write_i32(35, 1), Error);        // crosses the end of layers.0.w
    CHECK_THROWS_AS(m.span(0x20e, 4), Error);
    CHECK(m.span(0x20c, 4).size() == 4);
  }
  THEN("bad segments are refused") {
    CHECK_THROWS_WITH(m.add_segment("x", 0x1f8, 16), Catch::Contains("overlaps 'out'"));
    CHECK_THROWS_WITH(m.add_segment("y", 30, 4), Catch::Contains("overlaps 'layers.0.w'"));
    CHECK_THROWS_WITH(m.add_segment("out", 0x400, 4), Catch::Contains("exists already"));
    CHECK_THROWS_WITH(m.add_segment("a b", 0x400, 4), Catch::Contains("not a token"));
    CHECK_THROWS_WITH(m.add_segment("z", 0x400, 0), Catch::Contains("empty"));
    CHECK_THROWS_WITH(m.allocate("z", 4, 3), Catch::Contains("power of two"));
    CHECK_THROWS_AS(m.add_segment("z", ~uint64_t{0} - 2, 4), Error);
  }
}

SCENARIO(".mem files round trip and reject every damaged byte", "[ir][mem]") {
  const auto dir = test::temp_dir("mem_image");
  const auto path = dir / "in.mem";
  const MemoryImage m = sample();
  write_mem(m, path);
  const std::vector<uint8_t> good = file_bytes(path);
  // 32 header + 3 entries (22 fixed + name) + 4 CRC + 73 data bytes
  REQUIRE(good.size() == 32 + (22 + 10) + (22 + 10) + (22 + 3) + 4 + 37 + 20 + 16);
  CHECK_FALSE(std::filesystem::exists(fq::temp_path_for(dir / "in.mem")));

  THEN("reading gives the same image") { CHECK(read_mem(path) == m); }

  THEN("the file is truncated at every offset: each is an error naming the file") {
    const auto cut = dir / "cut.mem";
    for (size_t size = 0; size < good.size(); ++size) {
      put_bytes(cut, good, size);
      INFO("size " << size);
      CHECK_THROWS_WITH(read_mem(cut), Catch::StartsWith(cut.string() + ": "));
    }
  }

  THEN("flipping any bit of any byte is detected") {
    const auto bad = dir / "bad.mem";
    for (size_t at = 0; at < good.size(); ++at) {
      for (const uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}}) {
        auto bytes = good;
        bytes[at] ^= flip;
        put_bytes(bad, bytes, bytes.size());
        INFO("offset " << at << " flip " << int{flip});
        CHECK_THROWS_AS(read_mem(bad), Error);
      }
    }
  }

  THEN("errors name the offset and the cause") {
    const auto bad = dir / "bad.mem";
    auto bytes = good;
    const size_t data_a = good.size() - 16 - 20;  // first byte of segment layers.0.a
    bytes[data_a + 3] ^= 0xff;
    put_bytes(bad, bytes, bytes.size());
    CHECK_THROWS_WITH(read_mem(bad), Catch::Equals(fmt::format("{}: offset {}: segment 'layers.0.a' checksum "
                                                               "mismatch (data corrupt)",
                                                               bad.string(), data_a)));
    bytes = good;
    bytes[8] = 2;  // version
    put_bytes(bad, bytes, bytes.size());
    CHECK_THROWS_WITH(read_mem(bad), Catch::Contains("offset 8: unsupported .mem version 2"));
    bytes = good;
    bytes[0] = 'X';
    put_bytes(bad, bytes, bytes.size());
    CHECK_THROWS_WITH(read_mem(bad), Catch::Contains("offset 0: not a .mem file"));
    put_bytes(bad, good, good.size() - 1);
    CHECK_THROWS_WITH(read_mem(bad), Catch::Contains("describes 73 data bytes but 72 follow"));
    put_bytes(bad, good, 99);
    CHECK_THROWS_WITH(read_mem(bad), Catch::Contains("offset 98: file ends inside a segment name (needs 3 bytes, 1 left)"));
  }

  THEN("absurd lengths are rejected before anything is allocated") {
    const auto bad = dir / "huge.mem";
    auto bytes = good;
    bytes[12] = bytes[13] = bytes[14] = bytes[15] = 0xff;  // 4 G segments
    put_bytes(bad, bytes, bytes.size());
    CHECK_THROWS_WITH(read_mem(bad), Catch::Contains("offset 12: segment count 4294967295 cannot fit"));
    // A last segment of 2^62 bytes with a correct header CRC: the size check against the file stops it.
    bytes = good;
    const size_t size_at = 32 + (22 + 10) + (22 + 10) + 2 + 3 + 8;  // size field of segment 'out'

    for (int i = 0; i < 8; ++i) bytes[size_at + static_cast<size_t>(i)] = i == 7 ? 0x40 : 0;
    const size_t crc_at = good.size() - 73 - 4;
    const uint32_t crc = crc32(std::span<const uint8_t>(bytes.data(), crc_at));
    for (int i = 0; i < 4; ++i) bytes[crc_at + static_cast<size_t>(i)] = static_cast<uint8_t>(crc >> (8 * i));
    put_bytes(bad, bytes, bytes.size());
    CHECK_THROWS_WITH(read_mem(bad), Catch::Contains("describes 4611686018427387961 data bytes but 73 follow"));
  }

  THEN("an image without a fingerprint cannot be written") {
    MemoryImage nofp = m;
    nofp.arch_fingerprint.clear();
    CHECK_THROWS_WITH(write_mem(nofp, dir / "nofp.mem"), Catch::Contains("fingerprint"));
    CHECK_FALSE(std::filesystem::exists(dir / "nofp.mem"));
    CHECK_FALSE(std::filesystem::exists(fq::temp_path_for(dir / "nofp.mem")));
  }

  THEN("an empty image round trips") {
    MemoryImage empty;
    empty.arch_fingerprint = "fedcba9876543210";
    write_mem(empty, dir / "empty.mem");
    CHECK(std::filesystem::file_size(dir / "empty.mem") == 36);
    CHECK(read_mem(dir / "empty.mem") == empty);
  }
}
