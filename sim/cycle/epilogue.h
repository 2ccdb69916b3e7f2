// The dequantisation epilogue (rtl/fq_epilogue.v): one dequant at a time, up to C elements of
// one obuf row per cycle, y = (acc * ws[j]) * as[r] in FP32, two pipeline stages after the last
// read. Under timing: scalesim it takes no time.
#pragma once

#include "sim/cycle/unit.h"

namespace fq::sim {

class EpilogueCore {
 public:
  explicit EpilogueCore(UnitEnv env) : m_env(env) {}
  bool can_take(ir::OpId, uint64_t) const { return !m_busy; }
  void take(ir::OpId id, uint64_t c);
  // Returns true in a cycle that read a chunk.
  bool work(uint64_t c);
  uint32_t retire(uint64_t c) { return m_inorder.retire(m_env.log, c); }

 private:
  void chunk(ir::OpId id, uint64_t chunk, uint64_t per_row);

  UnitEnv m_env;
  bool m_busy = false;
  ir::OpId m_id = 0;
  uint64_t m_start = 0, m_chunks = 0, m_next = 0;
  InOrder m_inorder;
};

}  // namespace fq::sim
