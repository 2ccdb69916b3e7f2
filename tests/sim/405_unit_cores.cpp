// Each unit core of the cycle-stepped machine (sim/cycle) driven on its own, against cycles
// worked out by hand from docs/architecture.md "Micro-architecture and timing": the DRAM
// channel's bandwidth and latency through the DMA read and write cores, the controller's
// dependency counting, in-order completion, the array's beat grid and the epilogue.
#include "model/quant/cluster_codec.h"
#include "model/core/fp16.h"
#include "sim/cycle/cycle_machine.h"
#include "sim/systemc/sc_engine.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cstring>

namespace {

using fq::ir::Buffer;
using fq::ir::Opcode;
using fq::ir::TileOp;
using fq::ir::Unit;

// A program of loose ops (no verify(): each core is tested alone) over one GEMM descriptor.
struct Bench {
  fq::ArchConfig arch;
  fq::ir::TileProgram p;
  fq::ir::MemoryImage mem;
  explicit Bench(fq::ArchConfig a, fq::HwFormat format = fq::HwFormat::kFineqR) : arch(std::move(a)) {
    p.gemms.push_back({.name = "g", .format = format, .m = 2, .n = 2, .k = 3});
    mem.add_segment("dram", 0, 256);
    for (uint64_t i = 0; i < 256; ++i) mem.write_u8(i, static_cast<uint8_t>(i));
  }
};

}  // namespace

TEST_CASE("DRAM timing: latency, then one row after another at B bytes per cycle", "[sim][core]") {
  fq::sim::DramTiming t(5, 4);
  CHECK(t.read(0, 6) == 5);    // first data after L; the row is busy ceil(6/4) = 2 cycles
  CHECK(t.read(0, 6) == 7);    // queued behind it, latency hidden
  CHECK(t.read(20, 1) == 25);  // channel idle again: latency exposed
  CHECK(t.write(9) == 15);     // acknowledged L cycles after the cycle after the last byte
}

TEST_CASE("DMA read core: beats from the DRAM's data cycle, B bytes per cycle", "[sim][core]") {
  fq::ArchConfig arch = fq::test::base_arch(3, 2, "temporal");
  arch.dram_bytes_per_cycle = 4;
  arch.dram_latency_cycles = 5;
  Bench b(arch);
  // op 0: 2 rows of 6 bytes from DRAM 0 (stride 8) to abuf 0; op 1: 3 bytes from DRAM 20 to abuf 16.
  b.p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .src = 0, .src_stride = 8, .dst = 0, .dst_stride = 6,
                 .rows = 2, .bytes = 6});
  b.p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .src = 20, .src_stride = 3, .dst = 16,
                 .dst_stride = 3, .rows = 1, .bytes = 3});
  fq::sim::Buffers buf(b.arch);
  fq::sim::Ledger log(b.p);
  fq::sim::DramModel dram(b.mem, b.arch);
  fq::sim::DmaReadCore dma({b.p, b.arch, buf, log}, dram);
  dma.take(0, 0);
  dma.take(1, 1);
  // op 0: data from 0 + L = 5, rows of 2 beats (4 + 2 bytes): cycles 5-8, finish 9.
  // op 1: max(1 + L, 9) = 9, one beat: finish 10.
  std::vector<std::pair<uint64_t, uint32_t>> beats;  // cycle, bytes
  for (uint64_t c = 0; c < 20; ++c) {
    const auto beat = dma.work(c);
    if (beat.valid) beats.push_back({c, beat.bytes});
  }
  CHECK(beats == std::vector<std::pair<uint64_t, uint32_t>>{{5, 4}, {6, 2}, {7, 4}, {8, 2}, {9, 3}});
  CHECK(log.finish[0] == 9);
  CHECK(log.finish[1] == 10);
  CHECK(dma.retire(8) == 0);
  CHECK(dma.retire(9) == 1);
  CHECK(dma.retire(10) == 1);
  CHECK(log.done[1] == 10);
  const uint8_t* a = buf.at(Buffer::kAbuf, 0);
  CHECK(std::vector<uint8_t>(a, a + 12) == std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13});
  CHECK(std::vector<uint8_t>(a + 16, a + 19) == std::vector<uint8_t>{20, 21, 22});
  CHECK(log.gacts[0].dram_read_bytes == 15);
}

