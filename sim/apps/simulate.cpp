// simulate: how many cycles, how much time, energy and area a machine needs for a workload.
// Compiles the workload for the arch, runs the fast engine (closed form per op) or the SystemC
// model (cycle by cycle), and reports per GEMM and in total (docs/report-schema.md).
#include "sim/apps/compile_workload.h"
#include "model/arch/workload.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/data_dir.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/core/progress.h"
#include "model/cost/cost_model.h"
#include "model/golden/act_quant.h"
#include "model/ckpt/random_layer.h"
#include "model/ir/verifier.h"
#include "model/qfile/qfile.h"
#include "sim/engine.h"
#include "sim/model_run.h"
#include "sim/report.h"
#include "sim/workload_input.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

using fq::fail;

constexpr const char* kUsage = R"(usage: simulate --arch ARCH.yaml [--set KEY=VALUE ...]
                [--layer LAYER.q | --gemm M,N,K | --topology FILE.csv] [--tokens M] [--seed S]
                [--engine fast|systemc|rtl] [--json OUT.json] [--trace OUT.json] [--trace-limit N]
                [--costs COSTS.yaml] [--vcd OUT.vcd] [--rtl-cache DIR]

Compiles the workload for ARCH.yaml (with --set overrides, e.g. --set array.rows=16 or
--set timing=scalesim), runs one engine and prints cycles, time, utilisation, stalls, traffic,
energy and area per GEMM and in total.

Workload (one of):
  --layer LAYER.q      every tensor of a quantized layer, M = --tokens activation rows
                       (synthetic INT8 activations from --seed)
  --gemm M,N,K         one GEMM with seeded random weights in the PE's format
  --topology FILE.csv  SCALE-Sim GEMM topology rows "name, M, N, K," (header optional)
  (none)               a stories260K-shaped decoder layer (traces/stories-260k.yaml, layer 0)
                       with seeded random weights, M = --tokens
--tokens M             activation rows for --layer and the default layer (default 16)
--engine NAME          a registered engine (sim/engine.h): fast (default): closed-form timing
                       per op; systemc: the cycle-accurate SystemC model (same numbers, far
                       slower; for small workloads); rtl: the Verilog through Verilator (weight
                       stationary, default timing; done cycles only, so no stalls, traffic or
                       energy; builds a runner per arch on first use: minutes)
--json OUT.json        the report as JSON (docs/report-schema.md)
--trace OUT.json       tile-level Chrome/Perfetto trace (open in ui.perfetto.dev), at most
                       --trace-limit ops (default 1000000)
--costs COSTS.yaml     energy and area tables (default: configs/costs.yaml)
--vcd OUT.vcd          with --engine systemc: the SystemC model's unit signals (issue, ready,
                       done, stall causes, DMA beats, beat phase) as a VCD file for GTKWave
--rtl-cache DIR        with --engine rtl: where Verilated runners are kept (as cosim)

Whole model: simulate --model CKPT ... runs a prompt through the accelerator
(simulate --model CKPT --help; docs/model.md).
)";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// `--model` selects the whole-model mode (sim/model_cli.cpp), which has its own options.
bool model_mode(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" || a.rfind("--model=", 0) == 0) return true;
  }
  return false;
}

