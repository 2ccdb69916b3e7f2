// The registered engine "golden": the golden interpreter (model/ir/tile_interpreter.h), ops
// one at a time in program order. It computes the bytes every timed engine must produce and no
// cycles.
#include "model/ir/tile_interpreter.h"
#include "sim/engine.h"

namespace fq::sim {
namespace {

class Golden final : public Engine {
 public:
  std::string name() const override { return "golden"; }
  std::string description() const override { return "the golden interpreter: ops in program order; data, no cycles"; }
  EngineParts parts() const override { return {.bytes = true, .cycles = false, .op_timeline = false}; }

 protected:
  EngineResult execute(const ArchConfig& arch, const ir::TileProgram& program, ir::MemoryImage memory,
                       const EngineOptions& options) const override {
    refuse_option(!options.vcd.empty(), "--vcd");
    refuse_rtl_options(options);
    EngineResult r;
    const golden::InterpreterStats stats = golden::run_tile_program(program, arch, memory);
    r.memory = std::move(memory);
    r.events = {{"ops", stats.ops}, {"macs", stats.macs}};
    return r;
  }
};

}  // namespace
}  // namespace fq::sim

FQ_REGISTER_ENGINE(golden, fq::sim::Golden);