TEST_CASE("DMA write core: beats at B bytes per cycle, finish at the last row's acknowledgement", "[sim][core]") {
  fq::ArchConfig arch = fq::test::base_arch(3, 2, "temporal");
  arch.dram_bytes_per_cycle = 4;
  arch.dram_latency_cycles = 3;
  Bench b(arch);
  b.p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = 0, .src_stride = 8, .dst = 100,
                 .dst_stride = 5, .rows = 2, .bytes = 5});
  fq::sim::Buffers buf(b.arch);
  for (uint64_t i = 0; i < 16; ++i) *buf.at(Buffer::kObuf, i) = static_cast<uint8_t>(200 + i);
  fq::sim::Ledger log(b.p);
  fq::sim::DramModel dram(b.mem, b.arch);
  fq::sim::DmaWriteCore dma({b.p, b.arch, buf, log}, dram);
  dma.take(0, 2);
  // Beats (4 + 1 bytes per row) in cycles 2, 3, 4, 5; the last leaves in 5: finish 5 + 1 + L = 9.
  std::vector<uint64_t> cycles;
  for (uint64_t c = 2; c < 12; ++c) {
    if (dma.work(c).valid) cycles.push_back(c);
  }
  CHECK(cycles == std::vector<uint64_t>{2, 3, 4, 5});
  CHECK(log.finish[0] == 9);
  CHECK(dma.retire(8) == 0);
  CHECK(dma.retire(9) == 1);
  for (uint64_t i = 0; i < 5; ++i) {
    CHECK(b.mem.read_u8(100 + i) == 200 + i);
    CHECK(b.mem.read_u8(105 + i) == 208 + i);
  }
}

TEST_CASE("controller core: a head op is ready once each dependency is reported done", "[sim][core]") {
  Bench b(fq::test::base_arch(3, 2, "temporal"));
  b.p.add(TileOp{.opcode = Opcode::kDmaLoad, .rows = 1, .bytes = 1});
  b.p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .rows = 1, .bytes = 1});
  b.p.add(TileOp{.opcode = Opcode::kPreload, .k = 3, .n = 2}, {0});
  b.p.add(TileOp{.opcode = Opcode::kMatmul, .m = 1}, {1, 2});
  fq::sim::Ledger log(b.p);
  fq::sim::ControllerCore ctrl(b.p, log);
  CHECK(ctrl.head(Unit::kDmaIn) == 0);
  CHECK(ctrl.head(Unit::kArray) == 2);
  CHECK(ctrl.head(Unit::kEpilogue) == fq::sim::ControllerCore::kNone);
  CHECK(ctrl.head_ready(Unit::kDmaIn));
  CHECK_FALSE(ctrl.head_ready(Unit::kArray));  // op 0 not done
  ctrl.took(Unit::kDmaIn, 0);
  ctrl.took(Unit::kDmaIn, 1);
  CHECK(log.issue[1] == 1);
  ctrl.retired(Unit::kDmaIn, 1);  // op 0
  CHECK(ctrl.head_ready(Unit::kArray));
  ctrl.took(Unit::kArray, 4);
  CHECK(ctrl.head(Unit::kArray) == 3);
  CHECK_FALSE(ctrl.head_ready(Unit::kArray));  // needs ops 1 and 2
  ctrl.retired(Unit::kDmaIn, 1);
  CHECK_FALSE(ctrl.head_ready(Unit::kArray));
  ctrl.retired(Unit::kArray, 1);
  CHECK(ctrl.head_ready(Unit::kArray));
  ctrl.took(Unit::kArray, 9);
  CHECK_FALSE(ctrl.finished());
  ctrl.retired(Unit::kArray, 1);
  CHECK(ctrl.finished());
  CHECK(ctrl.ops_retired() == 4);
}

TEST_CASE("in-order completion: done = max(finish, done of the previous op)", "[sim][core]") {
  Bench b(fq::test::base_arch(3, 2, "temporal"));
  for (int i = 0; i < 3; ++i) b.p.add(TileOp{.opcode = Opcode::kDmaLoad, .rows = 1, .bytes = 1});
  fq::sim::Ledger log(b.p);
  fq::sim::InOrder q;
  for (fq::ir::OpId id = 0; id < 3; ++id) q.push(id);
  log.stamp(1, 5);  // finishes before the older op 0
  CHECK(q.retire(log, 20) == 0);
  log.stamp(0, 10);
  CHECK(q.retire(log, 9) == 0);
  CHECK(q.retire(log, 10) == 2);
  CHECK(log.done[0] == 10);
  CHECK(log.done[1] == 10);
  log.stamp(2, 12);
  CHECK(q.retire(log, 12) == 1);
  CHECK(log.done[2] == 12);
}

