// The built-in DRAM as a TLM-2.0 target (docs/architecture.md "DMA and DRAM" and "SystemC
// model"): one target socket per channel, `rd` for the DMA read channel and `wr` for the write
// channel, each transaction one burst row. Timing is the built-in DramTiming, annotated on the
// transaction: a read's delay is when its first data arrives (max(request + L, channel free)),
// a write's delay is when it is acknowledged (1 + L cycles after its last byte left the DMA).
// b_transport never waits (the DMA initiators call it from SC_METHODs): any other target bound
// in its place must also return its timing as the annotated delay, in whole clock periods.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "sim/cycle/dram.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include <optional>

namespace fq::sim::sc {

class fq_dram : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<fq_dram> rd;
  tlm_utils::simple_target_socket<fq_dram> wr;

  fq_dram(const sc_core::sc_module_name& name, sc_core::sc_time period);
  // The contents and timing of the next run; `memory` must outlive it.
  void load(ir::MemoryImage& memory, const ArchConfig& arch);

 private:
  void b_transport_rd(tlm::tlm_generic_payload& t, sc_core::sc_time& delay);
  void b_transport_wr(tlm::tlm_generic_payload& t, sc_core::sc_time& delay);
  uint64_t cycle_of(const sc_core::sc_time& delay) const;  // the request's absolute cycle

  sc_core::sc_time m_period;
  ir::MemoryImage* m_mem = nullptr;
  std::optional<DramTiming> m_timing;
};

}  // namespace fq::sim::sc
