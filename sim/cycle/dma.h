// The DMA read channel (dma.load: DRAM -> wbuf/abuf/sbuf) and write channel (dma.store:
// obuf -> DRAM), rtl/fq_dma_in.v and fq_dma_out.v. Each moves one beat of up to
// dram.bytes_per_cycle bytes of one row per cycle, transfers in issue order, and talks to DRAM
// through a DramPort, one request per row: a load requests all its rows when it issues and
// moves each row's beats from the cycle the DRAM says its data arrives; a store reads its beats
// from obuf and sends each row when its last beat has left, finishing when the DRAM acknowledges
// the last row. Under timing: scalesim both are SCALE-Sim's ideal memory: take() moves
// everything and finishes in the cycle it issues.
#pragma once

#include "sim/cycle/dram.h"
#include "sim/cycle/unit.h"

#include <deque>
#include <vector>

namespace fq::sim {

// What a channel did in one cycle (for ports and traces).
struct DmaBeat {
  bool valid = false;
  ir::OpId op = 0;
  uint32_t bytes = 0;
};

// What both channels share: transfers are queued (a channel always takes a request), its ops
// complete in order.
class DmaCore {
 public:
  bool can_take(ir::OpId, uint64_t) const { return true; }
  uint32_t retire(uint64_t c) { return m_inorder.retire(m_env.log, c); }

 protected:
  DmaCore(UnitEnv env, DramPort& dram) : m_env(env), m_dram(&dram) {}
  UnitEnv m_env;
  DramPort* m_dram;
  InOrder m_inorder;
};

class DmaReadCore : public DmaCore {
 public:
  DmaReadCore(UnitEnv env, DramPort& dram) : DmaCore(env, dram) {}
  void take(ir::OpId id, uint64_t c);
  DmaBeat work(uint64_t c);

 private:
  struct Transfer {
    ir::OpId id = 0;
    std::vector<uint8_t> data;     // the rows as the DRAM returned them
    std::vector<uint64_t> arrive;  // per row: first cycle its data may move
    uint32_t row = 0, offset = 0;
  };
  std::deque<Transfer> m_q;
};

class DmaWriteCore : public DmaCore {
 public:
  DmaWriteCore(UnitEnv env, DramPort& dram) : DmaCore(env, dram) {}
  void take(ir::OpId id, uint64_t c);
  DmaBeat work(uint64_t c);

 private:
  struct Transfer {
    ir::OpId id = 0;
    uint32_t row = 0, offset = 0;
  };
  std::deque<Transfer> m_q;
  std::vector<uint8_t> m_row;  // the row being gathered from obuf
  uint64_t m_clock_until = 0;  // rtl/fq_dma_out.v's ack clock has run until this cycle (exclusive)
};

}  // namespace fq::sim
