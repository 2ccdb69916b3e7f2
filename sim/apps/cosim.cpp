// cosim: golden C++ vs fast engine vs SystemC vs Verilog on one compiled program
// (docs/verification.md). Compiles once, runs every chosen engine on the same program and
// memory image, and checks: int32 accumulators identical across golden, SystemC and RTL (FP32
// outputs within the spec's tolerance); the cycle each op completes identical between SystemC
// and RTL; total cycles and action counts identical between fast and SystemC. Prints PASS or the
// first divergence with its context and the command that reproduces it.
#include "sim/apps/compile_workload.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/core/progress.h"
#include "model/ir/verifier.h"
#include "sim/divergence.h"
#include "sim/engine.h"
#include "sim/rtl/rtl_engine.h"
#include "sim/workload_input.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>

namespace {

using fq::fail;

constexpr const char* kUsage = R"(usage: cosim --arch ARCH.yaml [--set KEY=VALUE ...]
             [--layer LAYER.q | --gemm M,N,K | --topology FILE.csv] [--tokens M] [--seed S]
             [--engines golden,fast,systemc,rtl] [--json OUT.json] [--rtl-cache DIR] [--wave OUT.fst]
             [--build-jobs N]

Compiles the workload once (as simulate does) and runs every chosen engine on the same program
and DRAM image (default engines: golden,fast,systemc,rtl; the RTL needs a weight-stationary
arch with default timing). Checks int32 accumulators across golden, SystemC and RTL, FP32 outputs
within a relative 2^-20, the completion cycle of every op between SystemC and RTL, and total
cycles and action counts between fast and SystemC. Prints PASS, or the first divergence with
the engines, the op, tile, element, expected and actual values and the cycle, and a command that
reproduces it with an RTL waveform. Exit status 0 only on full agreement.
  --rtl-cache DIR    where Verilated runners are kept (default $FQSIM_RTL_CACHE, else
                     ~/.cache/fqsim/rtl, also searching this build's rtl-cache, which the
                     tests fill); the first run for an arch builds one (minutes)
  --wave OUT.fst     the RTL run's waveform (GTKWave)
  --rtl-define NAME  a Verilog define for the RTL build (fault injection in tests/cosim)
  --build-only       only build (or find) the RTL runner for the arch, then exit
  --build-jobs N     compiler processes for a runner build (default: one per core)
)";

