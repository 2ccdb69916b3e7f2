// run_systemc(): one program on the SystemC model (sc_top.h: a module per unit, signals between
// them, the built-in DRAM as a TLM-2.0 target, sc_dram.h), clocked by its own sc_clock.
// Contract: as CycleMachine (a verified program; results written to `memory`). SystemC allows
// one kernel per process: every call reuses the same modules, one run at a time, from one
// thread; a VCD trace can only be set up by the first call of a process.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <filesystem>
#include <functional>

namespace fq::sim {

struct SystemcStats {
  uint64_t cycles_simulated = 0;  // clock cycles the kernel ran for this program
  uint64_t pe_cycles = 0;         // PE-cycles the array evaluated
  uint64_t pe_adds = 0;           // weight-stationary PE additions counted cycle by cycle
};

struct SystemcOptions {
  // When set: every handshake and activity signal as a VCD file (written whole or not at all).
  std::filesystem::path vcd;
};

// `progress`, when given, is called with the number of ops completed every 2^14 cycles.
timing::Timeline run_systemc(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory,
                             SystemcStats* stats = nullptr, const std::function<void(uint64_t)>& progress = {},
                             const SystemcOptions& options = {});

}  // namespace fq::sim
