// bench_sim: speed of the timed engines, the figures issue 4 asks for (docs/performance.md).
//   systemc   SystemC model on one GEMM per array size (8x8, 32x32, 64x64; temporal and INT8 MAC):
//             simulated cycles/s, PE-cycles/s evaluated, the same unit cores stepped without SystemC,
//             and the difference per cycle: what the kernel, the modules' processes and their
//             signals cost. Times are the thread's CPU time (the machine may be shared).
//   fast7b    fast engine on the LLaMA-2-7B decoder layer (traces/llama2-7b.yaml) at 1 and 2048
//             tokens on configs/fineq.yaml and configs/int8.yaml (random codes: timing depends on
//             the weights only through the beat window, and random codes are the worst case)
//   scalesim  the 64 x 1024 x 1024 WS INT8 GEMM on 32 x 32 (SCALE-Sim v2 takes ~15 s), both engines
// Usage: bench_sim [systemc|fast7b|scalesim|all]   (run from the repository root)
#include "compiler/compiler.h"
#include "model/arch/pe_model.h"
#include "model/arch/workload.h"
#include "model/ckpt/random_layer.h"
#include "sim/cycle/cycle_machine.h"
#include "sim/fast/fast_engine.h"
#include "sim/systemc/sc_engine.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of the calling thread: a run on a loaded machine is not charged for other processes.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Layer {
  std::vector<fq::QTensor> w;
  std::vector<fq::QuantizedActs> a;
  fq::compiler::CompiledLayer compiled;
};

fq::HwFormat format_of(const fq::ArchConfig& arch) {
  return fq::pe_model(arch).weight_format(arch);
}

void compile(Layer& l, const fq::ArchConfig& arch) {
  std::vector<fq::compiler::GemmInput> in;
  for (size_t g = 0; g < l.w.size(); ++g) in.push_back({&l.w[g], {l.a[g].rows, l.a[g].cols, l.a[g].q, l.a[g].scales}});
  l.compiled = fq::compiler::compile_layer(arch, in);
}

Layer one_gemm(const fq::ArchConfig& arch, int m, int n, int k) {
  Layer l;
  l.w.push_back(fq::random_qtensor("g", format_of(arch), n, k, 1));
  l.a.push_back(fq::random_acts(m, k, 2));
  compile(l, arch);
  return l;
}

void bench_systemc() {
  fmt::print("SystemC model (one GEMM M = 2048, N = 4C, K = 4R; single thread; thread CPU time)\n");
  fmt::print("{:<10} {:>7} {:>10} {:>8} {:>11} {:>14} {:>8} {:>14} {:>13}\n", "PE", "array", "cycles", "cpu s",
             "M cycles/s", "G PE-cycles/s", "core s", "core G PE-c/s", "SystemC ns/c");
  for (const char* preset : {"configs/fineq.yaml", "configs/int8.yaml"}) {
    for (int size : {8, 32, 64}) {
      const int rows = std::string(preset).find("fineq") != std::string::npos ? size + size / 32 : size;
      const std::string r = "array.rows=" + std::to_string(rows);
      const std::string c = "array.cols=" + std::to_string(size);
      fq::ArchConfig arch = fq::load_arch(preset, {r, c, "buffers.act_bytes=1048576", "buffers.out_bytes=4194304",
                                                   "buffers.weight_bytes=1048576"});
      Layer l = one_gemm(arch, 2048, 4 * size, 4 * rows);
      fq::ir::MemoryImage mem = l.compiled.memory;
      fq::sim::SystemcStats stats;
      double t0 = thread_cpu_seconds();
      const auto tl = fq::sim::run_systemc(l.compiled.program, arch, mem, &stats);
      const double sc_s = thread_cpu_seconds() - t0;
      fq::ir::MemoryImage mem2 = l.compiled.memory;
      fq::sim::CycleMachine core(l.compiled.program, arch, mem2);
      t0 = thread_cpu_seconds();
      while (!core.finished()) core.step();
      const double core_s = thread_cpu_seconds() - t0;
      if (!(core.timeline() == tl) || !(mem == mem2)) fmt::print("  ** CORE AND SYSTEMC DISAGREE **\n");
      const auto cyc = static_cast<double>(stats.cycles_simulated);
      fmt::print("{:<10} {:>7} {:>10} {:>8.3f} {:>11.3f} {:>14.3f} {:>8.3f} {:>14.3f} {:>13.0f}\n",
                 fq::pe_model(arch).describe(arch), fmt::format("{}x{}", rows, size),
                 tl.total_cycles, sc_s, cyc / sc_s / 1e6, static_cast<double>(stats.pe_cycles) / sc_s / 1e9, core_s,
                 static_cast<double>(core.pe_cycles_stepped()) / core_s / 1e9,
                 (sc_s - core_s) / cyc * 1e9);
    }
  }
}

