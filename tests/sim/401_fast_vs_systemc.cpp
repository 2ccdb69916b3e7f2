// The timed engines against each other and against the golden interpreter: on 1000 randomised small
// programs (shapes, array sizes, both windows, every PE kind and dataflow, both timing models,
// buffers small enough to force single slots and stalls, DRAM from 1 to 64 B/cycle), the fast
// engine and the SystemC model give the same issue, finish and done cycle for every op and the
// same action counts, and the SystemC model leaves the golden interpreter's bytes in DRAM.
#include "model/golden/int_gemm.h"
#include "model/golden/tile_interpreter.h"
#include "model/ir/tir_text.h"
#include "sim/fast/fast_engine.h"
#include "sim/systemc/sc_engine.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>


namespace {

std::string first_difference(const fq::test::SimCase& c, const fq::timing::Timeline& fast,
                             const fq::timing::Timeline& sc) {
  for (size_t id = 0; id < fast.ops.size(); ++id) {
    const auto& a = fast.ops[id];
    const auto& b = sc.ops[id];
    if (a == b) continue;
    return fmt::format("op {}: fast issue/finish/done/beat {}/{}/{}/{}, systemc {}/{}/{}/{}\n  {}", id, a.issue,
                       a.finish, a.done, a.beat, b.issue, b.finish, b.done, b.beat,
                       fq::ir::tir_op_line(c.layer.program, static_cast<fq::ir::OpId>(id)));
  }
  return "actions differ";
}

// fast == SystemC (op by op, every action count), SystemC bytes == golden, accumulators == int_gemm.
void check_engines_agree(const fq::test::SimCase& c) {
  INFO(c.describe());
  fq::ir::MemoryImage golden_mem = c.layer.memory;
  fq::golden::run_tile_program(c.layer.program, c.arch, golden_mem);
  fq::ir::MemoryImage sc_mem = c.layer.memory;
  fq::sim::SystemcStats stats;
  const auto sc = fq::sim::run_systemc(c.layer.program, c.arch, sc_mem, &stats);
  const auto fast = fq::sim::run_fast(c.layer.program, c.arch, c.layer.memory);
  if (!(fast.ops == sc.ops)) FAIL(first_difference(c, fast, sc));
  REQUIRE(fast.total_cycles == sc.total_cycles);
  REQUIRE(fast.actions == sc.actions);
  REQUIRE(fast.gemm_actions == sc.gemm_actions);
  // The additions the PEs performed, counted cycle by cycle, are the pulses (or products) due.
  if (c.arch.dataflow == fq::Dataflow::kWeightStationary) {
    REQUIRE(stats.pe_adds == sc.actions.pe_pulses + sc.actions.pe_macs);
  }
  REQUIRE(sc_mem == golden_mem);
  // The accumulators are the integer GEMM, bit for bit.
  for (size_t g = 0; g < c.weights.size(); ++g) {
    const auto expect = fq::int_gemm(c.acts[g], c.weights[g].matrix);
    const auto& gd = c.layer.program.gemms[g];
    for (size_t i = 0; i < expect.size(); ++i) {
      REQUIRE(sc_mem.read_i32(gd.acc_addr + 4 * i) == expect[i]);
    }
  }
  REQUIRE(sc.total_cycles > 0);
}

}  // namespace

TEST_CASE("fast engine == SystemC model == golden on 1000 randomised programs", "[sim][property]") {
  int temporal = 0, mac = 0, os = 0, scalesim = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const fq::test::SimCase c = fq::test::random_case(seed);
    check_engines_agree(c);
    temporal += c.arch.pe_kind == "temporal";
    mac += c.arch.pe_kind == "mac";
    os += c.arch.dataflow == fq::Dataflow::kOutputStationary;
    scalesim += c.arch.timing == fq::TimingModel::kScaleSim;
  }
  // The generator covers every kind of machine.
  CHECK(temporal > 300);
  CHECK(mac > 300);
  CHECK(os > 60);
  CHECK(scalesim > 30);
}

TEST_CASE("bit-serial PEs: fast engine == SystemC model == golden on 400 randomised programs", "[sim][property]") {
  int fineq = 0, ints = 0, tile = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    const fq::test::SimCase c = fq::test::as_bitserial(fq::test::random_case(seed));
    check_engines_agree(c);
    const bool f = c.arch.pe_format == fq::HwFormat::kFineqR;
    fineq += f;
    ints += !f;
    tile += f && c.arch.window == fq::BeatWindow::kTile;
  }
  CHECK(fineq > 120);
  CHECK(ints > 120);
  CHECK(tile > 50);
}

TEST_CASE("pe.weight_sets 1, 3, 4: fast engine == SystemC model == golden on 300 randomised programs", "[sim][property]") {
  int by_sets[5] = {};
  for (uint64_t seed = 1, n = 0; n < 300; ++seed) {
    const fq::test::SimCase base = fq::test::random_case(seed);
    if (base.arch.dataflow != fq::Dataflow::kWeightStationary || base.arch.timing != fq::TimingModel::kDefault) continue;
    const int sets = n % 3 == 0 ? 1 : n % 3 == 1 ? 3 : 4;
    check_engines_agree(fq::test::with_weight_sets(base, sets));
    ++by_sets[sets];
    ++n;
  }
  CHECK(by_sets[1] == 100);
  CHECK(by_sets[3] == 100);
  CHECK(by_sets[4] == 100);
}
