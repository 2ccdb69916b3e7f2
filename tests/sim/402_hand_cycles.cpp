// Cycle counts worked out by hand from docs/architecture.md "Micro-architecture and timing" for
// tiny programs, one per PE kind and beat window; both engines must reproduce them exactly.
#include "model/arch/arch_config.h"
#include "model/ir/verifier.h"
#include "model/quant/cluster_codec.h"
#include "sim/fast/fast_engine.h"
#include "sim/systemc/sc_engine.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>

namespace {

using fq::ir::Buffer;
using fq::ir::Opcode;
using fq::ir::TileOp;

struct Hand {
  fq::ArchConfig arch;
  fq::ir::TileProgram program;
  fq::ir::MemoryImage memory;
};

// GEMM M = 2, N = 2, K = 3 on a 3 x 2 weight-stationary array (R = 3, C = 2), DRAM 64 B/cycle,
// latency 0. Ops: 0 load W, 1 load A, 2 preload, 3 matmul rows 0-1 into obuf 0, 4 matmul row 1
// again into obuf 16 (same tile, streams behind op 3), 5 store op 3's rows.
// `format`: the bitserial PE's pe.format (temporal PEs run FineQ-R, mac PEs INT8).
Hand ws_case(const std::string& kind, fq::BeatWindow window, fq::HwFormat format = fq::HwFormat::kFineqR) {
  Hand h;
  h.arch = fq::test::base_arch(3, 2, kind);
  h.arch.window = window;
  h.arch.pe_format = format;
  h.arch.dram_bytes_per_cycle = 64;
  h.arch.dram_latency_cycles = 0;
  if (kind == "mac") format = fq::HwFormat::kInt8;
  if (kind == "temporal") format = fq::HwFormat::kFineqR;
  const bool fineq = format == fq::HwFormat::kFineqR;
  const uint32_t row_bytes = fineq ? 1 : 3;
  fq::ir::GemmDesc g{.name = "g", .format = format, .m = 2, .n = 2, .k = 3};
  g.w_addr = h.memory.allocate("g.w", 2 * row_bytes);
  g.ws_addr = h.memory.allocate("g.ws", 4);
  g.a_addr = h.memory.allocate("g.a", 6);
  g.a_stride = 3;
  g.as_addr = h.memory.allocate("g.as", 8);
  g.acc_addr = h.memory.allocate("g.acc", 16);
  g.y_addr = h.memory.allocate("g.y", 16);
  if (fineq) {
    // Column 0: q = (1, -2, 1), column 1: q = (0, 1, -1): sum |q| = 6, max |q| = 2.
    h.memory.write_u8(g.w_addr, fq::pack_normal_cluster(1, -2, 1));
    h.memory.write_u8(g.w_addr + 1, fq::pack_normal_cluster(0, 1, -1));
  } else {
    const int8_t w[6] = {1, -2, 1, 0, 1, -1};
    for (int i = 0; i < 6; ++i) h.memory.write_u8(g.w_addr + static_cast<uint64_t>(i), static_cast<uint8_t>(w[i]));
  }
  const int8_t a[6] = {3, -4, 5, 7, 0, -1};
  for (int i = 0; i < 6; ++i) h.memory.write_u8(g.a_addr + static_cast<uint64_t>(i), static_cast<uint8_t>(a[i]));
  h.program.gemms.push_back(g);
  h.program.arch_fingerprint = fq::fingerprint(h.arch);
  h.program.arch_name = h.arch.name;
  h.memory.arch_fingerprint = h.program.arch_fingerprint;
  auto& p = h.program;
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kWbuf, .src = g.w_addr, .src_stride = row_bytes, .dst = 0,
               .dst_stride = row_bytes, .rows = 2, .bytes = row_bytes});
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .src = g.a_addr, .src_stride = 3, .dst = 0,
               .dst_stride = 3, .rows = 2, .bytes = 3});
  p.add(TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 0, .src_stride = row_bytes, .k0 = 0, .k = 3, .n0 = 0,
               .n = 2},
        {0});
  p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 0, .src_stride = 3, .dst = 0, .dst_stride = 8, .m0 = 0,
               .m = 2, .acc = 0},
        {1, 2});
  p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 3, .src_stride = 3, .dst = 16, .dst_stride = 8, .m0 = 1,
               .m = 1, .acc = 0});
  p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = 0, .src_stride = 8, .dst = g.acc_addr,
               .dst_stride = 8, .rows = 2, .bytes = 8},
        {3});
  fq::ir::verify(p, h.arch, h.memory.end_bytes());
  return h;
}