void bench_fast7b() {
  fmt::print("fast engine, LLaMA-2-7B decoder layer (7 GEMMs)\n");
  fmt::print("{:<20} {:>6} {:>10} {:>14} {:>10} {:>10} {:>12}\n", "arch", "tokens", "ops", "cycles", "compile s",
             "fast s", "ops/s");
  for (const char* preset : {"configs/fineq.yaml", "configs/int8.yaml"}) {
    const auto arch = fq::load_arch(preset);
    for (int tokens : {1, 2048}) {
      Layer l;
      uint64_t seed = 1;
      for (const auto& s : fq::load_workload("traces/llama2-7b.yaml", tokens)) {
        l.w.push_back(fq::random_qtensor(s.name, format_of(arch), static_cast<int>(s.n), static_cast<int>(s.k), seed++));
        l.a.push_back(fq::random_acts(static_cast<int>(s.m), static_cast<int>(s.k), seed++));
      }
      auto t0 = std::chrono::steady_clock::now();
      compile(l, arch);
      const double compile_s = seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      const auto tl = fq::sim::run_fast(l.compiled.program, arch, l.compiled.memory);
      const double fast_s = seconds_since(t0);
      fmt::print("{:<20} {:>6} {:>10} {:>14} {:>10.2f} {:>10.3f} {:>12.3g}\n", preset, tokens, l.compiled.program.size(),
                 tl.total_cycles, compile_s, fast_s, static_cast<double>(l.compiled.program.size()) / fast_s);
    }
  }
}

void bench_scalesim() {
  fmt::print("64 x 1024 x 1024 WS INT8 GEMM on 32 x 32 (SCALE-Sim v2: 161,791 cycles in ~15 s)\n");
  for (const char* timing : {"scalesim", "default"}) {
    const auto arch = fq::load_arch("configs/int8.yaml", {std::string("timing=") + timing});
    Layer l = one_gemm(arch, 64, 1024, 1024);
    auto t0 = std::chrono::steady_clock::now();
    const auto fast = fq::sim::run_fast(l.compiled.program, arch, l.compiled.memory);
    const double fast_s = seconds_since(t0);
    fq::ir::MemoryImage mem = l.compiled.memory;
    fq::sim::SystemcStats stats;
    t0 = std::chrono::steady_clock::now();
    const auto sc = fq::sim::run_systemc(l.compiled.program, arch, mem, &stats);
    const double sc_s = seconds_since(t0);
    fmt::print("  timing {:<8}: {} cycles ({} ops); fast engine {:.4f} s, SystemC {:.3f} s{}\n", timing,
               fast.total_cycles, l.compiled.program.size(), fast_s, sc_s,
               fast == sc ? "" : "  ** ENGINES DISAGREE **");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  try {
    if (what == "systemc" || what == "all") bench_systemc();
    if (what == "fast7b" || what == "all") bench_fast7b();
    if (what == "scalesim" || what == "all") bench_scalesim();
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_sim: {}\n", e.what());
    return 1;
  }
  return 0;
}