TEST_CASE("array core: preload, beat grid and overlapped matmuls (temporal, W = 4)", "[sim][core]") {
  fq::ArchConfig arch = fq::test::base_arch(3, 2, "temporal");
  arch.window = fq::BeatWindow::kFixed;
  Bench b(arch);
  b.p.add(TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 0, .src_stride = 1, .k = 3, .n = 2});
  b.p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 0, .src_stride = 3, .dst = 0, .dst_stride = 8, .m = 2});
  b.p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 3, .src_stride = 3, .dst = 16, .dst_stride = 8, .m = 1});
  fq::sim::Buffers buf(b.arch);
  // Column 0: q = (1, -2, 1), column 1: q = (0, 1, -1); activation rows (3, -4, 5) and (7, 0, -1).
  *buf.at(Buffer::kWbuf, 0) = fq::pack_normal_cluster(1, -2, 1);
  *buf.at(Buffer::kWbuf, 1) = fq::pack_normal_cluster(0, 1, -1);
  const int8_t a[6] = {3, -4, 5, 7, 0, -1};
  std::memcpy(buf.at(Buffer::kAbuf, 0), a, 6);
  fq::sim::Ledger log(b.p);
  fq::sim::ArrayCore array({b.p, b.arch, buf, log});
  REQUIRE(array.can_take(0, 0));
  array.take(0, 0);
  // The preload takes k + 1 = 4 cycles; its matmul may start once it has finished.
  std::vector<uint64_t> matmul_ok, second_ok;
  std::vector<uint32_t> phases;
  bool taken1 = false, taken2 = false;
  for (uint64_t c = 0; c < 40; ++c) {
    if (!taken1 && array.can_take(1, c)) {
      matmul_ok.push_back(c);
      array.take(1, c);
      taken1 = true;
    } else if (taken1 && !taken2 && array.can_take(2, c)) {
      second_ok.push_back(c);
      array.take(2, c);
      taken2 = true;
    }
    const auto act = array.work(c);
    if (c >= 4 && c < 12) phases.push_back(act.phase);
  }
  CHECK(log.finish[0] == 4);
  CHECK(matmul_ok == std::vector<uint64_t>{4});
  // Its 2 rows enter in beats 0 and 1 (cycles 4 and 8); the next matmul joins the grid at 4 + 2 W.
  CHECK(second_ok == std::vector<uint64_t>{12});
  CHECK(phases == std::vector<uint32_t>{0, 1, 2, 3, 0, 1, 2, 3});
  CHECK(log.finish[1] == 4 + (2 + 3 + 2 - 2) * 4);
  CHECK(log.finish[2] == 12 + (1 + 3 + 2 - 2) * 4);
  CHECK(log.beat[1] == 4);
  // Rows (16, -9) and (6, 1); op 2 repeats row 1.
  auto at = [&](uint64_t addr) {
    int32_t v = 0;
    std::memcpy(&v, buf.at(Buffer::kObuf, addr), 4);
    return v;
  };
  CHECK(at(0) == 16);
  CHECK(at(4) == -9);
  CHECK(at(8) == 6);
  CHECK(at(12) == 1);
  CHECK(at(16) == 6);
  CHECK(at(20) == 1);
  // Every PE adds while its pulse counter is below |q|: m x sum|q| additions in all.
  CHECK(array.pe_adds() == 3 * 6);
  CHECK(array.retire(40) == 3);
}

TEST_CASE("epilogue core: C elements per cycle plus two stages, one dequant at a time", "[sim][core]") {
  Bench b(fq::test::base_arch(3, 2, "temporal"));
  // m = 2, n = 3 on C = 2: 2 x ceil(3/2) = 4 chunks + 2 stages.
  b.p.add(TileOp{.opcode = Opcode::kDequant, .gemm = 0, .src = 0, .src_stride = 12, .ws = 0, .as = 8, .dst = 64,
                 .dst_stride = 12, .m = 2, .n = 3});
  fq::sim::Buffers buf(b.arch);
  const int32_t acc[6] = {1, 2, 3, -4, 5, 6};
  std::memcpy(buf.at(Buffer::kObuf, 0), acc, sizeof acc);
  const uint16_t ws[3] = {fq::fp16_from_float(1.0F), fq::fp16_from_float(2.0F), fq::fp16_from_float(0.5F)};
  std::memcpy(buf.at(Buffer::kSbuf, 0), ws, sizeof ws);
  const float as[2] = {0.25F, 4.0F};
  std::memcpy(buf.at(Buffer::kSbuf, 8), as, sizeof as);
  fq::sim::Ledger log(b.p);
  fq::sim::EpilogueCore epi({b.p, b.arch, buf, log});
  REQUIRE(epi.can_take(0, 3));
  epi.take(0, 3);
  int reads = 0;
  for (uint64_t c = 3; c < 20; ++c) {
    CHECK(epi.can_take(0, c) == (c > 8));
    reads += epi.work(c) ? 1 : 0;
  }
  CHECK(reads == 4);
  CHECK(log.finish[0] == 3 + 4 + 2);
  const float expect[6] = {0.25F, 1.0F, 0.375F, -16.0F, 40.0F, 12.0F};
  for (int i = 0; i < 6; ++i) {
    float y = 0;
    std::memcpy(&y, buf.at(Buffer::kObuf, 64 + 4 * static_cast<uint64_t>(i)), 4);
    CHECK(y == expect[i]);
  }
  CHECK(log.gacts[0].dequant_elems == 6);
}

