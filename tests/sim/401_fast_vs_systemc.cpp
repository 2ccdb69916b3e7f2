// The timed engines against each other and against the golden interpreter: on 1000 randomised small
// programs (shapes, array sizes, both windows, every PE kind and dataflow, both timing models,
// buffers small enough to force single slots and stalls, DRAM from 1 to 64 B/cycle), the fast
// engine and the SystemC model give the same issue, finish and done cycle for every op and the
// same action counts, and the SystemC model leaves the golden interpreter's bytes in DRAM.
#include "model/golden/int_gemm.h"
#include "sim/divergence.h"
#include "sim/engine.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>


namespace {

// fast == SystemC (op by op, every action count), SystemC bytes == golden, accumulators == int_gemm.
void check_engines_agree(const fq::test::SimCase& c) {
  INFO(c.describe());
  const auto golden = fq::sim::find_engine("golden").run(c.arch, c.layer.program, c.layer.memory);
  const auto sc_run = fq::sim::find_engine("systemc").run(c.arch, c.layer.program, c.layer.memory);
  const auto fast_run = fq::sim::find_engine("fast").run(c.arch, c.layer.program, c.layer.memory);
  if (const auto d = fq::sim::first_cycle_divergence(c.layer.program, c.arch, fast_run, sc_run)) FAIL(d->message);
  if (const auto d = fq::sim::first_byte_divergence(c.layer.program, golden, sc_run)) FAIL(d->message);
  const auto& sc = *sc_run.timeline;
  const auto& fast = *fast_run.timeline;
  REQUIRE(fast.ops == sc.ops);
  REQUIRE(fast.total_cycles == sc.total_cycles);
  REQUIRE(fast.actions == sc.actions);
  REQUIRE(fast.gemm_actions == sc.gemm_actions);
  // The additions the PEs performed, counted cycle by cycle, are the pulses (or products) due.
  if (c.arch.dataflow == fq::Dataflow::kWeightStationary) {
    REQUIRE(sc_run.pe_additions == sc.actions.pe_pulses + sc.actions.pe_macs);
  } else {
    REQUIRE_FALSE(sc_run.pe_additions.has_value());
  }
  const fq::ir::MemoryImage& sc_mem = *sc_run.memory;
  REQUIRE(sc_mem == *golden.memory);
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
