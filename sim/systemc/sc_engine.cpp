#include "sim/systemc/sc_engine.h"

#include "model/core/error.h"
#include "sim/engine.h"
#include "sim/cycle/cycle_machine.h"
#include "sim/systemc/sc_dram.h"
#include "sim/systemc/sc_top.h"

#include <systemc>

#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <system_error>

// libsystemc's own main() calls sc_main(); fqsim's programs have their own main() and start the
// kernel from run_systemc(), so this definition only satisfies the library's reference. Weak: the
// engine registry links this file into every program, including a user's SystemC platform
// (tests/sim/platform) that defines its own sc_main.
__attribute__((weak)) int sc_main(int /*argc*/, char* /*argv*/[]) { return 2; }

namespace fq::sim {
namespace {

// The platform run_systemc() drives: a clock, the accelerator, the built-in DRAM.
class System : public sc_core::sc_module {
 public:
  explicit System(const sc_core::sc_module_name& name)
      : sc_core::sc_module(name),
        clk("clk", sc_core::sc_time(sc::fq_top::kPeriodNs, sc_core::SC_NS), 0.5, sc_core::SC_ZERO_TIME, false),
        top("top"), dram("dram", sc_core::sc_time(sc::fq_top::kPeriodNs, sc_core::SC_NS)), finished("finished") {
    top.clk(clk);
    top.finished(finished);
    top.dram_rd.bind(dram.rd);
    top.dram_wr.bind(dram.wr);
  }
  sc_core::sc_clock clk;
  sc::fq_top top;
  sc::fq_dram dram;
  sc_core::sc_signal<bool> finished;
};

struct Platform {
  System* system = nullptr;
  sc_core::sc_trace_file* vcd = nullptr;
  std::filesystem::path vcd_path, vcd_tmp;
};

Platform& platform(const SystemcOptions& options) {
  static Platform p;
  if (p.system == nullptr) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    p.system = new System("fqsim");  // lives as long as the kernel
    if (!options.vcd.empty()) {
      p.vcd_path = options.vcd;
      p.vcd_tmp = options.vcd;
      p.vcd_tmp += ".tmp";  // SystemC appends ".vcd"
      {
        // The kernel opens the file only when it starts and does not survive failing to.
        std::filesystem::path probe = p.vcd_tmp;
        probe += ".vcd";
        if (!std::ofstream(probe)) fail("{}: cannot write the VCD trace", options.vcd.string());
      }
      p.vcd = sc_core::sc_create_vcd_trace_file(p.vcd_tmp.string().c_str());
      if (p.vcd == nullptr) fail("{}: cannot create the VCD trace", options.vcd.string());
      // 100 ps resolves the half-cycle edges of the 1 ns clock; the kernel's note about it is noise.
      sc_core::sc_report_handler::set_actions("tracing timescale unit set", sc_core::SC_DO_NOTHING);
      p.vcd->set_time_unit(100, sc_core::SC_PS);
      p.system->top.trace(p.vcd);
    }
  } else if (!options.vcd.empty()) {
    fail("{}: a VCD trace can only be set up by the first SystemC run of a process", options.vcd.string());
  }
  return p;
}

// Closes the VCD after the run it traced: renamed into place when the run succeeded.
void finish_vcd(Platform& p, bool ok) {
  if (p.vcd == nullptr) return;
  sc_core::sc_close_vcd_trace_file(p.vcd);
  p.vcd = nullptr;
  std::filesystem::path written = p.vcd_tmp;
  written += ".vcd";
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(written, ec);
    return;
  }
  std::filesystem::rename(written, p.vcd_path, ec);
  if (ec) {
    std::filesystem::remove(written, ec);
    fail("{}: cannot write the VCD trace", p.vcd_path.string());
  }
}

}  // namespace

timing::Timeline run_systemc(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory,
                             SystemcStats* stats, const std::function<void(uint64_t)>& progress,
                             const SystemcOptions& options) {
  Platform& p = platform(options);
  System& sys = *p.system;
  UnitCores cores(program, arch, sys.top.read_port(), sys.top.write_port());
  if (program.size() != 0) {
    sys.dram.load(memory, arch);
    sys.top.load(cores, &progress);
    try {
      sc_core::sc_start();
    } catch (...) {
      finish_vcd(p, false);
      throw;
    }
    if (sys.top.state().error) {
      finish_vcd(p, false);
      std::rethrow_exception(sys.top.state().error);
    }
    if (!cores.ctrl.finished()) {
      finish_vcd(p, false);
      fail("SystemC model: the kernel stopped before the program completed");
    }
  }
  finish_vcd(p, true);
  if (stats != nullptr) {
    stats->cycles_simulated = program.size() != 0 ? sys.top.state().cycles : 0;
    stats->pe_cycles = cores.array.pe_cycles();
    stats->pe_adds = cores.array.pe_adds();
  }
  return cores.timeline();
}

namespace {

// The registered engine "systemc": the machine stepped cycle by cycle, computing the data.
class Systemc final : public Engine {
 public:
  std::string name() const override { return "systemc"; }
  std::string description() const override {
    return "the cycle-accurate SystemC model (sim/systemc), data and cycles; one run at a time per process";
  }
  EngineParts parts() const override { return {.bytes = true, .cycles = true, .op_timeline = true}; }
  bool concurrent() const override { return false; }

 protected:
  EngineResult execute(const ArchConfig& arch, const ir::TileProgram& program, ir::MemoryImage memory,
                       const EngineOptions& options) const override {
    refuse_rtl_options(options);
    EngineResult r;
    SystemcStats stats;
    SystemcOptions sc;
    sc.vcd = options.vcd;
    r.timeline = run_systemc(program, arch, memory, &stats, options.progress, sc);
    r.memory = std::move(memory);
    // The array counts additions cycle by cycle only in the weight-stationary dataflow.
    if (arch.dataflow == Dataflow::kWeightStationary) r.pe_additions = stats.pe_adds;
    r.events = {{"cycles_simulated", stats.cycles_simulated}, {"pe_cycles", stats.pe_cycles}};
    return r;
  }
};

}  // namespace

}  // namespace fq::sim

FQ_REGISTER_ENGINE(systemc, fq::sim::Systemc);
