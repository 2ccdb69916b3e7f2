// The whole accelerator in RTL (fq_top) running compiled tile programs, against the golden
// interpreter (every DRAM byte it writes: int32 accumulators and FP32 outputs) and against the
// fast engine (the cycle each op completes, total cycles, PE additions): the Verilog implements
// the timing of docs/architecture.md. Programs are random GEMMs lowered with random legal
// weight-stationary mappings; each model is built once (tests/rtl/CMakeLists.txt) and runs many.
#include "Vtop_m4x3_b4.h"
#include "Vtop_m4x4.h"
#include "Vtop_t4x3.h"
#include "Vtop_t6x2_fixed.h"
#include "model/golden/tile_interpreter.h"
#include "sim/fast/fast_engine.h"
#include "sim/sim_cases.h"
#include "top_harness.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <random>

namespace {

// The first byte where two images differ, named by segment and offset.
std::string first_difference(const fq::ir::MemoryImage& got, const fq::ir::MemoryImage& want) {
  for (size_t i = 0; i < want.segments().size(); ++i) {
    const auto& w = want.segments()[i];
    const auto& g = got.segments()[i];
    for (size_t b = 0; b < w.bytes.size(); ++b) {
      if (g.bytes[b] != w.bytes[b]) {
        const size_t word = b / 4 * 4;
        return fmt::format("segment {} byte {} (int32 at {}: rtl {}, golden {})", w.name, b, word,
                           got.read_i32(w.base + word), want.read_i32(w.base + word));
      }
    }
  }
  return "none";
}

// Must match the -G parameters of the model in tests/rtl/CMakeLists.txt.
struct TopConfig {
  int rows, cols;
  fq::PeKind kind;
  int bits;
  fq::BeatWindow window;
  int db, lat;
};

fq::ArchConfig arch_of(const TopConfig& t) {
  fq::ArchConfig a = fq::test::base_arch(t.rows, t.cols, t.kind);
  a.weight_bits = t.bits;
  a.window = t.window;
  a.weight_bytes = 512;
  a.act_bytes = 512;
  a.out_bytes = 2048;
  a.scale_bytes = 256;
  a.dram_bytes_per_cycle = t.db;
  a.dram_latency_cycles = t.lat;
  return a;
}

// stall_percent > 0: random DRAM stalls; only the bytes are compared then.
template <typename V>
void run_cases(const TopConfig& t, uint64_t seed, int cases, int stall_percent = 0) {
  const fq::ArchConfig arch = arch_of(t);
  const fq::HwFormat format = t.kind == fq::PeKind::kTemporal ? fq::HwFormat::kFineqR : fq::int_format(t.bits);
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  V top;
  for (int i = 0; i < cases; ++i) {
    std::vector<fq::QTensor> w;
    std::vector<fq::QuantizedActs> a;
    const int gemms = uni(1, 2);
    for (int g = 0; g < gemms; ++g) {
      const int m = uni(1, 9), n = uni(1, 10), k = uni(1, 16);
      w.push_back(fq::random_qtensor(fmt::format("g{}", g), format, n, k, rng()));
      a.push_back(fq::random_acts(m, k, rng()));
    }
    const auto layer = fq::test::compile_with(arch, w, a, uni(0, 1000));
    INFO("case " << i << ": " << layer.program.size() << " ops, " << fq::compiler::mapping_summary(layer));
    fq::ir::MemoryImage golden = layer.memory;
    fq::golden::run_tile_program(layer.program, arch, golden);
    const auto fast = fq::sim::run_fast(layer.program, arch, layer.memory);
    fq::ir::MemoryImage mem = layer.memory;
    const auto run = fq::rtl::run_top(top, layer.program, arch, mem, stall_percent, seed + static_cast<uint64_t>(i));
    if (stall_percent > 0) {
      INFO("first difference: " << first_difference(mem, golden));
      REQUIRE(mem == golden);
      REQUIRE(run.total_cycles >= fast.total_cycles);  // stalls never speed the machine up
      continue;
    }
    for (size_t id = 0; id < run.done.size(); ++id) {
      INFO("op " << id << " " << fq::ir::opcode_name(layer.program.op(static_cast<fq::ir::OpId>(id)).opcode)
                 << " fast issue/finish/done " << fast.ops[id].issue << "/" << fast.ops[id].finish << "/"
                 << fast.ops[id].done);
      REQUIRE(run.done[id] == fast.ops[id].done);
    }
    REQUIRE(run.total_cycles == fast.total_cycles);
    INFO("first difference: " << first_difference(mem, golden));
    REQUIRE(mem == golden);
    REQUIRE(run.pulses == fast.actions.pe_pulses + fast.actions.pe_macs);
  }
}

}  // namespace

TEST_CASE("RTL top == golden bytes and == fast engine cycles: temporal 4x3, tile window", "[rtl][top]") {
  run_cases<Vtop_t4x3>({4, 3, fq::PeKind::kTemporal, 8, fq::BeatWindow::kTile, 8, 5}, 1, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: temporal 6x2, fixed window", "[rtl][top]") {
  run_cases<Vtop_t6x2_fixed>({6, 2, fq::PeKind::kTemporal, 8, fq::BeatWindow::kFixed, 4, 0}, 2, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: INT8 MAC 4x4", "[rtl][top]") {
  run_cases<Vtop_m4x4>({4, 4, fq::PeKind::kMac, 8, fq::BeatWindow::kFixed, 16, 12}, 3, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: INT4 MAC 4x3", "[rtl][top]") {
  run_cases<Vtop_m4x3_b4>({4, 3, fq::PeKind::kMac, 4, fq::BeatWindow::kFixed, 2, 3}, 4, 100);
}

TEST_CASE("RTL top with random DRAM stalls still computes the golden bytes", "[rtl][top]") {
  run_cases<Vtop_t4x3>({4, 3, fq::PeKind::kTemporal, 8, fq::BeatWindow::kTile, 8, 5}, 11, 40, 40);
  run_cases<Vtop_m4x3_b4>({4, 3, fq::PeKind::kMac, 4, fq::BeatWindow::kFixed, 2, 3}, 12, 40, 30);
}
