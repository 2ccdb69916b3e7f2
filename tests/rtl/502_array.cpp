// The RTL array (fq_array) against the golden GEMM on random tiles, swept over sizes including the
// degenerate ones (1x1, 3x1, non-square, rows not a multiple of 3), both PE kinds and every MAC
// weight width, every beat length: rows enter with random bubbles (the array's only handshake is
// "a row enters at this beat start"), the next tile is preloaded into the other weight set while
// the previous one streams, and every result row must leave exactly R + C - 2 beats after it
// entered (docs/architecture.md "Array (weight stationary)") with the integer GEMM's values.
#include "Varr_m1x1.h"
#include "Varr_m2x5_b2.h"
#include "Varr_m3x1.h"
#include "Varr_m4x3_b4.h"
#include "Varr_m5x7.h"
#include "Varr_m6x4_b3.h"
#include "Varr_t1x1.h"
#include "Varr_t3x1.h"
#include "Varr_t4x3.h"
#include "Varr_t5x7.h"
#include "sim/rtl/rtl_harness.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cstdlib>
#include <deque>
#include <random>
#include <type_traits>
#include <vector>

namespace {

using fq::rtl::get;
using fq::rtl::put;

struct Tile {
  int k = 0, n = 0, tag = 0;
  std::vector<int> q;  // k x n
  std::vector<std::vector<int8_t>> rows;
};

struct Expect {
  uint64_t beat;
  std::vector<int32_t> out;  // C values
};

template <typename V>
void run_trials(int R, int C, bool temporal, int bits, uint64_t seed, int trials) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  V m;
  const int qw = temporal ? 4 : bits;
  const int qlo = temporal ? -4 : -(1 << (bits - 1)), qhi = temporal ? 3 : (1 << (bits - 1)) - 1;
  // No datapath reset: bubbles flush the valid flags out of the array first.
  m.beat_start = 1;
  m.beat_end = 1;
  m.advance = 1;  // the grid runs throughout (the valid histories shift every beat)
  m.rst = 0;
  m.phase = 0;
  m.in_valid = 0;
  m.w_en = 0;
  m.w_clear = 0;
  for (int c = 0; c < R + C + 2; ++c) fq::rtl::tick(m);

