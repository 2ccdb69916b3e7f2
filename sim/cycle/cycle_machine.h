// The accelerator stepped cycle by cycle in plain C++ (docs/architecture.md "Micro-architecture
// and timing"), built from one core per unit: controller (controller.h), DMA read and write
// channels with the DRAM model (dma.h, dram.h), the four buffers and the op record (unit.h),
// the array (array_core.h) and the epilogue (epilogue.h). The SystemC model (sim/systemc) wraps
// each core in its own module; CycleMachine::step() runs the same cores without a kernel.
// Contract: cycle c is the controller's issue(c) followed by every unit's work(c), in any order
// among the units: work only stamps completions at c + 1 or later, and a unit reports an op
// done to the controller only once its done cycle has come, so the order of the units never
// changes the result. The program must have passed ir::verify() for `arch`; results land in
// `memory` exactly as the golden interpreter's.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"
#include "sim/cycle/array_core.h"
#include "sim/cycle/controller.h"
#include "sim/cycle/dma.h"
#include "sim/cycle/dram.h"
#include "sim/cycle/epilogue.h"
#include "sim/cycle/unit.h"

#include <cstdint>

namespace fq::sim {

// Every unit's core, wired to DRAM ports; the kernel-free machine and the SystemC modules
// drive the same set.
struct UnitCores {
  UnitCores(const ir::TileProgram& program, const ArchConfig& arch, DramPort& read, DramPort& write);

  // Under timing: scalesim, DMA and dequant are SCALE-Sim's ideal memory: they finish in the
  // cycle they issue, and any number issue in one cycle.
  bool zero_time(ir::Unit u) const { return scalesim && u != ir::Unit::kArray; }
  bool can_take(ir::Unit u, ir::OpId id, uint64_t c) const;
  void take(ir::Unit u, ir::OpId id, uint64_t c);
  uint32_t retire(ir::Unit u, uint64_t c);
  // The controller's decisions of cycle c (issue and zero-time completion): `ready(u, id, c)`
  // says whether unit u can take its head op, `take(u, id, c)` hands it over.
  template <typename Ready, typename Take>
  void issue(uint64_t c, Ready ready, Take take);
  timing::Timeline timeline() const { return log.timeline(program); }

  const ir::TileProgram& program;
  const bool scalesim;
  Buffers buf;
  Ledger log;
  ControllerCore ctrl;
  DmaReadCore dma_in;
  ArrayCore array;
  EpilogueCore epilogue;
  DmaWriteCore dma_out;
};

template <typename Ready, typename Take>
void UnitCores::issue(uint64_t c, Ready ready, Take take_op) {
  // A unit issues at most one op per cycle (any number of zero-time ops); zero-time ops can
  // enable others within the cycle.
  std::array<bool, ir::kNumUnits> issued{};
  bool changed = true;
  while (changed) {
    changed = false;
    for (int ui = 0; ui < ir::kNumUnits; ++ui) {
      const auto u = static_cast<ir::Unit>(ui);
      while ((!issued[static_cast<size_t>(ui)] || zero_time(u)) && ctrl.head_ready(u) && ready(u, ctrl.head(u), c)) {
        take_op(u, ctrl.head(u), c);
        ctrl.took(u, c);
        if (zero_time(u)) ctrl.retired(u, retire(u, c));
        issued[static_cast<size_t>(ui)] = true;
        changed = true;
      }
    }
  }
}

class CycleMachine {
 public:
  CycleMachine(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory);
  CycleMachine(const CycleMachine&) = delete;
  CycleMachine& operator=(const CycleMachine&) = delete;

  // issue(c) then every unit's work(c), for c = 0, 1, 2, ... until finished().
  void step();

  bool finished() const { return m_cores.ctrl.finished(); }
  uint64_t ops_completed() const { return m_cores.ctrl.ops_retired(); }
  uint64_t cycle() const { return m_next; }                   // cycles stepped
  uint64_t last_progress() const { return m_cores.log.last_progress; }  // last issue or completion
  uint64_t pe_cycles_stepped() const { return m_cores.array.pe_cycles(); }
  uint64_t pe_adds_stepped() const { return m_cores.array.pe_adds(); }  // weight-stationary PE additions
  timing::Timeline timeline() const { return m_cores.timeline(); }    // valid once finished()

 private:
  DramModel m_dram;
  UnitCores m_cores;
  uint64_t m_next = 0;
};

}  // namespace fq::sim
