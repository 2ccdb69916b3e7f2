// bench_rtl: Verilated simulation speed of the full-size arrays (33 x 32 temporal, 32 x 32 INT8
// MAC): rows stream back to back through fq_array with weights preloaded, as in a matmul.
// Prints cycles/s and PE-cycles/s (R x C per cycle). Built on request (it Verilates two large
// arrays): cmake --build build --target bench_rtl && build/bin/bench_rtl
#include "Vbench_arr_m32x32.h"
#include "Vbench_arr_t33x32.h"
#include "sim/rtl/rtl_harness.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>

namespace {

template <typename V>
void run(const char* name, int R, int C, int W, int qw, uint64_t cycles) {
  V m;
  m.w_clear = 0;
  m.in_valid = 0;
  m.beat_start = 1;
  m.beat_end = 1;
  m.advance = 1;  // the grid runs throughout (the valid histories shift every beat)
  m.rst = 0;
  m.phase = 0;
  m.w_en = 1;
  m.w_tag = 0;
  m.w_cols = ~decltype(+m.w_cols){0};
  for (int i = 0; i < R; ++i) {  // weights 1, -1, 2, ... in every column
    m.w_row = static_cast<uint32_t>(i);
    for (int j = 0; j < C; ++j) fq::rtl::put(m.w_data, j * qw, qw, static_cast<uint64_t>(((i + j) % 3) - 1));
    fq::rtl::tick(m);
  }
  m.w_en = 0;
  uint64_t x = 1;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t c = 0; c < cycles; ++c) {
    const int phase = static_cast<int>(c % static_cast<uint64_t>(W));
    m.phase = static_cast<uint8_t>(phase);
    m.beat_start = phase == 0;
    m.beat_end = phase == W - 1;
    m.in_valid = 1;
    m.in_tag = 0;
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    for (int i = 0; i < R; i += 8) fq::rtl::put(m.in_row, 8 * i, 8 * std::min(8, R - i), x);
    fq::rtl::tick(m);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("{:<28} {:>7} {:>10} {:>8.2f} {:>12.3f} {:>14.3f}\n", name, fmt::format("{}x{}", R, C), cycles, s,
             static_cast<double>(cycles) / s / 1e6, static_cast<double>(cycles) * R * C / s / 1e9);
}

}  // namespace

int main() {
  fmt::print("{:<28} {:>7} {:>10} {:>8} {:>12} {:>14}\n", "Verilated fq_array", "array", "cycles", "wall s",
             "M cycles/s", "G PE-cycles/s");
  run<Vbench_arr_t33x32>("temporal (W = 4)", 33, 32, 4, 4, 400000);
  run<Vbench_arr_m32x32>("INT8 MAC", 32, 32, 1, 8, 400000);
  return 0;
}