  for (int trial = 0; trial < trials; ++trial) {
    const int W = temporal ? uni(1, 4) : 1;
    const int mag_max = temporal ? W : 1 << 30;
    std::vector<Tile> tiles(static_cast<size_t>(uni(1, 5)));
    for (size_t t = 0; t < tiles.size(); ++t) {
      Tile& tl = tiles[t];
      tl.k = uni(1, R);
      tl.n = uni(1, C);
      tl.tag = static_cast<int>(t % 2);
      for (int i = 0; i < tl.k * tl.n; ++i) {
        int q = uni(qlo, qhi);
        while (std::abs(q) > mag_max) q = uni(qlo, qhi);
        tl.q.push_back(q);
      }
      tl.rows.resize(static_cast<size_t>(uni(1, 6)));
      for (auto& row : tl.rows) {
        for (int i = 0; i < tl.k; ++i) row.push_back(static_cast<int8_t>(uni(-128, 127)));
      }
    }
    std::deque<Expect> expect;
    uint64_t pulses = 0, want_pulses = 0, beat = 0;
    size_t pre_tile = 0, stream_tile = 0, next_row = 0;
    int pre_step = -1;                              // -1 idle, 0 clear, 1..k write row step-1
    std::vector<uint64_t> tile_last_out(tiles.size(), 0);  // beat its last row leaves
    std::vector<bool> preloaded(tiles.size(), false);
    uint64_t cycle = 0;
    while (stream_tile < tiles.size() || !expect.empty()) {
      REQUIRE(cycle < 100000);
      const int phase = static_cast<int>(cycle % static_cast<uint64_t>(W));
      m.beat_start = phase == 0;
      m.beat_end = phase == W - 1;
      m.phase = static_cast<uint8_t>(phase);
      // Preload: the set of tile t is free once tile t-2's rows have all left.
      m.w_clear = 0;
      m.w_en = 0;
      int finished_preload = -1;
      if (pre_step < 0 && pre_tile < tiles.size() &&
          (pre_tile < 2 || (pre_tile - 2 < stream_tile && tile_last_out[pre_tile - 2] < beat))) {
        pre_step = 0;
      }
      if (pre_step >= 0) {
        const Tile& tl = tiles[pre_tile];
        m.w_tag = static_cast<uint8_t>(tl.tag);
        if (pre_step == 0) {
          m.w_clear = 1;
        } else {
          const int i = pre_step - 1;
          m.w_en = 1;
          m.w_row = static_cast<uint8_t>(i);
          m.w_cols = static_cast<std::remove_reference_t<decltype(m.w_cols)>>((uint64_t{1} << tl.n) - 1);
          for (int j = 0; j < C; ++j) {
            put(m.w_data, j * qw, qw, j < tl.n ? static_cast<uint64_t>(tl.q[static_cast<size_t>(i * tl.n + j)]) : 0);
          }
        }
        if (++pre_step > tl.k) {
          pre_step = -1;
          finished_preload = static_cast<int>(pre_tile++);  // its rows may enter from the next cycle
        }
      }
      // A row enters at a beat start unless we insert a bubble.
      m.in_valid = 0;
      if (phase == 0 && stream_tile < tiles.size() && preloaded[stream_tile] &&
          uni(0, 9) >= 3) {
        const Tile& tl = tiles[stream_tile];
        const auto& row = tl.rows[next_row];
        m.in_valid = 1;
        m.in_tag = static_cast<uint8_t>(tl.tag);
        for (int i = 0; i < R; ++i) put(m.in_row, 8 * i, 8, i < tl.k ? static_cast<uint8_t>(row[static_cast<size_t>(i)]) : 0);
        Expect e{beat + static_cast<uint64_t>(R + C - 2), std::vector<int32_t>(static_cast<size_t>(C), 0)};
        for (int j = 0; j < tl.n; ++j) {
          int32_t s = 0;
          for (int i = 0; i < tl.k; ++i) s += row[static_cast<size_t>(i)] * tl.q[static_cast<size_t>(i * tl.n + j)];
          e.out[static_cast<size_t>(j)] = s;
          for (int i = 0; i < tl.k; ++i) want_pulses += temporal ? static_cast<uint64_t>(std::abs(tl.q[static_cast<size_t>(i * tl.n + j)])) : 1;
        }
        expect.push_back(e);
        tile_last_out[stream_tile] = e.beat;
        if (++next_row == tl.rows.size()) {
          ++stream_tile;
          next_row = 0;
        }
      }
      m.clk = 0;
      m.eval();
      for (int x = 0; x < R * C; ++x) pulses += get(m.pulses, x, 1);
      if (m.out_valid) {
        INFO("trial " << trial << " W " << W << " beat " << beat);
        REQUIRE(!expect.empty());
        const Expect e = expect.front();
        expect.pop_front();
        REQUIRE(beat == e.beat);
        for (int j = 0; j < C; ++j) {
          INFO("column " << j);
          REQUIRE(static_cast<int32_t>(get(m.out_row, 32 * j, 32)) == e.out[static_cast<size_t>(j)]);
        }
      } else {
        REQUIRE((expect.empty() || expect.front().beat != beat || phase != W - 1));
      }
      m.clk = 1;
      m.eval();
      if (finished_preload >= 0) preloaded[static_cast<size_t>(finished_preload)] = true;
      if (phase == W - 1) ++beat;
      ++cycle;
    }
    CHECK(pulses == want_pulses);
    // Let the beat grid run out before the next trial picks another W.
    m.in_valid = 0;
    m.w_en = 0;
    m.w_clear = 0;
    for (int c = 0; c < (R + C) * W; ++c) {
      m.phase = static_cast<uint8_t>(c % W);
      m.beat_start = c % W == 0;
      m.beat_end = c % W == W - 1;
      fq::rtl::tick(m);
    }
  }
}

}  // namespace

TEST_CASE("RTL temporal array == golden GEMM: 1x1, 3x1, 4x3, 5x7", "[rtl]") {
  run_trials<Varr_t1x1>(1, 1, true, 0, 1, 40);
  run_trials<Varr_t3x1>(3, 1, true, 0, 2, 40);
  run_trials<Varr_t4x3>(4, 3, true, 0, 3, 60);
  run_trials<Varr_t5x7>(5, 7, true, 0, 4, 60);
}

TEST_CASE("RTL MAC array == golden GEMM: INT8 1x1, 3x1, 5x7; INT4 4x3; INT3 6x4; INT2 2x5", "[rtl]") {
  run_trials<Varr_m1x1>(1, 1, false, 8, 5, 40);
  run_trials<Varr_m3x1>(3, 1, false, 8, 6, 40);
  run_trials<Varr_m5x7>(5, 7, false, 8, 7, 60);
  run_trials<Varr_m4x3_b4>(4, 3, false, 4, 8, 60);
  run_trials<Varr_m6x4_b3>(6, 4, false, 3, 9, 60);
  run_trials<Varr_m2x5_b2>(2, 5, false, 2, 10, 60);
}
