#include "sim/systemc/sc_top.h"

#include "model/core/error.h"

#include <cmath>

namespace fq::sim::sc {
namespace {

using ir::Unit;

// A machine that neither issues nor completes anything for this many cycles is deadlocked.
constexpr uint64_t kWatchdogCycles = uint64_t{1} << 24;

template <typename F>
void guarded(RunState& state, F f) {
  try {
    f();
  } catch (...) {
    state.fail_with(std::current_exception());
  }
}

}  // namespace

void RunState::fail_with(std::exception_ptr e) {
  if (!error) error = e;
  cores = nullptr;
  sc_core::sc_pause();
}

// ---- units ----

fq_unit::fq_unit(const sc_core::sc_module_name& name, Unit unit, RunState& state)
    : sc_core::sc_module(name), clk("clk"), run("run"), take("take"), op("op"), head("head"), ready("ready"),
      done("done"), m_run(state), m_unit(unit) {
  SC_HAS_PROCESS(fq_unit);
  SC_METHOD(tick);
  sensitive << clk.pos();
  dont_initialize();
}

void fq_unit::tick() {
  UnitCores* k = m_run.cores;
  if (k == nullptr || run.read() != m_run.generation) {
    m_primed = false;
    return;
  }
  guarded(m_run, [&] {
    if (m_primed) {
      if (take.read()) k->take(m_unit, op.read(), m_c);
      work(*k, m_c);
      ++m_c;
    } else {  // the reset cycle: publish ready for cycle 0
      m_primed = true;
      m_c = 0;
    }
    done.put(m_primed ? k->retire(m_unit, m_c) : 0);
    const uint32_t h = head.read();
    ready.put(h != ControllerCore::kNone && k->can_take(m_unit, h, m_c));
  });
}

fq_dma::fq_dma(const sc_core::sc_module_name& name, Unit unit, RunState& state, sc_core::sc_time period)
    : fq_unit(name, unit, state), dram("dram"), beat("beat"), m_period(period) {}

uint64_t fq_dma::transport(tlm::tlm_command cmd, uint64_t c, uint64_t addr, uint8_t* data, size_t n) {
  m_trans.set_command(cmd);
  m_trans.set_address(addr);
  m_trans.set_data_ptr(data);
  m_trans.set_data_length(static_cast<unsigned>(n));
  m_trans.set_streaming_width(static_cast<unsigned>(n));
  m_trans.set_byte_enable_ptr(nullptr);
  m_trans.set_dmi_allowed(false);
  m_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  dram->b_transport(m_trans, delay);
  if (m_trans.is_response_error()) {
    fail("SystemC model: DRAM {} of {} bytes at 0x{:x} failed: {}", cmd == tlm::TLM_READ_COMMAND ? "read" : "write", n,
         addr, m_trans.get_response_string());
  }
  // The target's annotated delay, in whole cycles (rounded up: data cannot move early).
  return c + static_cast<uint64_t>(std::ceil(delay / m_period));
}

uint64_t fq_dma::read(uint64_t c, uint64_t addr, std::span<uint8_t> out) {
  return transport(tlm::TLM_READ_COMMAND, c, addr, out.data(), out.size());
}

uint64_t fq_dma::write(uint64_t c, uint64_t addr, std::span<const uint8_t> data) {
  // TLM payloads carry a non-const pointer; a write target only reads it.
  return transport(tlm::TLM_WRITE_COMMAND, c, addr, const_cast<uint8_t*>(data.data()), data.size());
}

fq_array::fq_array(const sc_core::sc_module_name& name, RunState& state)
    : fq_unit(name, Unit::kArray, state), beat_phase("beat_phase"), beat_len("beat_len"), preloading("preloading"),
      os_busy("os_busy") {}

void fq_array::work(UnitCores& k, uint64_t c) {
  const ArrayActivity a = k.array.work(c);
  beat_phase.put(a.phase);
  beat_len.put(a.streaming ? a.beat : 0);
  preloading.put(a.preloading);
  os_busy.put(a.os);
}

fq_epilogue::fq_epilogue(const sc_core::sc_module_name& name, RunState& state)
    : fq_unit(name, Unit::kEpilogue, state), busy("busy") {}

// ---- controller ----

fq_controller::fq_controller(const sc_core::sc_module_name& name, RunState& state)
    : sc_core::sc_module(name), clk("clk"), run("run"), finished("finished"), take("take", ir::kNumUnits),
      op("op", ir::kNumUnits), head("head", ir::kNumUnits), ready("ready", ir::kNumUnits),
      done("done", ir::kNumUnits), stall_dep("stall_dep", ir::kNumUnits), stall_unit("stall_unit", ir::kNumUnits),
      m_run(state) {
  SC_HAS_PROCESS(fq_controller);
  SC_METHOD(tick);
  sensitive << clk.neg();
  dont_initialize();
}

void fq_controller::tick() {
  UnitCores* k = m_run.cores;
  if (k == nullptr) return;
  guarded(m_run, [&] {
    std::array<bool, ir::kNumUnits> took{};
    if (!m_started) {  // the reset cycle: offer the heads, issue nothing
      m_started = true;
      m_c = 0;
      run.write(m_run.generation);
      finished.write(false);
    } else {
      const uint64_t c = m_c;
      for (int u = 0; u < ir::kNumUnits; ++u) k->ctrl.retired(static_cast<Unit>(u), done[u].read());
      if (k->ctrl.finished()) {
        m_run.cycles = c;
        m_run.cores = nullptr;
        finished.write(true);
        for (auto& t : take) t.put(false);
        sc_core::sc_pause();
        return;
      }
      if (c > k->log.last_progress + kWatchdogCycles) {
        fail("SystemC model: no op issued or completed for {} cycles at cycle {} (deadlock)", kWatchdogCycles, c);
      }
      if (m_run.progress != nullptr && *m_run.progress && (c & 0x3fff) == 0) (*m_run.progress)(k->ctrl.ops_retired());
      k->issue(
          c,
          [&](Unit u, ir::OpId id, uint64_t cc) {
            return k->zero_time(u) ? k->can_take(u, id, cc) : ready[static_cast<size_t>(u)].read();
          },
          [&](Unit u, ir::OpId id, uint64_t cc) {
            if (k->zero_time(u)) {
              k->take(u, id, cc);  // SCALE-Sim's ideal memory: done within the cycle
            } else {
              took[static_cast<size_t>(u)] = true;
              op[static_cast<size_t>(u)].put(id);
            }
          });
      ++m_c;
    }
    for (int u = 0; u < ir::kNumUnits; ++u) {
      const auto uu = static_cast<Unit>(u);
      const bool waiting = !took[static_cast<size_t>(u)] && k->ctrl.head(uu) != ControllerCore::kNone;
      const bool deps = waiting && k->ctrl.head_ready(uu);
      take[u].put(took[static_cast<size_t>(u)]);
      head[u].put(k->ctrl.head(uu));
      stall_dep[u].put(waiting && !deps);
      stall_unit[u].put(deps);
    }
  });
}

// ---- top ----

fq_top::fq_top(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name), clk("clk"), finished("finished"), dram_rd("dram_rd"), dram_wr("dram_wr"),
      ctrl("ctrl", m_run), dma_in("dma_in", m_run, sc_core::sc_time(kPeriodNs, sc_core::SC_NS)), array("array", m_run),
      epilogue("epilogue", m_run), dma_out("dma_out", m_run, sc_core::sc_time(kPeriodNs, sc_core::SC_NS)),
      m_run_id("run"), m_take("take", ir::kNumUnits), m_ready("ready", ir::kNumUnits),
      m_stall_dep("stall_dep", ir::kNumUnits), m_stall_unit("stall_unit", ir::kNumUnits), m_op("op", ir::kNumUnits),
      m_head("head", ir::kNumUnits), m_done("done", ir::kNumUnits), m_rd_beat("rd_beat"), m_wr_beat("wr_beat"),
      m_beat_phase("beat_phase"), m_beat_len("beat_len"), m_preloading("preloading"), m_os_busy("os_busy"),
      m_epi_busy("epi_busy") {
  ctrl.clk(clk);
  ctrl.run(m_run_id);
  ctrl.finished(finished);
  ctrl.take.bind(m_take);
  ctrl.op.bind(m_op);
  ctrl.head.bind(m_head);
  ctrl.ready.bind(m_ready);
  ctrl.done.bind(m_done);
  ctrl.stall_dep.bind(m_stall_dep);
  ctrl.stall_unit.bind(m_stall_unit);
  fq_unit* units[ir::kNumUnits] = {&dma_in, &array, &epilogue, &dma_out};
  for (size_t u = 0; u < ir::kNumUnits; ++u) {
    units[u]->clk(clk);
    units[u]->run(m_run_id);
    units[u]->take(m_take[u]);
    units[u]->op(m_op[u]);
    units[u]->head(m_head[u]);
    units[u]->ready(m_ready[u]);
    units[u]->done(m_done[u]);
  }
  dma_in.beat(m_rd_beat);
  dma_out.beat(m_wr_beat);
  array.beat_phase(m_beat_phase);
  array.beat_len(m_beat_len);
  array.preloading(m_preloading);
  array.os_busy(m_os_busy);
  epilogue.busy(m_epi_busy);
  dma_in.dram.bind(dram_rd);
  dma_out.dram.bind(dram_wr);
}

void fq_top::load(UnitCores& cores, const std::function<void(uint64_t)>* progress) {
  const uint32_t generation = m_run.generation + 1;
  m_run = {};
  m_run.generation = generation;
  m_run.cores = &cores;
  m_run.progress = progress;
  ctrl.reset();
}

void fq_top::trace(sc_core::sc_trace_file* tf) const {
  // Dotted names: GTKWave shows one scope per module.
  const std::string top = name();
  sc_core::sc_trace(tf, clk, top + ".clk");
  sc_core::sc_trace(tf, m_run_id, top + ".ctrl.run");
  sc_core::sc_trace(tf, finished, top + ".ctrl.finished");
  const sc_core::sc_module* units[ir::kNumUnits] = {&dma_in, &array, &epilogue, &dma_out};
  for (size_t u = 0; u < ir::kNumUnits; ++u) {
    const std::string n = std::string(units[u]->name()) + ".";
    sc_core::sc_trace(tf, m_take[u], n + "take");
    sc_core::sc_trace(tf, m_op[u], n + "op");
    sc_core::sc_trace(tf, m_head[u], n + "head");
    sc_core::sc_trace(tf, m_ready[u], n + "ready");
    sc_core::sc_trace(tf, m_done[u], n + "done");
    sc_core::sc_trace(tf, m_stall_dep[u], n + "stall_dep");
    sc_core::sc_trace(tf, m_stall_unit[u], n + "stall_unit");
  }
  sc_core::sc_trace(tf, m_rd_beat, top + ".dma_in.beat_bytes");
  sc_core::sc_trace(tf, m_wr_beat, top + ".dma_out.beat_bytes");
  sc_core::sc_trace(tf, m_beat_phase, top + ".array.beat_phase");
  sc_core::sc_trace(tf, m_beat_len, top + ".array.beat_len");
  sc_core::sc_trace(tf, m_preloading, top + ".array.preloading");
  sc_core::sc_trace(tf, m_os_busy, top + ".array.os_busy");
  sc_core::sc_trace(tf, m_epi_busy, top + ".epilogue.busy");
}

}  // namespace fq::sim::sc
