// The SystemC model of the accelerator as modules (docs/architecture.md "SystemC model"): one
// module per unit, each wrapping its plain C++ core from sim/cycle, connected by signals that
// carry the controller's handshakes, and a top module `fq_top` instantiated and bound like
// rtl/fq_top.v (ctrl, dma_in, array, epilogue, dma_out). DRAM is outside the top, behind two
// TLM-2.0 initiator sockets (dram_rd, dram_wr): bind them to fq_dram (sc_dram.h) or to any
// target that annotates its timing (see there).
//
// Clocking: the controller decides cycle c's issues at the falling edge from the units' ready
// and done signals; the units take the op and do cycle c's work at the rising edge, and write
// ready (can take the current head in cycle c + 1) and done (how many of their ops are done by
// c + 1). The first falling edge after load() is a reset cycle in which nothing issues, so the
// units publish their ready for cycle 0. Under timing: scalesim, the zero-time DMA and dequant
// ops (SCALE-Sim's ideal memory, not hardware) are taken and completed by the controller within
// its evaluation, through the units' cores.
// Contract: one program at a time; load() between runs; when every op is done the top raises
// `finished` and calls sc_pause().
#pragma once

#include "sim/cycle/cycle_machine.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include <array>
#include <exception>
#include <functional>

namespace fq::sim::sc {

// What the modules of one run share: the cores, the outcome, the caller's progress callback.
struct RunState {
  UnitCores* cores = nullptr;
  const std::function<void(uint64_t)>* progress = nullptr;
  std::exception_ptr error;
  uint64_t cycles = 0;  // cycles run (issue decisions made), set when the run ends
  uint32_t generation = 0;  // counts load()s; the controller's `run` signal names the current one
  void fail_with(std::exception_ptr e);
};

// An output port that remembers what it last wrote: most outputs hold their value for many
// cycles, and skipping the kernel's write path for them keeps the signals cheap.
template <typename T>
class held_out : public sc_core::sc_out<T> {
 public:
  explicit held_out(const char* name) : sc_core::sc_out<T>(name) {}
  held_out() = default;
  void put(const T& v) {
    if (v == m_last) return;
    m_last = v;
    this->write(v);
  }

 private:
  T m_last{};
};

// What every unit module has: the clock, the controller's handshake, its ready and done.
class fq_unit : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk;
  sc_core::sc_in<uint32_t> run;          // the run the controller is in (see RunState::generation)
  sc_core::sc_in<bool> take;             // take op `op` in this cycle
  sc_core::sc_in<uint32_t> op;
  sc_core::sc_in<uint32_t> head;         // the unit's next op (ControllerCore::kNone if none)
  held_out<bool> ready;                  // can take `head` in the next cycle
  held_out<uint32_t> done;               // ops of this unit done by the next cycle

 protected:
  fq_unit(const sc_core::sc_module_name& name, ir::Unit unit, RunState& state);
  virtual void work(UnitCores& k, uint64_t c) = 0;
  RunState& m_run;

 private:
  void tick();
  const ir::Unit m_unit;
  bool m_primed = false;  // the reset cycle has passed
  uint64_t m_c = 0;
};

// A DMA channel's DRAM port: each request a TLM transaction on `dram`.
class fq_dma : public fq_unit, public DramPort {
 public:
  tlm_utils::simple_initiator_socket<fq_dma> dram;
  held_out<uint32_t> beat;               // bytes moved in this cycle (0: none)
  uint64_t read(uint64_t c, uint64_t addr, std::span<uint8_t> out) override;
  uint64_t write(uint64_t c, uint64_t addr, std::span<const uint8_t> data) override;

 protected:
  fq_dma(const sc_core::sc_module_name& name, ir::Unit unit, RunState& state, sc_core::sc_time period);

 private:
  uint64_t transport(tlm::tlm_command cmd, uint64_t c, uint64_t addr, uint8_t* data, size_t n);
  sc_core::sc_time m_period;
  tlm::tlm_generic_payload m_trans;
};

class fq_dma_in final : public fq_dma {
 public:
  fq_dma_in(const sc_core::sc_module_name& name, RunState& state, sc_core::sc_time period)
      : fq_dma(name, ir::Unit::kDmaIn, state, period) {}