// Runs both engines, checks they agree, and returns the timeline.
fq::timing::Timeline run_both(Hand& h) {
  const auto fast = fq::sim::run_fast(h.program, h.arch, h.memory);
  const auto sc = fq::sim::run_systemc(h.program, h.arch, h.memory);
  REQUIRE(fast == sc);
  return sc;
}

using Times = std::vector<std::array<uint64_t, 2>>;  // {issue, done} per op

void require_times(const fq::timing::Timeline& tl, const Times& expect) {
  REQUIRE(tl.ops.size() == expect.size());
  for (size_t i = 0; i < expect.size(); ++i) {
    INFO("op " << i);
    CHECK(tl.ops[i].issue == expect[i][0]);
    CHECK(tl.ops[i].done == expect[i][1]);
  }
}

}  // namespace

TEST_CASE("hand-computed cycles: temporal PE, fixed window (W = 4)", "[sim][hand]") {
  Hand h = ws_case("temporal", fq::BeatWindow::kFixed);
  const auto tl = run_both(h);
  // 0 load W: 2 rows x ceil(1/64) = 2 cycles from 0.        done 2
  // 1 load A: issues at 1 (one op per unit per cycle), channel free at 2, 2 rows.  done 4
  // 2 preload: after op 0, k + 1 = 4 cycles.                 issue 2, done 6
  // 3 matmul m=2: array empty, starts at 6; (m + R + C - 2) W = (2 + 3 + 2 - 2) 4 = 20.  done 26
  // 4 matmul m=1: input port free at 6 + 2 W = 14, on the beat grid: 14 + (1 + 3) 4 = 30
  // 5 store after op 3: 2 rows x ceil(8/64) = 2 cycles, latency 0.   issue 26, done 28
  require_times(tl, {{0, 2}, {1, 4}, {2, 6}, {6, 26}, {14, 30}, {26, 28}});
  CHECK(tl.total_cycles == 30);
  CHECK(tl.ops[3].beat == 4);
  // Pulses: m x sum|q| = 2 x 6 + 1 x 6; idle: PE-cycles with data (m R C W) minus pulses.
  CHECK(tl.actions.pe_pulses == 18);
  CHECK(tl.actions.pe_idle_cycles == (2 * 6 * 4 - 12) + (1 * 6 * 4 - 6));
  CHECK(tl.actions.decoder_bytes == 2);
  // Results: row 0 = (3 + 8 + 5, 0 - 4 - 5) = (16, -9); row 1 = (7 + 0 - 1, 0 + 0 + 1) = (6, 1).
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr) == 16);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 4) == -9);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 8) == 6);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 12) == 1);
}

TEST_CASE("hand-computed cycles: temporal PE, tile window (W = max |q| = 2)", "[sim][hand]") {
  Hand h = ws_case("temporal", fq::BeatWindow::kTile);
  const auto tl = run_both(h);
  // 3 matmul: 6 + (2 + 3 + 2 - 2) 2 = 16; 4 matmul: port free at 6 + 2 W = 10: 10 + 4 x 2 = 18.
  require_times(tl, {{0, 2}, {1, 4}, {2, 6}, {6, 16}, {10, 18}, {16, 18}});
  CHECK(tl.total_cycles == 18);
  CHECK(tl.actions.pe_pulses == 18);
  CHECK(tl.actions.pe_idle_cycles == (2 * 6 * 2 - 12) + (1 * 6 * 2 - 6));
}

TEST_CASE("hand-computed cycles: INT8 MAC PE, weight stationary", "[sim][hand]") {
  Hand h = ws_case("mac", fq::BeatWindow::kFixed);
  const auto tl = run_both(h);
  // 3 matmul: 6 + (2 + 3 + 2 - 2) = 11; 4 matmul: port free at 8: 8 + 4 = 12; store from 11 to 13.
  require_times(tl, {{0, 2}, {1, 4}, {2, 6}, {6, 11}, {8, 12}, {11, 13}});
  CHECK(tl.total_cycles == 13);
  CHECK(tl.actions.pe_macs == 3 * 6);
  CHECK(tl.actions.pe_beats == 3 * 6);
  CHECK(tl.actions.pe_idle_beats == 0);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 4) == -9);
}

