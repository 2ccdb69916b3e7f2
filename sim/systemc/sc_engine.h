// The SystemC model: the accelerator as clocked SystemC processes, one per unit (controller,
// DMA in, array, epilogue, DMA out), each a thin wrapper around the plain C++ core of
// sim/cycle/cycle_machine.h. The controller issues at the falling edge, the units work at the
// rising edge, so a cycle's issue decisions always see the previous cycle's completions.
// Contract: as CycleMachine (a verified program; results written to `memory`). SystemC allows
// one kernel per process: every call reuses it, one run at a time, from one thread.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <functional>

namespace fq::sim {

struct SystemcStats {
  uint64_t cycles_simulated = 0;  // clock cycles the kernel ran for this program
  uint64_t pe_cycles = 0;         // PE-cycles the array evaluated
  uint64_t pe_adds = 0;           // weight-stationary PE additions counted cycle by cycle
};

// `progress`, when given, is called with the number of ops completed every 2^14 cycles.
timing::Timeline run_systemc(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory,
                             SystemcStats* stats = nullptr, const std::function<void(uint64_t)>& progress = {});

}  // namespace fq::sim
