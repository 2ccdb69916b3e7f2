// Engines behind one interface (docs/architecture.md "Engines"): every engine that executes a
// tile program (golden, fast, systemc, rtl) is an Engine, registered by name in its own file with
// FQ_REGISTER_ENGINE, and returns one EngineResult. Commands find engines by name
// (find_engine) and check what they need (EngineParts) before they run one.
// Contract: run() refuses (fq::Error, naming the engine and the reason) an arch or program the
// engine does not implement and an option it does not take; it never ignores either. A part of
// the result the engine does not produce is absent (nullopt), never zero.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fq::sim {

// What an engine's results carry (the same for every arch it accepts).
struct EngineParts {
  bool bytes = false;        // the DRAM image after the run (the outputs)
  bool cycles = false;       // the done cycle of every op and the total cycles
  bool op_timeline = false;  // every op's issue, finish and beat as well, and the action counts
};

struct EngineResult {
  std::string engine;
  // Issue, finish, done and beat of every op, total cycles, action counts (engines with op_timeline).
  std::optional<timing::Timeline> timeline;
  // Engines with cycles but no op timeline (rtl): the done cycle of every op and the total.
  std::optional<std::vector<uint64_t>> done;
  std::optional<uint64_t> total;
  // The DRAM image after the run (engines with bytes).
  std::optional<ir::MemoryImage> memory;
  // PE additions the engine counted as it computed them (systemc on weight-stationary arrays, rtl);
  // the timeline's pe_pulses + pe_macs are what the contract says are due.
  std::optional<uint64_t> pe_additions;
  // Engine-specific events: what the engine did to get the result (systemc: cycles_simulated,
  // pe_cycles; golden: ops, macs), for speed figures and logs.
  std::vector<std::pair<std::string, uint64_t>> events;
  std::string runner;  // rtl: the Verilated executable used

  bool timed() const { return timeline.has_value() || done.has_value(); }
  uint64_t total_cycles() const;          // timed() only
  uint64_t done_cycle(size_t op) const;   // timed() only
  std::optional<uint64_t> event(const std::string& name) const;
};

// Options some engines take; an engine given one it does not take refuses the run.
struct EngineOptions {
  std::function<void(uint64_t)> progress;          // ops scheduled or completed so far (fast, systemc)
  std::function<void(const std::string&)> status;  // stage messages (rtl: the runner build takes minutes)
  std::filesystem::path vcd;                       // systemc: the unit signals as a VCD file
  std::string rtl_cache;                           // rtl: where runners are kept (sim/rtl/rtl_engine.h)
  std::vector<std::string> rtl_defines;            // rtl: Verilog defines (fault injection)
  std::string wave;                                // rtl: an FST waveform of the run
  int rtl_build_jobs = 0;                          // rtl: compiler processes of a runner build (0: one per core)
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;  // one line for --help and error messages
  virtual EngineParts parts() const = 0;
  // Whether threads of one process may run it at the same time (SystemC: one kernel per process).
  virtual bool concurrent() const { return true; }
  // Why the engine cannot run programs for `arch`, or nullopt when it can.
  virtual std::optional<std::string> refusal(const ArchConfig& arch) const;
  // The same for one program (e.g. more ops than the RTL's instruction memories hold).
  virtual std::optional<std::string> refusal(const ArchConfig& arch, const ir::TileProgram& program) const;
  // Runs a verified program on `memory` (pass a copy to keep the original: engines with bytes
  // return the image they wrote in EngineResult::memory). Fails with the refusal, if any.
  EngineResult run(const ArchConfig& arch, const ir::TileProgram& program, ir::MemoryImage memory,
                   const EngineOptions& options = {}) const;

 protected:
  virtual EngineResult execute(const ArchConfig& arch, const ir::TileProgram& program, ir::MemoryImage memory,
                               const EngineOptions& options) const = 0;
  // Fails naming the option when it is given (`what`: "--vcd", ...) and this engine does not take it.
  void refuse_option(bool given, const char* what) const;
  void refuse_rtl_options(const EngineOptions& options) const;  // --wave, --rtl-define, --rtl-cache
};

// The engine registered as `name`; an unknown name fails with the registered names, naming the
// command-line option (or YAML key) `option` it came from.
const Engine& find_engine(const std::string& name, const std::string& option = "engine");
// Registered names, sorted.
std::vector<std::string> engine_names();
// "a,b,c" into engines (each found by name); `option` names the command-line option in errors.
std::vector<const Engine*> find_engines(const std::string& list, const std::string& option);
// Fails unless `engine` produces the parts in `need`: "CONTEXT: the NAME engine gives no X; WHY"
// (`why` says what the command needs the part for).
void require_parts(const Engine& engine, const EngineParts& need, const std::string& context, const std::string& why);

namespace detail {
struct EngineRegistration {
  EngineRegistration(std::unique_ptr<Engine> (*make)());
};
}  // namespace detail

}  // namespace fq::sim

// Registers CLASS (an Engine with a default constructor) under its name(). Use once per engine,
// at global scope in the engine's own .cpp. The anchor symbol fq_engine_anchor_NAME is what the
// library's link option (sim/CMakeLists.txt, --undefined) names so that a static library keeps the
// object file, and with it the registration, in every program.
#define FQ_REGISTER_ENGINE(NAME, CLASS)                                                              \
  extern "C" {                                                                                        \
  extern const int fq_engine_anchor_##NAME;                                                           \
  const int fq_engine_anchor_##NAME = 0;                                                              \
  }                                                                                                   \
  static const ::fq::sim::detail::EngineRegistration fq_engine_registration_##NAME(                   \
      +[]() -> std::unique_ptr<::fq::sim::Engine> { return std::make_unique<CLASS>(); })
