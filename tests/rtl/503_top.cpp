// The whole accelerator in RTL (fq_top) running compiled tile programs, against the golden
// interpreter (every DRAM byte it writes: int32 accumulators and FP32 outputs) and against the
// fast engine (the cycle each op completes, total cycles, PE additions): the Verilog implements
// the timing of docs/architecture.md. Programs are random GEMMs lowered with random legal
// weight-stationary mappings (top_cases.cpp); each model is built once and runs many.
#include "top_cases.h"

#include "model/arch/pe_model.h"
#include "model/ckpt/random_layer.h"
#include "model/cost/cost_model.h"
#include "sim/sim_cases.h"

#include <catch2/catch.hpp>

#include <functional>

namespace {

// `change` edits the preset's arch before the runs (run-time values only: the model is the preset's).
void run_cases(const std::string& name, uint64_t first_seed, int cases, int stall_percent = 0,
               const std::function<void(fq::ArchConfig&)>& change = {}) {
  for (fq::rtl::TopConfig t : fq::rtl::top_configs()) {
    if (t.name != name) continue;
    if (change) change(t.arch);
    for (uint64_t seed = first_seed; seed < first_seed + static_cast<uint64_t>(cases); ++seed) {
      const auto r = fq::rtl::run_top_case(t, seed, stall_percent);
      INFO(r.summary);
      INFO(r.failure);
      REQUIRE(r.pass);
    }
    return;
  }
  FAIL("no configuration " << name);
}

}  // namespace

