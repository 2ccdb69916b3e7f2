#include "sim/cycle/controller.h"

namespace fq::sim {

ControllerCore::ControllerCore(const ir::TileProgram& p, Ledger& log)
    : m_p(p), m_log(log), m_unit(p.size()), m_index(p.size()), m_total(p.size()) {
  for (ir::OpId id = 0; id < p.size(); ++id) {
    const auto u = static_cast<size_t>(ir::unit_of(p.op(id).opcode));
    m_unit[id] = static_cast<uint8_t>(u);
    m_index[id] = static_cast<uint32_t>(m_ops[u].size());
    m_ops[u].push_back(id);
  }
}

bool ControllerCore::head_ready(ir::Unit u) {
  bool& known = m_head_ready[static_cast<size_t>(u)];
  if (known) return true;
  const ir::OpId id = head(u);
  if (id == kNone) return false;
  for (ir::OpId d : m_p.deps(id)) {
    if (m_index[d] >= m_done[m_unit[d]]) return false;
  }
  known = true;
  return true;
}

void ControllerCore::took(ir::Unit u, uint64_t c) {
  m_log.took(head(u), c);
  ++m_next[static_cast<size_t>(u)];
  m_head_ready[static_cast<size_t>(u)] = false;
}

}  // namespace fq::sim