TEST_CASE("hand-computed cycles: INT8 MAC PE, output stationary, DRAM latency and bandwidth", "[sim][hand]") {
  Hand h;
  h.arch = fq::test::base_arch(2, 2, "mac");
  h.arch.dataflow = fq::Dataflow::kOutputStationary;
  h.arch.dram_bytes_per_cycle = 2;
  h.arch.dram_latency_cycles = 5;
  fq::ir::GemmDesc g{.name = "g", .format = fq::HwFormat::kInt8, .m = 2, .n = 2, .k = 3};
  g.w_addr = h.memory.allocate("g.w", 6);
  g.ws_addr = h.memory.allocate("g.ws", 4);
  g.a_addr = h.memory.allocate("g.a", 6);
  g.a_stride = 3;
  g.as_addr = h.memory.allocate("g.as", 8);
  g.acc_addr = h.memory.allocate("g.acc", 16);
  g.y_addr = h.memory.allocate("g.y", 16);
  for (int i = 0; i < 6; ++i) {
    h.memory.write_u8(g.w_addr + static_cast<uint64_t>(i), static_cast<uint8_t>(i - 2));
    h.memory.write_u8(g.a_addr + static_cast<uint64_t>(i), static_cast<uint8_t>(2 * i + 1));
  }
  h.program.gemms.push_back(g);
  h.program.arch_fingerprint = fq::fingerprint(h.arch);
  h.program.arch_name = h.arch.name;
  h.memory.arch_fingerprint = h.program.arch_fingerprint;
  auto& p = h.program;
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kWbuf, .src = g.w_addr, .src_stride = 3, .dst = 0,
               .dst_stride = 3, .rows = 2, .bytes = 3});
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .src = g.a_addr, .src_stride = 3, .dst = 0,
               .dst_stride = 3, .rows = 2, .bytes = 3});
  p.add(TileOp{.opcode = Opcode::kOsMatmul, .gemm = 0, .src = 0, .src_stride = 3, .w_src = 0, .w_stride = 3,
               .dst = 0, .dst_stride = 8, .m0 = 0, .m = 2, .k0 = 0, .k = 3, .n0 = 0, .n = 2, .acc = 0},
        {0, 1});
  p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = 0, .src_stride = 8, .dst = g.acc_addr,
               .dst_stride = 8, .rows = 2, .bytes = 8},
        {2});
  fq::ir::verify(p, h.arch, h.memory.end_bytes());
  const auto tl = run_both(h);
  // 0 load W: data from 0 + 5, 2 rows x ceil(3/2) = 4 cycles.       done 9
  // 1 load A: issues at 1, channel busy until 9, 4 cycles.            done 13
  // 2 os.matmul: k + 2m + n - 2 = 3 + 4 + 2 - 2 = 7.                 issue 13, done 20
  // 3 store: 2 rows x ceil(8/2) = 8 cycles, then the 5-cycle write acknowledgement.  done 33
  require_times(tl, {{0, 9}, {1, 13}, {13, 20}, {20, 33}});
  CHECK(tl.total_cycles == 33);
  // acc[0][0] = 1(-2) + 3(-1) + 5(0) = -5; acc[1][1] = 7(1) + 9(2) + 11(3) = 58.
  CHECK(h.memory.read_i32(g.acc_addr) == -5);
  CHECK(h.memory.read_i32(g.acc_addr + 12) == 58);
}

TEST_CASE("hand-computed cycles: bit-serial PE, FineQ-R tile without outlier clusters (W = 2)", "[sim][hand]") {
  Hand h = ws_case("bitserial", fq::BeatWindow::kTile);
  const auto tl = run_both(h);
  // Two normal clusters: 2-bit codes, W = 2; the times are the temporal tile window's (W = 2).
  require_times(tl, {{0, 2}, {1, 4}, {2, 6}, {6, 16}, {10, 18}, {16, 18}});
  CHECK(tl.ops[3].beat == 2);
  // Pulses: popcount |q| = (1 + 1 + 1) + (0 + 1 + 1) = 5 per row, 3 rows; idle = m R C W - pulses.
  CHECK(tl.actions.pe_pulses == 15);
  CHECK(tl.actions.pe_idle_cycles == (2 * 6 * 2 - 10) + (1 * 6 * 2 - 5));
  CHECK(tl.actions.decoder_bytes == 2);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr) == 16);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 4) == -9);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 8) == 6);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 12) == 1);
}