std::string reproduce_command(int argc, char** argv, const std::string& extra) {
  std::string cmd;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" || a == "--wave") {
      ++i;
      continue;
    }
    if (a.rfind("--json=", 0) == 0 || a.rfind("--wave=", 0) == 0) continue;
    if (i != 0) cmd.push_back(' ');
    cmd.append(a);
  }
  return cmd + extra;
}

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help", "build-only"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string arch_path = cl.required("arch");
  const auto overrides = cl.values("set");
  fq::Params numbers;
  numbers.set("tokens", cl.value("tokens").value_or("16"));
  numbers.set("seed", cl.value("seed").value_or("1"));
  fq::sim::WorkloadRequest request;
  request.tokens = static_cast<int>(numbers.get_int("tokens", 16, 1, 1 << 20));
  request.seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  request.layer = cl.value("layer");
  request.gemm = cl.value("gemm");
  request.topology = cl.value("topology");
  const std::string engines_text = cl.value("engines").value_or("golden,fast,systemc,rtl");
  const auto json_path = cl.value("json");
  fq::sim::EngineOptions rtl;  // the rtl engine's options; the other engines take none of them
  rtl.rtl_cache = cl.value("rtl-cache").value_or("");
  rtl.wave = cl.value("wave").value_or("");
  rtl.rtl_defines = cl.values("rtl-define");
  if (const auto jobs = cl.value("build-jobs")) {
    numbers.set("build-jobs", *jobs);
    rtl.rtl_build_jobs = static_cast<int>(numbers.get_int("build-jobs", 0, 1, 256));
  }
  const bool build_only = cl.flag("build-only");
  cl.finish();

  const std::vector<const fq::sim::Engine*> engines = fq::sim::find_engines(engines_text, "--engines");
  const auto has = [&](const char* e) {
    return std::any_of(engines.begin(), engines.end(), [&](const fq::sim::Engine* x) { return x->name() == e; });
  };
  if (!has("rtl") &&
      (!rtl.wave.empty() || !rtl.rtl_defines.empty() || !rtl.rtl_cache.empty() || rtl.rtl_build_jobs != 0)) {
    fail("--wave, --rtl-define, --rtl-cache and --build-jobs need the rtl engine in --engines");
  }
  const fq::ArchConfig arch = fq::load_arch(arch_path, overrides);
  for (const auto* e : engines) {
    if (const auto why = e->refusal(arch)) fail("--engines {}: {}", e->name(), *why);
  }
  fq::Progress progress("cosim");
  if (build_only) {
    fq::sim::RtlOptions o;
    o.cache_dir = rtl.rtl_cache;
    o.defines = rtl.rtl_defines;
    o.build_jobs = rtl.rtl_build_jobs;
    o.status = [&progress](const std::string& s) { progress.stage(s); };
    fmt::print("RTL runner for {}: {}\n", arch.name, fq::sim::rtl_runner(arch, o));
    return 0;
  }
  progress.stage("compiling");
  fq::sim::Workload w = fq::sim::make_workload(request, arch);
  const auto layer = fq::sim::compile_workload(arch, w);
  fq::ir::verify(layer.program, arch, layer.program.arch_fingerprint, layer.memory.end_bytes());
  const auto& p = layer.program;
  for (const auto* e : engines) {
    if (const auto why = e->refusal(arch, p)) fail("--engines {}: {}", e->name(), *why);
  }
  fmt::print("{} on {} ({}x{} {}): {} ops, engines {}\n", w.description, arch.name, arch.rows, arch.cols,
             arch.pe_kind, p.size(), engines_text);

  std::vector<fq::sim::EngineResult> runs;
  for (const auto* e : engines) {
    progress.stage("running " + e->name(), e->parts().op_timeline ? p.size() : 0, "ops");
    fq::sim::EngineOptions o = e->name() == "rtl" ? rtl : fq::sim::EngineOptions{};
    if (e->parts().op_timeline) o.progress = [&progress](uint64_t n) { progress.advance_to(n); };
    o.status = [&progress](const std::string& s) { progress.stage(s); };
    runs.push_back(e->run(arch, p, layer.memory, o));
  }

  // Checks, in the order of the contract: bytes, then per-op cycles (sim/divergence.h).
  std::vector<std::string> divergences;
  for (const auto& d : fq::sim::compare_runs(p, arch, runs)) divergences.push_back(d.message);

  for (const auto& r : runs) {
    if (r.timed()) fmt::print("  {:<8} {} cycles\n", r.engine, r.total_cycles());
  }
  if (divergences.empty()) {
    fmt::print("PASS: {} agree\n", engines_text);
  } else {
    fmt::print("FAIL: {}\n", divergences.front());
    for (size_t i = 1; i < divergences.size(); ++i) fmt::print("also: {}\n", divergences[i]);
    fmt::print("reproduce: {}\n", reproduce_command(argc, argv, has("rtl") ? " --wave cosim.fst" : ""));
  }
  if (json_path) {
    nlohmann::json j;
    j["verdict"] = divergences.empty() ? "pass" : "fail";
    j["engines"] = nlohmann::json::array();
    for (const auto* e : engines) j["engines"].push_back(e->name());
    j["workload"] = w.description;
    j["arch"] = {{"name", arch.name}, {"fingerprint", p.arch_fingerprint}};
    j["ops"] = p.size();
    nlohmann::json totals = nlohmann::json::object();
    for (const auto& r : runs) {
      if (r.timed()) totals[r.engine] = {{"total_cycles", r.total_cycles()}};
    }
    j["per_engine"] = totals;
    j["divergences"] = divergences;
    fq::write_file_atomically(*json_path, [&](std::ostream& out) { out << j.dump(2) << "\n"; });
  }
  return divergences.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("cosim", argc, argv, run); }
