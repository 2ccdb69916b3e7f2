// A user's own memory behind the accelerator's TLM-2.0 sockets, the way a SystemC user builds a
// platform: their clock, fq_top, and their target bound to dram_rd and dram_wr. The example
// target forwards every transaction to the built-in fq_dram and adds a fixed extra latency X to
// the annotated delay, so it behaves as a DRAM of latency L + X: reads return X cycles later,
// writes are acknowledged X cycles later. Prediction: every op's issue, finish and done cycle are
// those the fast engine computes for dram.latency_cycles = L + X, and the bytes are the golden
// interpreter's. A second fq_top bound to a plain fq_dram runs the same program with the
// contract's cycles for L. (Its own executable: SystemC elaborates once per process.)
#include "model/ir/tile_interpreter.h"
#include "sim/fast/fast_engine.h"
#include "sim/systemc/sc_dram.h"
#include "sim/systemc/sc_top.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdlib>

int sc_main(int, char*[]) { return 2; }  // the library's reference; Catch2 has main()

namespace {

constexpr uint64_t kExtra = 7;  // X, cycles

// The example target: two channels, each a target socket in front of an initiator socket.
class delayed_memory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<delayed_memory> rd, wr;
  tlm_utils::simple_initiator_socket<delayed_memory> to_rd, to_wr;
  delayed_memory(const sc_core::sc_module_name& name, sc_core::sc_time extra)
      : sc_core::sc_module(name), rd("rd"), wr("wr"), to_rd("to_rd"), to_wr("to_wr"), m_extra(extra) {
    rd.register_b_transport(this, &delayed_memory::read);
    wr.register_b_transport(this, &delayed_memory::write);
  }
  uint64_t transactions = 0;

 private:
  void read(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
    to_rd->b_transport(t, delay);
    delay += m_extra;
    ++transactions;
  }
  void write(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
    to_wr->b_transport(t, delay);
    delay += m_extra;
    ++transactions;
  }
  sc_core::sc_time m_extra;
};

struct Platform {
  const sc_core::sc_time period{fq::sim::sc::fq_top::kPeriodNs, sc_core::SC_NS};
  sc_core::sc_clock clk{"clk", period, 0.5, sc_core::SC_ZERO_TIME, false};
  // The user's platform: accelerator -> example target -> built-in DRAM.
  fq::sim::sc::fq_top acc{"acc"};
  delayed_memory slow{"slow", period * static_cast<double>(kExtra)};
  fq::sim::sc::fq_dram slow_dram{"slow_dram", period};
  // The reference platform: accelerator -> built-in DRAM.
  fq::sim::sc::fq_top ref{"ref"};
  fq::sim::sc::fq_dram ref_dram{"ref_dram", period};
  sc_core::sc_signal<bool> acc_finished{"acc_finished"}, ref_finished{"ref_finished"};
  Platform() {
    acc.clk(clk);
    acc.finished(acc_finished);
    acc.dram_rd.bind(slow.rd);
    acc.dram_wr.bind(slow.wr);
    slow.to_rd.bind(slow_dram.rd);
    slow.to_wr.bind(slow_dram.wr);
    ref.clk(clk);
    ref.finished(ref_finished);
    ref.dram_rd.bind(ref_dram.rd);
    ref.dram_wr.bind(ref_dram.wr);
  }
};

fq::timing::Timeline run_on(fq::sim::sc::fq_top& top, fq::sim::sc::fq_dram& dram, const fq::test::SimCase& c,
                            fq::ir::MemoryImage& mem) {
  fq::sim::UnitCores cores(c.layer.program, c.arch, top.read_port(), top.write_port());
  dram.load(mem, c.arch);
  top.load(cores);
  sc_core::sc_start();
  if (top.state().error) std::rethrow_exception(top.state().error);
  REQUIRE(cores.ctrl.finished());
  return cores.timeline();
}

}  // namespace

TEST_CASE("a user TLM target with a fixed extra latency: same bytes, cycles of latency L + X", "[sim][tlm]") {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  Platform pf;
  int checked = 0, slower = 0;
  for (uint64_t seed = 1; checked < 40; ++seed) {
    const fq::test::SimCase c = fq::test::random_case(seed);
    if (c.arch.timing == fq::TimingModel::kScaleSim) continue;  // ideal memory: no DRAM timing
    INFO(c.describe());
    fq::ir::MemoryImage golden = c.layer.memory;
    fq::golden::run_tile_program(c.layer.program, c.arch, golden);

    fq::ir::MemoryImage ref_mem = c.layer.memory;
    const auto ref = run_on(pf.ref, pf.ref_dram, c, ref_mem);
    CHECK(ref == fq::sim::run_fast(c.layer.program, c.arch, c.layer.memory));
    CHECK(ref_mem == golden);

    const uint64_t before = pf.slow.transactions;
    fq::ir::MemoryImage mem = c.layer.memory;
    const auto slow = run_on(pf.acc, pf.slow_dram, c, mem);
    fq::ArchConfig predicted = c.arch;
    predicted.dram_latency_cycles += static_cast<int64_t>(kExtra);
    const auto expect = fq::sim::run_fast(c.layer.program, predicted, c.layer.memory);
    REQUIRE(slow.ops == expect.ops);
    REQUIRE(slow.actions == expect.actions);
    REQUIRE(mem == golden);
    // One transaction per DMA row went through the example target.
    uint64_t rows = 0;
    for (fq::ir::OpId id = 0; id < c.layer.program.size(); ++id) {
      const auto& op = c.layer.program.op(id);
      if (op.opcode == fq::ir::Opcode::kDmaLoad || op.opcode == fq::ir::Opcode::kDmaStore) rows += op.rows;
    }
    CHECK(pf.slow.transactions - before == rows);
    slower += slow.total_cycles > ref.total_cycles;
    ++checked;
  }
  CHECK(slower == checked);  // every program ends with a store: its acknowledgement comes X later
}