int run(int argc, char** argv) {
  if (model_mode(argc, argv)) return fq::sim::simulate_model_command(argc, argv);
  fq::CommandLine cl(argc, argv, {"help"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    fmt::print("\nARCH.yaml may also name a preset of {}/configs (e.g. --arch fineq); the default\n"
               "cost tables are {}.\n",
               fq::data_dir().string(), fq::cost::default_cost_tables_path());
    return 0;
  }
  const std::string arch_path = cl.required("arch");
  const auto overrides = cl.values("set");
  fq::Params numbers;
  numbers.set("tokens", cl.value("tokens").value_or("16"));
  numbers.set("seed", cl.value("seed").value_or("1"));
  numbers.set("trace-limit", cl.value("trace-limit").value_or("1000000"));
  const auto tokens = static_cast<int>(numbers.get_int("tokens", 16, 1, 1 << 20));
  const auto seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  const auto trace_limit = static_cast<uint64_t>(numbers.get_int("trace-limit", 1000000, 1, INT64_MAX));
  const std::string engine_name = cl.value("engine").value_or("fast");
  const fq::sim::Engine& engine = fq::sim::find_engine(engine_name, "--engine");
  fq::sim::require_parts(engine, {.cycles = true}, "--engine " + engine_name, "simulate reports cycles (cosim checks its bytes)");
  const auto json_path = cl.value("json");
  const auto trace_path = cl.value("trace");
  if (trace_path) {
    fq::sim::require_parts(engine, {.op_timeline = true}, "--trace " + *trace_path + " with --engine " + engine_name,
                           "the trace draws each op from its issue to its finish");
  }
  const auto vcd_path = cl.value("vcd");
  if (vcd_path && engine_name != "systemc") fail("--vcd {}: needs --engine systemc", *vcd_path);
  const auto rtl_cache = cl.value("rtl-cache");
  if (rtl_cache && engine_name != "rtl") fail("--rtl-cache {}: needs --engine rtl", *rtl_cache);
  const std::string costs_path = cl.value("costs").value_or(fq::cost::default_cost_tables_path());

  const auto start = std::chrono::steady_clock::now();
  fq::Progress progress("simulate");
  progress.stage("reading the workload");
  const fq::ArchConfig arch = fq::load_arch(arch_path, overrides);
  if (const auto why = engine.refusal(arch)) fail("--engine {}: {}", engine_name, *why);
  const fq::cost::CostModel costs(fq::cost::load_cost_tables(costs_path), arch);
  fq::sim::WorkloadRequest request;
  request.layer = cl.value("layer");
  request.gemm = cl.value("gemm");
  request.topology = cl.value("topology");
  request.tokens = tokens;
  request.seed = seed;
  fq::sim::Workload w = fq::sim::make_workload(request, arch);
  cl.finish();
  const double read_s = seconds_since(start);

  auto t0 = std::chrono::steady_clock::now();
  progress.stage(fmt::format("compiling {} GEMMs", w.weights.size()));
  fq::compiler::CompiledLayer layer = fq::sim::compile_workload(arch, w);
  progress.stage("verifying the program");
  fq::ir::verify(layer.program, arch, layer.program.arch_fingerprint, layer.memory.end_bytes());
  if (const auto why = engine.refusal(arch, layer.program)) fail("--engine {}: {}", engine_name, *why);
  const double compile_s = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  progress.stage(fmt::format("{} engine", engine_name), layer.program.size(), "ops");
  fq::sim::EngineOptions options;
  options.progress = [&progress](uint64_t done) { progress.advance_to(done); };
  options.status = [&progress](const std::string& st) { progress.stage(st); };
  if (vcd_path) options.vcd = *vcd_path;
  if (rtl_cache) options.rtl_cache = *rtl_cache;
  // The report needs the program only: the image moves into the engine.
  const fq::sim::EngineResult result = engine.run(arch, layer.program, std::move(layer.memory), options);
  const double sim_s = seconds_since(t0);

  progress.stage("writing the report");
  const fq::sim::Report report = fq::sim::build_report(layer.program, arch, result, costs, w.description);
  if (json_path) {
    fq::write_file_atomically(*json_path, [&](std::ostream& out) { out << fq::sim::to_json(report).dump(2) << "\n"; });
  }
  uint64_t traced = 0;
  if (trace_path) traced = fq::sim::write_chrome_trace(layer.program, arch, *result.timeline, *trace_path, trace_limit);
  fmt::print("{}", fq::sim::to_text(report));
  if (json_path) fmt::print("wrote {}\n", *json_path);
  if (vcd_path) fmt::print("wrote {}\n", *vcd_path);
  if (trace_path) {
    fmt::print("wrote {} ({} of {} ops{})\n", *trace_path, traced, layer.program.size(),
               traced < layer.program.size() ? "; raise --trace-limit for all" : "");
  }
  std::string speed;
  const auto simulated = result.event("cycles_simulated");
  const auto pe_cycles = result.event("pe_cycles");
  if (simulated && pe_cycles && sim_s > 0) {
    speed = fmt::format(" ({:.3g} M cycles/s, {:.3g} G PE-cycles/s)", static_cast<double>(*simulated) / sim_s / 1e6,
                        static_cast<double>(*pe_cycles) / sim_s / 1e9);
  }
  fmt::print("time: read {:.2f} s, compile and verify {:.2f} s, {} engine {:.2f} s{}; total {:.2f} s\n", read_s,
             compile_s, engine_name, sim_s, speed, seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("simulate", argc, argv, run); }
