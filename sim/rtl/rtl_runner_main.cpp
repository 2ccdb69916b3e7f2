// The RTL runner: main() of the executable that sim/rtl/rtl_engine.cpp builds with Verilator for
// one architecture (the fq_top parameters come from the arch). It runs one tile program on the
// Verilated fq_top with the C++ DRAM model of top_harness.h and writes the resulting DRAM image
// and, per op, the cycle it completed. Built with FQ_RTL_TRACE (and Verilator's --trace-fst) it can
// also dump an FST waveform; the engine builds that variant only for a run that asks for one.
// Usage: fq_rtl_runner ARCH.yaml PROGRAM.tir IN.mem OUT.mem OUT.txt [WAVE.fst]
#include "Vfq_top.h"
#include "model/arch/arch_config.h"
#include "model/core/atomic_file.h"
#include "model/core/error.h"
#include "model/ir/mem_image.h"
#include "model/ir/tir_text.h"
#include "sim/rtl/top_harness.h"

#ifdef FQ_RTL_TRACE
#include <verilated_fst_c.h>
#endif

#include <cstdio>
#include <functional>
#include <memory>

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: fq_rtl_runner ARCH.yaml PROGRAM.tir IN.mem OUT.mem OUT.txt [WAVE.fst]\n");
    return 2;
  }
  try {
    const fq::ArchConfig arch = fq::load_arch(argv[1]);
    const fq::ir::TileProgram program = fq::ir::read_tir(argv[2]);
    fq::ir::MemoryImage mem = fq::ir::read_mem(argv[3]);
    auto top = std::make_unique<Vfq_top>();
    std::function<void(uint64_t)> dump;
#ifdef FQ_RTL_TRACE
    std::unique_ptr<VerilatedFstC> fst;
    if (argc > 6) {
      Verilated::traceEverOn(true);
      fst = std::make_unique<VerilatedFstC>();
      top->trace(fst.get(), 99);
      fst->open(argv[6]);
      dump = [&](uint64_t t) { fst->dump(t); };
    }
#else
    if (argc > 6) fq::fail("this runner was built without tracing: it cannot write the waveform {}", argv[6]);
#endif
    const fq::rtl::TopRun run = fq::rtl::run_top(*top, program, arch, mem, 0, 1, dump, FQ_RTL_IDEPTH);
#ifdef FQ_RTL_TRACE
    if (fst) fst->close();
#endif
    fq::ir::write_mem(mem, argv[4]);
    fq::write_file_atomically(argv[5], [&](std::ostream& out) {
      out << "total " << run.total_cycles << "\npulses " << run.pulses << "\n";
      for (size_t id = 0; id < run.done.size(); ++id) out << run.done[id] << "\n";
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fq_rtl_runner: %s\n", e.what());
    return 1;
  }
  return 0;
}
