// Helpers for the Verilator testbenches: bit-field access to ports of any width (Verilator maps
// up to 64 bits to integers and wider ports to VlWide word arrays), and a clock step.
#pragma once

#include <verilated.h>

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
  } else {
    for (int b = 0; b < width; ++b) {
      const int at = bit + b;
      auto& word = port[static_cast<size_t>(at / 32)];
      const uint32_t m = uint32_t{1} << (at % 32);
      word = ((value >> b) & 1) ? (word | m) : (word & ~m);
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
    for (int b = 0; b < width; ++b) {
      const int at = bit + b;
      v |= static_cast<uint64_t>((port[static_cast<size_t>(at / 32)] >> (at % 32)) & 1U) << b;
    }
    return v;
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
