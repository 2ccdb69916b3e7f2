#include "model/core/crc32.h"

#include <array>

namespace fq {
namespace {

// Slice-by-8 tables: kTables[0] is the classic byte table; kTables[t][b] advances a byte
// followed by t zero bytes, so eight input bytes are folded per step.
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    t[0][b] = c;
  }
  for (size_t s = 1; s < 8; ++s) {
    for (uint32_t b = 0; b < 256; ++b) t[s][b] = (t[s - 1][b] >> 8) ^ t[0][t[s - 1][b] & 0xffu];
  }
  return t;
}

constexpr auto kTables = make_tables();

// A linear map of the 32-bit register: column i is the image of bit i.
using Gf2Matrix = std::array<uint32_t, 32>;

uint32_t times(const Gf2Matrix& m, uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; v != 0; ++i, v >>= 1) {
    if (v & 1u) r ^= m[static_cast<size_t>(i)];
  }
  return r;
}

// kZeros[j]: the register after 2^j zero bytes.
const std::array<Gf2Matrix, 64>& zero_powers() {
  static const auto powers = [] {
    std::array<Gf2Matrix, 64> z{};
    for (uint32_t i = 0; i < 32; ++i) {
      const uint32_t c = 1u << i;
      z[0][i] = (c >> 8) ^ kTables[0][c & 0xffu];
    }
    for (size_t j = 1; j < 64; ++j) {
      for (size_t i = 0; i < 32; ++i) z[j][i] = times(z[j - 1], z[j - 1][i]);
    }
    return z;
  }();
  return powers;
}

}  // namespace

uint32_t crc32_zeros(uint64_t n, uint32_t seed) {
  uint32_t c = ~seed;
  const auto& z = zero_powers();
  for (size_t j = 0; n != 0; ++j, n >>= 1) {
    if (n & 1u) c = times(z[j], c);
  }
  return ~c;
}

uint32_t crc32(std::span<const uint8_t> data, uint32_t seed) {
  uint32_t c = ~seed;
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    const uint32_t lo = c ^ (static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                             static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24);
    c = kTables[7][lo & 0xffu] ^ kTables[6][(lo >> 8) & 0xffu] ^ kTables[5][(lo >> 16) & 0xffu] ^
        kTables[4][lo >> 24] ^ kTables[3][p[4]] ^ kTables[2][p[5]] ^ kTables[1][p[6]] ^ kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xffu];
  return ~c;
}

}  // namespace fq