 private:
  void work(UnitCores& k, uint64_t c) override { beat.put(k.dma_in.work(c).bytes); }
};

class fq_dma_out final : public fq_dma {
 public:
  fq_dma_out(const sc_core::sc_module_name& name, RunState& state, sc_core::sc_time period)
      : fq_dma(name, ir::Unit::kDmaOut, state, period) {}

 private:
  void work(UnitCores& k, uint64_t c) override { beat.put(k.dma_out.work(c).bytes); }
};

// The array unit: weight sets, decoders and every PE in one module (per-PE processes would
// cost a process switch per PE-cycle).
class fq_array final : public fq_unit {
 public:
  held_out<uint32_t> beat_phase;         // cycle within the beat (0 when nothing streams)
  held_out<uint32_t> beat_len;           // W of the running beat grid (0 when nothing streams)
  held_out<bool> preloading, os_busy;
  fq_array(const sc_core::sc_module_name& name, RunState& state);

 private:
  void work(UnitCores& k, uint64_t c) override;
};

class fq_epilogue final : public fq_unit {
 public:
  held_out<bool> busy;  // reading obuf in this cycle
  fq_epilogue(const sc_core::sc_module_name& name, RunState& state);

 private:
  void work(UnitCores& k, uint64_t c) override { busy.put(k.epilogue.work(c)); }
};

// rtl/fq_controller.v: offers each unit its head op, issues on the falling edge.
class fq_controller final : public sc_core::sc_module {
 public:
  sc_core::sc_in<bool> clk;
  sc_core::sc_out<uint32_t> run;  // written in the reset cycle: the units start with the next edge
  sc_core::sc_out<bool> finished;
  // Indexed by ir::Unit: dma_in, array, epilogue, dma_out.
  sc_core::sc_vector<held_out<bool>> take;
  sc_core::sc_vector<held_out<uint32_t>> op, head;
  sc_core::sc_vector<sc_core::sc_in<bool>> ready;
  sc_core::sc_vector<sc_core::sc_in<uint32_t>> done;
  // Why a unit with ops left did not issue: its head waits for a dependency, or for the unit.
  sc_core::sc_vector<held_out<bool>> stall_dep, stall_unit;
  fq_controller(const sc_core::sc_module_name& name, RunState& state);
  void reset() { m_started = false; }

 private:
  void tick();
  RunState& m_run;
  bool m_started = false;
  uint64_t m_c = 0;
};

class fq_top : public sc_core::sc_module {
 public:
  static constexpr double kPeriodNs = 1.0;  // one cycle; only ratios matter

  sc_core::sc_in<bool> clk;
  sc_core::sc_out<bool> finished;
  tlm::tlm_initiator_socket<> dram_rd;  // dma_in's reads
  tlm::tlm_initiator_socket<> dram_wr;  // dma_out's writes

  explicit fq_top(const sc_core::sc_module_name& name);
  // The program of the next sc_start(); `cores` (built on read_port()/write_port()) must
  // outlive the run.
  void load(UnitCores& cores, const std::function<void(uint64_t)>* progress = nullptr);
  DramPort& read_port() { return dma_in; }
  DramPort& write_port() { return dma_out; }
  const RunState& state() const { return m_run; }
  // Adds every handshake and activity signal to `tf` (before the first sc_start()).
  void trace(sc_core::sc_trace_file* tf) const;

 private:
  RunState m_run;

 public:
  fq_controller ctrl;
  fq_dma_in dma_in;
  fq_array array;
  fq_epilogue epilogue;
  fq_dma_out dma_out;

 private:
  sc_core::sc_signal<uint32_t> m_run_id;
  sc_core::sc_vector<sc_core::sc_signal<bool>> m_take, m_ready, m_stall_dep, m_stall_unit;
  sc_core::sc_vector<sc_core::sc_signal<uint32_t>> m_op, m_head, m_done;
  sc_core::sc_signal<uint32_t> m_rd_beat, m_wr_beat, m_beat_phase, m_beat_len;
  sc_core::sc_signal<bool> m_preloading, m_os_busy, m_epi_busy;
};

}  // namespace fq::sim::sc
