#include "top_cases.h"

#include "top_models.h"  // generated: the Vtop_* models of configs/test/rtl_*.yaml

#include "model/arch/pe_model.h"
#include "model/core/error.h"
#include "sim/divergence.h"
#include "sim/engine.h"
#include "sim/sim_cases.h"
#include "sim/rtl/top_harness.h"

#include <verilated_fst_c.h>

#include <fmt/format.h>

#include <memory>
#include <random>

namespace fq::rtl {

const std::vector<TopConfig>& top_configs() {
#define FQ_TOP_CONFIG(NAME, MODEL, PARAMS) TopConfig{#NAME, load_arch(FQ_RTL_PRESET_DIR "/rtl_" #NAME ".yaml"), PARAMS},
  static const std::vector<TopConfig> configs = {FQ_RTL_TOP_MODELS(FQ_TOP_CONFIG)};
#undef FQ_TOP_CONFIG
  return configs;
}

RegisterWrites register_writes(const timing::ActionCounts& a, const ArchConfig& arch) {
  const auto R = static_cast<uint64_t>(arch.rows), C = static_cast<uint64_t>(arch.cols);
  return {.psum = a.pe_psum_writes, .operand = a.pe_beats, .valid = a.pe_beats + a.pe_valid_clears,
          .weight = a.weight_writes + a.weight_clears, .skew = a.array_rows * (R * (R - 1) / 2),
          .deskew = a.array_rows * (C * (C - 1) / 2), .skew_shift = a.array_beats, .deskew_shift = a.array_beats,
          .ctrl = a.ctrl_writes};
}

namespace {

// A run of the Verilated top as the engines' comparators take it: bytes, done cycles, additions.
sim::EngineResult as_engine_result(const TopRun& run, ir::MemoryImage memory) {
  sim::EngineResult rtl;
  rtl.engine = "rtl";
  rtl.memory = std::move(memory);
  rtl.done = run.done;
  rtl.total = run.total_cycles;
  rtl.pe_additions = run.pulses;
  return rtl;
}

template <typename V>
CaseResult run_on(const TopConfig& t, uint64_t seed, int stall_percent, const std::string& wave) {
  const ArchConfig& arch = t.arch;
  const HwFormat format = pe_model(arch).weight_format(arch);
  // Every configuration gets its own programs for the same seed numbers.
  uint64_t salt = 1469598103934665603ull;
  for (char ch : t.name) salt = (salt ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
  std::mt19937_64 rng(seed ^ salt);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<QTensor> w;
  std::vector<QuantizedActs> a;
  const int gemms = uni(1, 2);
  CaseResult r;
  r.summary = fmt::format("top.{}.seed{}:", t.name, seed);
  for (int g = 0; g < gemms; ++g) {
    const int m = uni(1, 9), n = uni(1, 10), k = uni(1, 16);
    w.push_back(random_qtensor(fmt::format("g{}", g), format, n, k, rng()));
    a.push_back(random_acts(m, k, rng()));
    r.summary += fmt::format(" M={} N={} K={}", m, n, k);
  }
  const auto layer = test::compile_with(arch, w, a, uni(0, 1000));
  const sim::EngineResult golden = sim::find_engine("golden").run(arch, layer.program, layer.memory);
  const sim::EngineResult fast_run = sim::find_engine("fast").run(arch, layer.program, layer.memory);
  const timing::Timeline& fast = *fast_run.timeline;
  ir::MemoryImage mem = layer.memory;
  auto top = std::make_unique<V>();
  std::unique_ptr<VerilatedFstC> fst;
  if (!wave.empty()) {
    Verilated::traceEverOn(true);
    fst = std::make_unique<VerilatedFstC>();
    top->trace(fst.get(), 99);
    fst->open(wave.c_str());
  }
  std::function<void(uint64_t)> dump;
  if (fst) dump = [&](uint64_t time) { fst->dump(time); };
  const TopRun run = run_top(*top, layer.program, arch, mem, stall_percent, seed, dump, FQ_TOP_IDEPTH);
  if (fst) fst->close();
  r.summary += fmt::format(", {} ops, {} cycles", layer.program.size(), run.total_cycles);
  r.rtl_writes = {run.psum_writes, run.operand_writes, run.valid_writes, run.weight_writes,
                  run.skew_writes, run.deskew_writes, run.skew_shifts, run.deskew_shifts, run.ctrl_writes};
  r.actions = fast.actions;
  r.pe_valid_cycles = run.pe_valid_cycles;
  r.total_cycles = run.total_cycles;
  const sim::EngineResult rtl = as_engine_result(run, std::move(mem));
  if (const auto d = sim::first_byte_divergence(layer.program, golden, rtl)) {
    r.failure = d->message;
    return r;
  }
  if (!(*rtl.memory == *golden.memory)) {  // here the FP32 outputs too must be bit-identical
    r.failure = "FP32 outputs differ from the golden interpreter's within the spec's tolerance";
    return r;
  }
  if (stall_percent == 0) {
    if (const auto d = sim::first_cycle_divergence(layer.program, arch, fast_run, rtl)) {
      r.failure = d->message;
      return r;
    }
    // PE-cycles holding data: temporal pulses plus idle cycles, MAC PE-beats.
    const uint64_t want_valid = pe_model(arch).work() == PeModel::Work::kPulses
                                    ? fast.actions.pe_pulses + fast.actions.pe_idle_cycles
                                    : fast.actions.pe_beats;
    if (run.pe_valid_cycles != want_valid) {
      r.failure = fmt::format("{} PE-cycles with data in the RTL, {} in the fast engine", run.pe_valid_cycles, want_valid);
      return r;
    }
    // Every PE register write the RTL's enables make is one the cost model charges.
    const RegisterWrites want = register_writes(fast.actions, arch);
    if (r.rtl_writes != want) {
      const auto list = [](const RegisterWrites& x) {
        std::string ctrl;
        for (size_t g = 0; g < x.ctrl.size(); ++g) {
          ctrl += fmt::format(" {}={}", timing::ctrl_reg_name(static_cast<timing::CtrlReg>(g)), x.ctrl[g]);
        }
        return fmt::format("{} {} {} {} {} {} {} {};{}", x.psum, x.operand, x.valid, x.weight, x.skew, x.deskew,
                           x.skew_shift, x.deskew_shift, ctrl);
      };
      r.failure = fmt::format("register writes (psum, operands, valid, weights, skew, deskew, skew and deskew history "
                              "shifts; array controller): RTL {}, fast engine {}",
                              list(r.rtl_writes), list(want));
      return r;
    }
    r.summary += " (= fast engine)";
  } else {
    r.summary += fmt::format(" with {}% DRAM stalls ({} without)", stall_percent, fast.total_cycles);
  }
  r.pass = true;
  return r;
}

template <typename V>
ProgramResult program_on(const TopConfig& t, const ir::TileProgram& program, const ir::MemoryImage& memory) {
  const sim::EngineResult golden = sim::find_engine("golden").run(t.arch, program, memory);
  const sim::EngineResult fast = sim::find_engine("fast").run(t.arch, program, memory);
  ir::MemoryImage mem = memory;
  auto top = std::make_unique<V>();
  const TopRun run = run_top(*top, program, t.arch, mem, 0, 0, {}, FQ_TOP_IDEPTH);
  ProgramResult r;
  r.rtl_cycles = run.total_cycles;
  r.fast_cycles = fast.total_cycles();
  const sim::EngineResult rtl = as_engine_result(run, std::move(mem));
  if (const auto d = sim::first_byte_divergence(program, golden, rtl)) {
    r.failure = d->message;
  } else if (const auto c = sim::first_cycle_divergence(program, t.arch, fast, rtl)) {
    r.failure = c->message;
  }
  return r;
}

}  // namespace

ProgramResult run_top_program(const TopConfig& t, const ir::TileProgram& program, const ir::MemoryImage& memory) {
#define FQ_TOP_PROGRAM(NAME, MODEL, PARAMS) \
  if (t.name == #NAME) return program_on<MODEL>(t, program, memory);
  FQ_RTL_TOP_MODELS(FQ_TOP_PROGRAM)
#undef FQ_TOP_PROGRAM
  fail("no RTL model named '{}'", t.name);
}

CaseResult run_top_case(const TopConfig& t, uint64_t seed, int stall_percent, const std::string& wave) {
#define FQ_TOP_RUN(NAME, MODEL, PARAMS) \
  if (t.name == #NAME) return run_on<MODEL>(t, seed, stall_percent, wave);
  FQ_RTL_TOP_MODELS(FQ_TOP_RUN)
#undef FQ_TOP_RUN
  fail("no RTL model named '{}'", t.name);
}

}  // namespace fq::rtl
