// The controller core (rtl/fq_controller.v): one in-order instruction queue per unit, each
// unit's head op offered to its unit once every op it depends on is done. It learns of
// completions only as counts of ops each unit reports done (in order, as the RTL's retire
// inputs), so it needs no view of the units' state.
#pragma once

#include "model/ir/tile_program.h"
#include "sim/cycle/unit.h"

#include <array>
#include <cstdint>
#include <vector>

namespace fq::sim {

class ControllerCore {
 public:
  static constexpr ir::OpId kNone = ~ir::OpId{0};

  ControllerCore(const ir::TileProgram& p, Ledger& log);

  // The unit's next op, or kNone when its queue is empty.
  ir::OpId head(ir::Unit u) const {
    const auto& q = m_ops[static_cast<size_t>(u)];
    const size_t next = m_next[static_cast<size_t>(u)];
    return next < q.size() ? q[next] : kNone;
  }
  // Every dependency of the unit's head op has been reported done (remembered once true: done
  // ops stay done).
  bool head_ready(ir::Unit u);
  // The unit took its head op in cycle c.
  void took(ir::Unit u, uint64_t c);
  // The unit reports `n` more of its ops done (program order).
  void retired(ir::Unit u, uint32_t n) {
    m_done[static_cast<size_t>(u)] += n;
    m_retired += n;
  }
  uint64_t ops_retired() const { return m_retired; }
  bool finished() const { return m_retired == m_total; }

 private:
  const ir::TileProgram& m_p;
  Ledger& m_log;
  std::array<std::vector<ir::OpId>, ir::kNumUnits> m_ops;  // each unit's ops in program order
  std::array<size_t, ir::kNumUnits> m_next{};               // index of the head op
  std::array<uint64_t, ir::kNumUnits> m_done{};             // ops reported done per unit
  std::array<bool, ir::kNumUnits> m_head_ready{};           // head_ready() was true for the head
  std::vector<uint8_t> m_unit;                              // op -> unit
  std::vector<uint32_t> m_index;                            // op -> index in its unit's queue
  uint64_t m_retired = 0, m_total = 0;
};

}  // namespace fq::sim