TEST_CASE("array core: the output-stationary array stepped (skewed operands, products, drain)", "[sim][core]") {
  for (const bool scalesim : {false, true}) {
    INFO((scalesim ? "scalesim" : "default"));
    fq::ArchConfig arch = fq::test::base_arch(4, 4, "mac");
    arch.dataflow = fq::Dataflow::kOutputStationary;
    if (scalesim) arch.timing = fq::TimingModel::kScaleSim;
    Bench b(arch, fq::HwFormat::kInt8);
    // m = 2, n = 3, k = 4: A rows at abuf 0 (stride 4), W rows at wbuf 0 (stride 4), C to obuf 0.
    b.p.add(TileOp{.opcode = Opcode::kOsMatmul, .gemm = 0, .src = 0, .src_stride = 4, .w_src = 0, .w_stride = 4,
                   .dst = 0, .dst_stride = 12, .m = 2, .k = 4, .n = 3});
    fq::sim::Buffers buf(b.arch);
    const int8_t a[8] = {1, 2, 3, 4, -1, 0, 2, -3};
    const int8_t w[12] = {1, 0, 0, 0, 1, 1, 1, 1, -2, 3, 0, 5};
    std::memcpy(buf.at(Buffer::kAbuf, 0), a, sizeof a);
    std::memcpy(buf.at(Buffer::kWbuf, 0), w, sizeof w);
    fq::sim::Ledger log(b.p);
    fq::sim::ArrayCore array({b.p, b.arch, buf, log});
    REQUIRE(array.can_take(0, 5));
    array.take(0, 5);
    std::vector<uint64_t> busy;
    for (uint64_t c = 5; c < 30; ++c) {
      if (array.work(c).os) busy.push_back(c);
    }
    // Element t reaches PE(i, j) in cycle 5 + t + i + j: the last product (PE(1, 2), t = 3) in
    // cycle 5 + 3 + 1 + 2 = 11; two rows drain in 12 and 13: finish 14 = 5 + k + 2m + n - 2.
    // scalesim: the padded 4 x 4 fold's last product is PE(3, 3)'s in 5 + 3 + 3 + 3 = 14, when
    // every row is written: finish 15 = 5 + k + R + C - 2.
    const uint64_t finish = scalesim ? 15 : 14;
    CHECK(log.finish[0] == finish);
    CHECK(busy.size() == finish - 5);
    const int32_t expect[6] = {1, 10, 24, -1, -2, -13};
    for (int i = 0; i < 6; ++i) {
      int32_t v = 0;
      std::memcpy(&v, buf.at(Buffer::kObuf, 4 * static_cast<uint64_t>(i)), 4);
      CHECK(v == expect[i]);
    }
    CHECK(log.gacts[0].pe_macs == 2 * 3 * 4);
  }
}

TEST_CASE("the cores stepped without a kernel == the SystemC modules on 200 randomised programs", "[sim][core]") {
  for (uint64_t seed = 2001; seed <= 2200; ++seed) {
    const fq::test::SimCase c = fq::test::random_case(seed);
    INFO(c.describe());
    fq::ir::MemoryImage sc_mem = c.layer.memory;
    fq::sim::SystemcStats stats;
    const auto sc = fq::sim::run_systemc(c.layer.program, c.arch, sc_mem, &stats);
    fq::ir::MemoryImage mem = c.layer.memory;
    fq::sim::CycleMachine machine(c.layer.program, c.arch, mem);
    while (!machine.finished()) machine.step();
    REQUIRE(machine.timeline() == sc);
    REQUIRE(mem == sc_mem);
    CHECK(machine.pe_cycles_stepped() == stats.pe_cycles);
    CHECK(machine.pe_adds_stepped() == stats.pe_adds);
    // The kernel-free machine steps until the cycle in which the last op is done; under
    // scalesim that cycle itself, since a zero-time store is done in the cycle it issues.
    CHECK(machine.cycle() == sc.total_cycles + (c.arch.timing == fq::TimingModel::kScaleSim ? 1 : 0));
  }
}
