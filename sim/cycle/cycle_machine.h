// The accelerator stepped cycle by cycle in plain C++ (docs/architecture.md "Micro-architecture
// and timing"): controller (issue and in-order completion), DMA engines with the DRAM channel
// model, the four buffers, the cluster decoder, the R x C array of temporal-coding or MAC PEs
// with input skew and output deskew, and the dequantisation epilogue. The SystemC model
// (sim/systemc) is a thin wrapper that calls these phases from clocked processes; step() runs
// them without a kernel.
// Contract: a cycle is issue(c) followed by every unit's work(c), in any order among the units:
// work only stamps completions at c + 1 or later and issue only reads completions <= c, so the
// order of the units' processes never changes the result. The program must have passed
// ir::verify() for `arch`; results land in `memory` exactly as the golden interpreter's.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace fq::sim {

class CycleMachine {
 public:
  CycleMachine(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory);
  ~CycleMachine();
  CycleMachine(const CycleMachine&) = delete;
  CycleMachine& operator=(const CycleMachine&) = delete;

  // The phases of cycle c (see the contract above).
  void issue(uint64_t c);
  void work_dma_in(uint64_t c);
  void work_array(uint64_t c);
  void work_epilogue(uint64_t c);
  void work_dma_out(uint64_t c);
  // issue(c) then every work phase, for c = 0, 1, 2, ... until finished().
  void step();

  bool finished() const;                // every op completed
  uint64_t ops_completed() const;
  uint64_t cycle() const;               // cycles stepped by step()
  uint64_t last_progress() const;       // last cycle an op issued or completed
  uint64_t pe_cycles_stepped() const;   // PE-cycles the array evaluated
  uint64_t pe_adds_stepped() const;     // weight-stationary PE additions counted cycle by cycle
  timing::Timeline timeline() const;    // valid once finished()

 private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

}  // namespace fq::sim
