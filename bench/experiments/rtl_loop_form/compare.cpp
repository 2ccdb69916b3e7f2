// Drives the generate-form rtl/fq_array.v (Vgen) and the loop-form fqy_array.v (Vloop), both 33 x 32
// temporal, with the same random stimulus and compares every output in every cycle; then times
// each alone as bench/bench_rtl.cpp does (rows streaming, W = 4). Built by run.sh.
#include "Vgen.h"
#include "Vloop.h"
#include "sim/rtl/rtl_harness.h"
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstring>
static uint64_t x = 88172645463325252ull;
static uint64_t rnd() { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; }
template <typename A, typename B> bool same(const A& a, const B& b, int width) {
  for (int i = 0; i < width; i += 32) if (fq::rtl::get(a, i, std::min(32, width - i)) != fq::rtl::get(b, i, std::min(32, width - i))) return false;
  return true;
}
template <typename V> void drive(V& m, int R, int C, int W, uint64_t c, bool preload, uint64_t r1, uint64_t r2) {
  m.rst = 0;
  const int phase = int(c % W);
  m.phase = phase; m.beat_start = phase == 0; m.beat_end = phase == W - 1; m.advance = 1;
  m.in_valid = (r1 & 7) != 0; m.in_tag = (r1 >> 3) & 1;
  for (int i = 0; i < R; i += 8) fq::rtl::put(m.in_row, 8 * i, 8 * std::min(8, R - i), r2);
  m.w_clear = preload && ((r1 >> 4) & 31) == 0; m.w_en = preload && ((r1 >> 9) & 1);
  m.w_tag = (r1 >> 10) & 1; m.w_row = (r1 >> 11) % R;
  m.w_cols = 0; for (int j = 0; j < C; j += 32) fq::rtl::put(m.w_cols, j, std::min(32, C - j), r2 ^ (r2 >> 17));
  for (int j = 0; j < C; j += 16) fq::rtl::put(m.w_data, 4 * j, 4 * std::min(16, C - j), r2 * 0x9E3779B97F4A7C15ull);
}
int main(int argc, char** argv) {
  const int R = 33, C = 32;
  uint64_t ncmp = argc > 1 ? strtoull(argv[1], 0, 10) : 20000;
  { Vgen a; Vloop b; a.rst = 1; b.rst = 1; fq::rtl::tick(a); fq::rtl::tick(b);
    for (uint64_t c = 0; c < ncmp; ++c) {
      const int W = 1 + int((c / 5000) % 4) * 2 - ((c/5000)%4==3);  // 1,3,5,6
      uint64_t r1 = rnd(), r2 = rnd();
      bool preload = (c / 700) % 3 == 0;
      drive(a, R, C, W, c, preload, r1, r2); drive(b, R, C, W, c, preload, r1, r2);
      a.eval(); b.eval();
      bool ok = a.out_valid == b.out_valid && a.out_tag == b.out_tag && same(a.out_row, b.out_row, 32 * C) &&
                same(a.pulses, b.pulses, R * C) && same(a.pe_valid, b.pe_valid, R * C) && same(a.psum_we, b.psum_we, R * C) &&
                same(a.opnd_we, b.opnd_we, R * C) && same(a.valid_we, b.valid_we, R * C) && same(a.w_we, b.w_we, R * C) &&
                a.skew_we == b.skew_we && a.deskew_we == b.deskew_we;
      if (!ok) { printf("MISMATCH at cycle %llu\n", (unsigned long long)c); return 1; }
      fq::rtl::tick(a); fq::rtl::tick(b);
    }
    printf("equal over %llu cycles\n", (unsigned long long)ncmp);
  }
  auto bench = [&](auto& m, const char* name) {
    m.w_clear = 0; m.in_valid = 0; m.beat_start = 1; m.beat_end = 1; m.advance = 1; m.rst = 0; m.phase = 0; m.w_en = 1; m.w_tag = 0;
    for (int j = 0; j < C; j += 32) fq::rtl::put(m.w_cols, j, 32, ~0u);
    for (int i = 0; i < R; ++i) { m.w_row = i; for (int j = 0; j < C; ++j) fq::rtl::put(m.w_data, j * 4, 4, uint64_t(((i + j) % 3) - 1)); fq::rtl::tick(m); }
    m.w_en = 0; uint64_t y = 1; const uint64_t cycles = 200000; const int W = 4;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t c = 0; c < cycles; ++c) {
      const int phase = int(c % W); m.phase = phase; m.beat_start = phase == 0; m.beat_end = phase == W - 1; m.in_valid = 1; m.in_tag = 0;
      y = y * 6364136223846793005ull + 1442695040888963407ull;
      for (int i = 0; i < R; i += 8) fq::rtl::put(m.in_row, 8 * i, 8 * std::min(8, R - i), y);
      fq::rtl::tick(m);
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("%-8s %.2f s  %.4f G PE-cycles/s\n", name, s, double(cycles) * R * C / s / 1e9);
  };
  { Vgen a; bench(a, "generate"); }
  { Vloop b; bench(b, "loop"); }
}