TEST_CASE("hand-computed cycles: bit-serial PE, FineQ-R fixed window (W = 3)", "[sim][hand]") {
  Hand h = ws_case("bitserial", fq::BeatWindow::kFixed);
  const auto tl = run_both(h);
  // 3 matmul: 6 + (2 + 3 + 2 - 2) 3 = 21; 4 matmul: port free at 6 + 2 W = 12: 12 + 4 x 3 = 24.
  require_times(tl, {{0, 2}, {1, 4}, {2, 6}, {6, 21}, {12, 24}, {21, 23}});
  CHECK(tl.total_cycles == 24);
  CHECK(tl.actions.pe_pulses == 15);
  CHECK(tl.actions.pe_idle_cycles == (2 * 6 * 3 - 10) + (1 * 6 * 3 - 5));
}

TEST_CASE("hand-computed cycles: bit-serial PE, FineQ-R tile with an outlier cluster (W = 3)", "[sim][hand]") {
  Hand h = ws_case("bitserial", fq::BeatWindow::kTile);
  // Column 1 becomes an outlier cluster, position 0 pruned: q = (0, 3, -4), 3-bit codes.
  h.memory.write_u8(h.program.gemms[0].w_addr + 1, fq::pack_outlier_cluster(0, 3, -4));
  const auto tl = run_both(h);
  require_times(tl, {{0, 2}, {1, 4}, {2, 6}, {6, 21}, {12, 24}, {21, 23}});
  CHECK(tl.ops[2].beat == 3);
  // Pulses per row: (1 + 1 + 1) + popcount(0, 3, 4) = 3 + (0 + 2 + 1) = 6.
  CHECK(tl.actions.pe_pulses == 18);
  // Row 0 = (3, -4, 5): column 1 = 0 x 3 + 3 x -4 - 4 x 5 = -32; row 1 = (7, 0, -1): 0 + 0 + 4 = 4.
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 4) == -32);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 12) == 4);
}

TEST_CASE("hand-computed cycles: bit-serial PE, INT8 weights (W = 8)", "[sim][hand]") {
  Hand h = ws_case("bitserial", fq::BeatWindow::kFixed, fq::HwFormat::kInt8);
  const auto tl = run_both(h);
  // 3 matmul: 6 + 5 x 8 = 46; 4 matmul: port free at 6 + 2 x 8 = 22: 22 + 4 x 8 = 54.
  require_times(tl, {{0, 2}, {1, 4}, {2, 6}, {6, 46}, {22, 54}, {46, 48}});
  CHECK(tl.ops[3].beat == 8);
  CHECK(tl.actions.pe_pulses == 15);
  CHECK(tl.actions.pe_idle_cycles == (2 * 6 * 8 - 10) + (1 * 6 * 8 - 5));
  CHECK(tl.actions.decoder_bytes == 0);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr) == 16);
  CHECK(h.memory.read_i32(h.program.gemms[0].acc_addr + 4) == -9);
}

