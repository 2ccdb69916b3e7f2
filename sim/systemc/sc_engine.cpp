#include "sim/systemc/sc_engine.h"

#include "model/core/error.h"
#include "sim/cycle/cycle_machine.h"

#include <systemc>

#include <cstdlib>
#include <exception>

// libsystemc's own main() calls sc_main(); fqsim's programs have their own main() and start the
// kernel from run_systemc(), so this definition only satisfies the library's reference.
int sc_main(int /*argc*/, char* /*argv*/[]) { return 2; }

namespace fq::sim {
namespace {

// A machine that neither issues nor completes anything for this many cycles is deadlocked.
constexpr uint64_t kWatchdogCycles = uint64_t{1} << 24;

class Accelerator : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Accelerator);
  explicit Accelerator(const sc_core::sc_module_name& name)
      : sc_core::sc_module(name), m_clk("clk", sc_core::sc_time(1, sc_core::SC_NS), 0.5, sc_core::SC_ZERO_TIME, false) {
    SC_METHOD(tick);
    sensitive << m_clk.posedge_event();
    dont_initialize();
  }

  void load(CycleMachine* machine, const std::function<void(uint64_t)>* progress) {
    m_machine = machine;
    m_progress = progress;
    m_next = 0;
    m_error = nullptr;
  }
  std::exception_ptr error() const { return m_error; }
  uint64_t cycles() const { return m_next; }

 private:
  template <typename F>
  void guarded(F f) {
    try {
      f();
    } catch (...) {
      m_error = std::current_exception();
      m_machine = nullptr;
      sc_core::sc_pause();
    }
  }

  void tick() {
    if (m_machine == nullptr) return;
    guarded([this] {
      if (m_machine->finished()) {
        m_machine = nullptr;
        sc_core::sc_pause();
        return;
      }
      const uint64_t c = m_next++;
      if (c > m_machine->last_progress() + kWatchdogCycles) {
        fail("SystemC model: no op issued or completed for {} cycles at cycle {} (deadlock)", kWatchdogCycles, c);
      }
      if (m_progress != nullptr && *m_progress && (c & 0x3fff) == 0) (*m_progress)(m_machine->ops_completed());
      m_machine->step();
    });
  }

  sc_core::sc_clock m_clk;
  CycleMachine* m_machine = nullptr;
  const std::function<void(uint64_t)>* m_progress = nullptr;
  uint64_t m_next = 0;
  std::exception_ptr m_error;
};

Accelerator& accelerator() {
  static Accelerator* top = [] {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    return new Accelerator("fqsim");
  }();
  return *top;
}

}  // namespace

timing::Timeline run_systemc(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory,
                             SystemcStats* stats, const std::function<void(uint64_t)>& progress) {
  CycleMachine machine(program, arch, memory);
  Accelerator& top = accelerator();
  if (program.size() != 0) {
    top.load(&machine, &progress);
    sc_core::sc_start();
    if (top.error()) std::rethrow_exception(top.error());
    if (!machine.finished()) fail("SystemC model: the kernel stopped before the program completed");
  }
  if (stats != nullptr) {
    stats->cycles_simulated = program.size() != 0 ? top.cycles() : 0;
    stats->pe_cycles = machine.pe_cycles_stepped();
    stats->pe_adds = machine.pe_adds_stepped();
  }
  return machine.timeline();
}

}  // namespace fq::sim
