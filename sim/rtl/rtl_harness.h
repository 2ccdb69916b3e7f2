// Helpers for the Verilator testbenches: bit-field access to ports of any width (Verilator maps
// up to 64 bits to integers and wider ports to VlWide word arrays), and a clock step.
#pragma once

#include <verilated.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>

namespace fq::rtl {

template <typename T>
void put(T& port, int bit, int width, uint64_t value) {
  if constexpr (std::is_integral_v<T>) {
    const uint64_t mask = width >= 64 ? ~uint64_t{0} : ((uint64_t{1} << width) - 1);
    uint64_t v = static_cast<uint64_t>(port);
    v = (v & ~(mask << bit)) | ((value & mask) << bit);
    port = static_cast<T>(v);
  } else {  // the part of each 32-bit word the field covers, a word at a time
    for (int b = 0; b < width;) {
      const int at = bit + b, off = at % 32, n = std::min(32 - off, width - b);
      auto& word = port[static_cast<size_t>(at / 32)];
      const uint32_t m = (n == 32 ? ~uint32_t{0} : ((uint32_t{1} << n) - 1)) << off;
      word = (word & ~m) | (static_cast<uint32_t>(value >> b) << off & m);
      b += n;
    }
  }
}

template <typename T>
uint64_t get(const T& port, int bit, int width) {
  if constexpr (std::is_integral_v<T>) {
    const uint64_t mask = width >= 64 ? ~uint64_t{0} : ((uint64_t{1} << width) - 1);
    return (static_cast<uint64_t>(port) >> bit) & mask;
  } else {
    uint64_t v = 0;
    for (int b = 0; b < width;) {
      const int at = bit + b, off = at % 32, n = std::min(32 - off, width - b);
      const uint64_t m = (uint64_t{1} << n) - 1;
      v |= ((static_cast<uint64_t>(port[static_cast<size_t>(at / 32)]) >> off) & m) << b;
      b += n;
    }
    return v;
  }
}

// The number of set bits among the low `width` bits of a port: a word at a time, since the
// harness counts the per-PE activity ports (R x C bits) every cycle.
template <typename T>
uint64_t popcount(const T& port, int width) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<uint64_t>(std::popcount(get(port, 0, width)));
  } else {
    uint64_t n = 0;
    for (int w = 0; w * 32 < width; ++w) {
      const int bits = width - w * 32;
      const uint32_t mask = bits >= 32 ? ~uint32_t{0} : ((uint32_t{1} << bits) - 1);
      n += static_cast<uint64_t>(std::popcount(static_cast<uint32_t>(port[static_cast<size_t>(w)]) & mask));
    }
    return n;
  }
}

inline int64_t sign_extend(uint64_t v, int width) {
  const uint64_t m = uint64_t{1} << (width - 1);
  return static_cast<int64_t>((v ^ m) - m);
}

// Evaluates the combinational logic with the inputs set for this cycle, then one rising edge.
template <typename V>
void tick(V& m) {
  m.clk = 0;
  m.eval();
  m.clk = 1;
  m.eval();
}

}  // namespace fq::rtl
