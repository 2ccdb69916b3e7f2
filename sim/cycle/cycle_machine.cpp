#include "sim/cycle/cycle_machine.h"

namespace fq::sim {

using ir::Unit;

timing::Timeline Ledger::timeline(const ir::TileProgram& p) const {
  timing::Timeline tl;
  tl.ops.resize(p.size());
  for (size_t id = 0; id < p.size(); ++id) {
    tl.ops[id] = {issue[id], finish[id], done[id], beat[id]};
    if (done[id] != kNever) tl.total_cycles = std::max(tl.total_cycles, done[id]);
  }
  tl.gemm_actions = gacts;
  tl.gemm_actions.resize(p.gemms.size());
  for (const auto& a : tl.gemm_actions) tl.actions += a;
  return tl;
}

UnitCores::UnitCores(const ir::TileProgram& p, const ArchConfig& arch, DramPort& read, DramPort& write)
    : program(p), scalesim(arch.timing == TimingModel::kScaleSim), buf(arch), log(p), ctrl(p, log),
      dma_in({p, arch, buf, log}, read), array({p, arch, buf, log}), epilogue({p, arch, buf, log}),
      dma_out({p, arch, buf, log}, write) {
  // The control registers the RTL has (rtl/fq_*.v): weight stationary, default timing.
  log.count_ctrl = !scalesim && arch.dataflow == Dataflow::kWeightStationary;
}

bool UnitCores::can_take(Unit u, ir::OpId id, uint64_t c) const {
  switch (u) {
    case Unit::kDmaIn: return dma_in.can_take(id, c);
    case Unit::kArray: return array.can_take(id, c);
    case Unit::kEpilogue: return epilogue.can_take(id, c);
    case Unit::kDmaOut: return dma_out.can_take(id, c);
  }
  return false;
}

void UnitCores::take(Unit u, ir::OpId id, uint64_t c) {
  switch (u) {
    case Unit::kDmaIn: dma_in.take(id, c); break;
    case Unit::kArray: array.take(id, c); break;
    case Unit::kEpilogue: epilogue.take(id, c); break;
    case Unit::kDmaOut: dma_out.take(id, c); break;
  }
}

uint32_t UnitCores::retire(Unit u, uint64_t c) {
  switch (u) {
    case Unit::kDmaIn: return dma_in.retire(c);
    case Unit::kArray: return array.retire(c);
    case Unit::kEpilogue: return epilogue.retire(c);
    case Unit::kDmaOut: return dma_out.retire(c);
  }
  return 0;
}

CycleMachine::CycleMachine(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory)
    : m_dram(memory, arch), m_cores(program, arch, m_dram, m_dram) {}

void CycleMachine::step() {
  const uint64_t c = m_next++;
  UnitCores& k = m_cores;
  k.issue(
      c, [&k](Unit u, ir::OpId id, uint64_t cc) { return k.can_take(u, id, cc); },
      [&k](Unit u, ir::OpId id, uint64_t cc) { k.take(u, id, cc); });
  // Each unit's work of cycle c; what becomes done at c + 1 is reported for issue(c + 1).
  k.dma_in.work(c);
  k.ctrl.retired(Unit::kDmaIn, k.dma_in.retire(c + 1));
  k.array.work(c);
  k.ctrl.retired(Unit::kArray, k.array.retire(c + 1));
  k.epilogue.work(c);
  k.ctrl.retired(Unit::kEpilogue, k.epilogue.retire(c + 1));
  k.dma_out.work(c);
  k.ctrl.retired(Unit::kDmaOut, k.dma_out.retire(c + 1));
}

}  // namespace fq::sim
