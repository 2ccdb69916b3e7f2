// The RTL engine: runs a tile program on the Verilog of rtl/ (fq_top) through Verilator.
// The fq_top parameters follow the arch, so the engine builds one runner executable per arch
// (Verilator --build of rtl/*.v and sim/rtl/rtl_runner_main.cpp) and keeps it in a cache keyed
// by the RTL sources, the runner, the parameters and the Verilog defines; later runs reuse it.
// Contract: the program has passed ir::verify() for `arch`; on return `memory` holds what the
// RTL wrote and `done` the cycle every op completed (cycle 0 = the controller's first cycle).
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fq::sim {

struct RtlOptions {
  // Default: $FQSIM_RTL_CACHE, else $XDG_CACHE_HOME/fqsim/rtl (or ~/.cache/fqsim/rtl), where a
  // missing runner is built, with the build tree's rtl-cache (filled by the tests' rtl_runner.*
  // fixtures and the rtl_runners target) also searched.
  std::string cache_dir;
  std::vector<std::string> defines;  // Verilog `define names (fault injection in tests)
  std::string wave;                  // write an FST waveform here (builds a tracing runner)
  int build_jobs = 0;                // compiler processes of a runner build; 0: one per core
  std::function<void(const std::string&)> status;  // progress messages (the build takes minutes)
};

struct RtlResult {
  std::vector<uint64_t> done;  // per op
  uint64_t total_cycles = 0;
  uint64_t pulses = 0;         // PE additions (temporal pulses or MAC products)
  std::string runner;          // the executable used
};

// Empty when the RTL implements `arch`, else why not (output-stationary, scalesim timing, ...).
std::string rtl_unsupported(const ArchConfig& arch);

// The fq_top parameters (-GNAME=VALUE) of the design for `arch`, its buffer and DRAM port
// capacities equal to the arch's sizes (tests/rtl checks that its models of configs/test/rtl_*.yaml
// are Verilated with the same ones). The beat window, buffer sizes and DRAM bytes per cycle and
// latency are fq_top's run-time inputs, which the harness sets from the arch.
std::vector<std::string> rtl_parameters(const ArchConfig& arch);
// The parameters a runner is Verilated with (part of its cache key): as rtl_parameters, with the
// capacities rounded up (a power of two, at least 1 MiB per buffer and 64 DRAM bytes), so archs
// that differ only in run-time values share one runner.
std::vector<std::string> rtl_runner_parameters(const ArchConfig& arch);
// Empty when the RTL's instruction memories hold `program`, else why not.
std::string rtl_program_unsupported(const ir::TileProgram& program);

// The runner executable for `arch` (and options.defines), built and cached on first use.
std::string rtl_runner(const ArchConfig& arch, const RtlOptions& options = {});

RtlResult run_rtl(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory,
                  const RtlOptions& options = {});

}  // namespace fq::sim