namespace {

// Three 3 x 2 weight tiles of one GEMM (M = 1, N = 6, K = 3) on a 3 x 2 temporal array with the
// fixed window (W = 4): a matmul's data leaves the array (1 + R + C - 2) W = 16 cycles after it
// starts, while a preload takes k + 1 = 4, so how far preloads may run ahead is set by
// pe.weight_sets. Ops: 0 load W, 1 load A, then preload / matmul per tile (2 3, 4 5, 6 7).
Hand three_tiles(int sets) {
  Hand h;
  h.arch = fq::test::base_arch(3, 2, "temporal");
  h.arch.window = fq::BeatWindow::kFixed;
  h.arch.weight_sets = sets;
  h.arch.dram_bytes_per_cycle = 64;
  h.arch.dram_latency_cycles = 0;
  fq::ir::GemmDesc g{.name = "g", .format = fq::HwFormat::kFineqR, .m = 1, .n = 6, .k = 3};
  g.w_addr = h.memory.allocate("g.w", 6);
  g.ws_addr = h.memory.allocate("g.ws", 12);
  g.a_addr = h.memory.allocate("g.a", 3);
  g.a_stride = 3;
  g.as_addr = h.memory.allocate("g.as", 4);
  g.acc_addr = h.memory.allocate("g.acc", 24);
  g.y_addr = h.memory.allocate("g.y", 24);
  for (int j = 0; j < 6; ++j) h.memory.write_u8(g.w_addr + static_cast<uint64_t>(j), fq::pack_normal_cluster(1, -1, j % 2));
  for (int i = 0; i < 3; ++i) h.memory.write_u8(g.a_addr + static_cast<uint64_t>(i), static_cast<uint8_t>(i + 1));
  h.program.gemms.push_back(g);
  h.program.arch_fingerprint = fq::fingerprint(h.arch);
  h.program.arch_name = h.arch.name;
  h.memory.arch_fingerprint = h.program.arch_fingerprint;
  auto& p = h.program;
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kWbuf, .src = g.w_addr, .src_stride = 1, .dst = 0,
               .dst_stride = 1, .rows = 6, .bytes = 1});
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .src = g.a_addr, .src_stride = 3, .dst = 0,
               .dst_stride = 3, .rows = 1, .bytes = 3});
  for (uint32_t t = 0; t < 3; ++t) {
    if (t == 0) {
      p.add(TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 0, .src_stride = 1, .k0 = 0, .k = 3, .n0 = 0, .n = 2}, {0});
      p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 0, .src_stride = 3, .dst = 0, .dst_stride = 8, .m0 = 0,
                   .m = 1, .acc = 0},
            {1, 2});
    } else {
      p.add(TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 2 * t, .src_stride = 1, .k0 = 0, .k = 3, .n0 = 2 * t,
                   .n = 2});
      p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 0, .src_stride = 3, .dst = 8 * t, .dst_stride = 8,
                   .m0 = 0, .m = 1, .acc = 0});
    }
  }
  fq::ir::verify(p, h.arch, h.memory.end_bytes());
  return h;
}

}  // namespace

TEST_CASE("hand-computed cycles: pe.weight_sets 1, 2 and 3 on three tiles", "[sim][hand]") {
  // Common: load W 6 rows (done 6), load A from 1 (done 7), preload 0 at 6 (finish 10), matmul 0
  // at 10 on an empty array: finish 10 + (1 + 3 + 2 - 2) 4 = 26, input port free at 14.
  SECTION("two sets (default): preload 2 waits for tile 0's set (free at 26)") {
    Hand h = three_tiles(2);
    const auto tl = run_both(h);
    // preload 1 at 11 (the other set is free): finish 15 (done 26: in order after matmul 0);
    // matmul 1 on the beat grid of 10 after 15: 18, finish 34; preload 2 into tile 0's set at 26,
    // finish 30; matmul 2 at 30, finish 46.
    require_times(tl, {{0, 6}, {1, 7}, {6, 10}, {10, 26}, {11, 26}, {18, 34}, {26, 34}, {30, 46}});
  }
  SECTION("three sets: preload 2 takes the third set at once") {
    Hand h = three_tiles(3);
    const auto tl = run_both(h);
    // preload 2 at 19 (after matmul 1 issued at 18), finish 23; matmul 2 on the grid after 23: 26.
    require_times(tl, {{0, 6}, {1, 7}, {6, 10}, {10, 26}, {11, 26}, {18, 34}, {19, 34}, {26, 42}});
  }
  SECTION("one set: every preload waits for the tile before to leave the array") {
    Hand h = three_tiles(1);
    const auto tl = run_both(h);
    // preload 1 at 26, finish 30; matmul 1 on an empty array at 30, finish 46; preload 2 at 46,
    // finish 50; matmul 2 at 50, finish 66.
    require_times(tl, {{0, 6}, {1, 7}, {6, 10}, {10, 26}, {26, 30}, {30, 46}, {46, 50}, {50, 66}});
  }
  THEN("the work does not depend on the sets") {
    for (const int sets : {1, 2, 3}) {
      Hand h = three_tiles(sets);
      const auto tl = run_both(h);
      // Columns q = (1, -1, 0) and (1, -1, 1): sum |q| = 5 per tile, one row through each of 3 tiles.
      CHECK(tl.actions.pe_pulses == 15);
      CHECK(tl.actions.pe_beats == 3 * 6);
      CHECK(tl.actions.weight_writes == 3 * 6);
    }
  }
}