TEST_CASE("RTL top == golden bytes and == fast engine cycles: temporal 4x3, tile window", "[rtl][top]") {
  run_cases("t4x3", 1, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: temporal 6x2, fixed window", "[rtl][top]") {
  run_cases("t6x2_fixed", 1001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: INT8 MAC 4x4", "[rtl][top]") {
  run_cases("m4x4", 2001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: INT4 MAC 4x3", "[rtl][top]") {
  run_cases("m4x3_b4", 3001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: bit-serial 4x3, FineQ-R, tile window", "[rtl][top]") {
  run_cases("b4x3", 6001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: bit-serial 4x4, INT4", "[rtl][top]") {
  run_cases("b4x4_i4", 7001, 100);
}

// The beat window, DRAM bytes per cycle and latency and the buffer sizes are fq_top's run-time
// inputs (the preset's sizes are the model's capacities): one model runs archs that differ from
// its preset in those values, as the RTL engine's shared runners do.
TEST_CASE("RTL top runs archs that differ from its preset in run-time values only: window, DRAM, buffer sizes",
          "[rtl][top]") {
  // rtl_t4x3: tile window, 8 bytes per cycle, latency 5, buffers 512/512/2048/256.
  run_cases("t4x3", 8001, 40, 0, [](fq::ArchConfig& a) {
    a.window = fq::BeatWindow::kFixed;
    a.dram_bytes_per_cycle = 3;
    a.dram_latency_cycles = 11;
    a.weight_bytes = 448;
    a.act_bytes = 320;
    a.out_bytes = 1536;
    a.scale_bytes = 160;
  });
  run_cases("b4x3", 8101, 30, 0, [](fq::ArchConfig& a) {
    a.window = fq::BeatWindow::kFixed;
    a.dram_bytes_per_cycle = 5;
    a.dram_latency_cycles = 0;
  });
  run_cases("m4x4", 8201, 30, 0, [](fq::ArchConfig& a) {  // 16 bytes per cycle, latency 12
    a.dram_bytes_per_cycle = 7;
    a.dram_latency_cycles = 1;
    a.out_bytes = 1200;
  });
}

TEST_CASE("RTL top with random DRAM stalls still computes the golden bytes", "[rtl][top]") {
  run_cases("t4x3", 4001, 40, 40);
  run_cases("m4x3_b4", 5001, 40, 30);
}

// Issue 16: energy that follows the RTL. The PEs' register write enables (rtl/fq_pe_*.v
// psum_we, opnd_we, valid_we, w_we), counted cycle by cycle in fq_top, equal the writes the
// fast engine's action counts give, and the energy report prices exactly those counts.
TEST_CASE("RTL PE register writes == the cost model's register terms, every PE kind", "[rtl][top][energy]") {
  using fq::rtl::RegisterWrites;
  for (const auto& t : fq::rtl::top_configs()) {
    INFO(t.name);
    RegisterWrites rtl;
    fq::timing::ActionCounts acts;
    uint64_t valid_cycles = 0, cycles = 0;
    for (uint64_t seed = 8001; seed <= 8020; ++seed) {
      const auto r = fq::rtl::run_top_case(t, seed);
      INFO(r.summary);
      INFO(r.failure);
      REQUIRE(r.pass);
      REQUIRE(r.rtl_writes == fq::rtl::register_writes(r.actions, t.arch));
      rtl.psum += r.rtl_writes.psum;
      rtl.operand += r.rtl_writes.operand;
      rtl.valid += r.rtl_writes.valid;
      rtl.weight += r.rtl_writes.weight;
      rtl.skew += r.rtl_writes.skew;
      rtl.deskew += r.rtl_writes.deskew;
      rtl.skew_shift += r.rtl_writes.skew_shift;
      rtl.deskew_shift += r.rtl_writes.deskew_shift;
      for (size_t g = 0; g < rtl.ctrl.size(); ++g) rtl.ctrl[g] += r.rtl_writes.ctrl[g];
      acts += r.actions;
      valid_cycles += r.pe_valid_cycles;
      cycles += r.total_cycles;
    }
    // The enables are real: operands once per PE-beat with data (not every cycle), the partial
    // sum also on pulses after the first cycle, the valid bit also when a stream has passed, the
    // weight sets also when a preload clears them.
    const bool pulse_kind = fq::pe_model(t.arch).work() == fq::PeModel::Work::kPulses;
    CHECK(rtl.operand == acts.pe_beats);
    CHECK(rtl.psum <= valid_cycles);
    if (pulse_kind) {
      CHECK(rtl.operand < valid_cycles);
      CHECK(rtl.psum > rtl.operand);
      CHECK(rtl.psum < valid_cycles);
    } else {
      CHECK(rtl.psum == rtl.operand);
    }
    CHECK(rtl.valid > rtl.operand);
    CHECK(rtl.weight > acts.weight_writes);
    // A skew or deskew stage is written when a row's data reaches it: every stage once per row
    // streamed, not on every beat; the histories shift on beats of the running grid only.
    const uint64_t R = static_cast<uint64_t>(t.arch.rows), C = static_cast<uint64_t>(t.arch.cols);
    CHECK(acts.array_rows > 0);
    CHECK(rtl.skew == acts.array_rows * R * (R - 1) / 2);
    CHECK(rtl.deskew == acts.array_rows * C * (C - 1) / 2);
    CHECK(rtl.skew_shift == acts.array_beats);
    CHECK(rtl.deskew_shift == acts.array_beats);
    CHECK(acts.array_rows < acts.array_beats);
    CHECK(acts.array_beats < cycles);
    // The report's register terms are these counts x bits x register_bit (configs/costs.yaml).
    const fq::cost::CostModel cm(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), t.arch);
    const double reg = cm.logic_energy("register_bit").value;
    const auto e = cm.energy_pj(acts, 1000);
    auto item = [&](const std::string& name) {
      for (const auto& i : e.items) {
        if (i.name == name) return i.value;
      }
      FAIL("no energy item " << name);
      return 0.0;
    };
    // Widths as the model was Verilated: ACC_W = pe.acc_bits, the tag TW bits (fq_array.v).
    CHECK(item("pe_psum_writes") == Approx(static_cast<double>(rtl.psum) * t.arch.acc_bits * reg));
    CHECK(item("pe_operand_regs") ==
          Approx(static_cast<double>(rtl.operand) * (9 + fq::weight_set_tag_bits(t.arch)) * reg));
    CHECK(item("pe_valid_clears") == Approx(static_cast<double>(rtl.valid - rtl.operand) * reg));
    CHECK(item("weight_load") ==
          Approx(static_cast<double>(rtl.weight) * fq::pe_model(t.arch).weight_register_bits(t.arch) * reg));
    // Skew stages hold an 8-bit activation, deskew stages an ACC_W-bit sum; the histories are
    // (1 + TW)(R - 1) valid and tag bits and C - 2 valid bits.
    CHECK(item("array_chains") ==
          Approx((8.0 * static_cast<double>(rtl.skew) + double{1} * t.arch.acc_bits * static_cast<double>(rtl.deskew)) * reg));
    const double history_bits =
        (1.0 + fq::weight_set_tag_bits(t.arch)) * (t.arch.rows - 1) + std::max(0, t.arch.cols - 2);
    CHECK(item("array_history") == Approx(static_cast<double>(rtl.skew_shift) * history_bits * reg));
    // The array controller (rtl/fq_array_ctrl.v; the RTL's enables already equal the engine's
    // counts group by group, run_top_case): a row's stream registers and metadata once per
    // row, the beat counter once per beat of the running grid, the phase counter only under W > 1
    // (MAC arrays never write it), and the report prices every group's writes at its bits.
    using fq::timing::CtrlReg;
    const auto ctrl = [&](CtrlReg g) { return rtl.ctrl[static_cast<size_t>(g)]; };
    CHECK(ctrl(CtrlReg::kInject) == acts.array_rows);
    CHECK(ctrl(CtrlReg::kBeat) == acts.array_beats);
    CHECK(ctrl(CtrlReg::kPreRow) * t.arch.cols >= acts.weight_writes);
    CHECK(ctrl(CtrlReg::kSlotRd) <= ctrl(CtrlReg::kSlotWr));
    CHECK(ctrl(CtrlReg::kSetRows) <= ctrl(CtrlReg::kMmIssue) + ctrl(CtrlReg::kInject));
    if (pulse_kind) {
      CHECK(ctrl(CtrlReg::kPhase) > ctrl(CtrlReg::kBeat));
    } else {
      CHECK(ctrl(CtrlReg::kPhase) == 0);
    }
    // The other units: every op leaves the instruction memory once; DMA and epilogue state per
    // op, chunk and row.
    CHECK(ctrl(CtrlReg::kCtlIssue) == ctrl(CtrlReg::kSlotWr) + ctrl(CtrlReg::kDinIssue) + ctrl(CtrlReg::kEpiIssue) +
                                          ctrl(CtrlReg::kDoutIssue));
    CHECK(ctrl(CtrlReg::kDinChunk) >= ctrl(CtrlReg::kDinRow));
    CHECK(ctrl(CtrlReg::kDinRow) >= ctrl(CtrlReg::kDinIssue));
    CHECK(ctrl(CtrlReg::kEpiValid1) == ctrl(CtrlReg::kEpiChunk) + ctrl(CtrlReg::kEpiIssue));
    CHECK(ctrl(CtrlReg::kDoutAck) == (t.arch.dram_latency_cycles != 0 ? ctrl(CtrlReg::kDoutIssue) : 0));
    CHECK(ctrl(CtrlReg::kDoutClock) >= ctrl(CtrlReg::kDoutAck));
    // The report prices each group's writes at its bits: the array controller's under
    // array_control, the epilogue's under epilogue_regs, the instruction controller's and the
    // DMA engines' under unit_control.
    const auto bits = fq::timing::ctrl_reg_bits(t.arch);
    double array_bits = 0, epilogue_bits = 0, unit_bits = 0;
    for (size_t g = 0; g < bits.size(); ++g) {
      const auto group = static_cast<CtrlReg>(g);
      const double written = static_cast<double>(rtl.ctrl[g] * bits[g]);
      (fq::timing::ctrl_reg_is_array(group) ? array_bits : fq::timing::ctrl_reg_is_epilogue(group) ? epilogue_bits : unit_bits) += written;
    }
    CHECK(array_bits > 0);
    CHECK(epilogue_bits > 0);
    CHECK(unit_bits > 0);
    CHECK(item("array_control") == Approx(array_bits * reg));
    CHECK(item("epilogue_regs") == Approx(epilogue_bits * reg));
    CHECK(item("unit_control") == Approx(unit_bits * reg));
  }
}

// Issue 16: pe.weight_sets in the RTL. One decode-shaped GEMM (M = 1, many tiles: preload-bound)
// runs on the models of both presets of a pair, which differ only in pe.weight_sets (and b4x3_s4
// in its weight ring, a compiler choice). Each model must compute the golden bytes and complete
// every op in the cycle the fast engine gives for its own number of sets, and the extra sets
// must save cycles.
TEST_CASE("pe.weight_sets 1, 3 and 4 in the RTL: the fast engine's cycles for each, fewer with more sets",
          "[rtl][top][weight_sets]") {
  auto config = [](const std::string& name) -> const fq::rtl::TopConfig& {
    for (const auto& t : fq::rtl::top_configs()) {
      if (t.name == name) return t;
    }
    FAIL("no configuration " << name);
    throw;
  };
  const struct {
    const char* fewer;
    const char* more;
  } pairs[] = {{"m4x4_s1", "m4x4"}, {"t4x3", "t4x3_s3"}, {"b4x3", "b4x3_s4"}};
  for (const auto& p : pairs) {
    const auto& fewer = config(p.fewer);
    const auto& more = config(p.more);
    INFO(p.fewer << " (" << fewer.arch.weight_sets << " sets) vs " << p.more << " (" << more.arch.weight_sets << ")");
    REQUIRE(fewer.arch.weight_sets < more.arch.weight_sets);
    const fq::HwFormat format = fq::pe_model(more.arch).weight_format(more.arch);
    const std::vector<fq::QTensor> w = {fq::random_qtensor("g0", format, 6, 96, 16)};
    const std::vector<fq::QuantizedActs> a = {fq::random_acts(1, 96, 17)};
    const auto layer_fewer = fq::test::compile_with(fewer.arch, w, a, -1);
    const auto layer_more = fq::test::compile_with(more.arch, w, a, -1);
    const auto r_fewer = fq::rtl::run_top_program(fewer, layer_fewer.program, layer_fewer.memory);
    const auto r_more = fq::rtl::run_top_program(more, layer_more.program, layer_more.memory);
    INFO("cycles: " << r_fewer.rtl_cycles << " vs " << r_more.rtl_cycles);
    CHECK(r_fewer.failure == "");
    CHECK(r_more.failure == "");
    CHECK(r_fewer.rtl_cycles == r_fewer.fast_cycles);
    CHECK(r_more.rtl_cycles == r_more.fast_cycles);
    CHECK(r_more.rtl_cycles < r_fewer.rtl_cycles);
  }
}
