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
#include "model/golden/tile_interpreter.h"
#include "model/ir/tir_text.h"
#include "model/ir/verifier.h"
#include "sim/fast/fast_engine.h"
#include "sim/rtl/rtl_engine.h"
#include "sim/systemc/sc_engine.h"
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

Compiles the workload once (as simulate does) and runs every chosen engine on the same program
and DRAM image (default engines: golden,fast,systemc,rtl; the RTL needs a weight-stationary
arch with default timing). Checks int32 accumulators across golden, SystemC and RTL, FP32 outputs
within a relative 2^-20, the completion cycle of every op between SystemC and RTL, and total
cycles and action counts between fast and SystemC. Prints PASS, or the first divergence with
the engines, the op, tile, element, expected and actual values and the cycle, and a command that
reproduces it with an RTL waveform. Exit status 0 only on full agreement.
  --rtl-cache DIR    where Verilated runners are kept (default $FQSIM_RTL_CACHE, else
                     ~/.cache/fqsim/rtl, also searching this build's rtl-cache, which the
                     rtl_runners target fills); the first run for an arch builds one (minutes)
  --wave OUT.fst     the RTL run's waveform (GTKWave)
  --rtl-define NAME  a Verilog define for the RTL build (fault injection in tests/cosim)
  --build-only       only build (or find) the RTL runner for the arch, then exit
)";

struct EngineRun {
  std::string name;
  fq::ir::MemoryImage memory;
  std::optional<fq::timing::Timeline> timeline;   // fast, systemc
  std::vector<uint64_t> done;                     // systemc, rtl
  uint64_t total_cycles = 0;
  uint64_t pulses = 0;
  bool has_cycles = false;
};

// The dma.store that wrote DRAM byte `addr`, for the context of a divergence.
std::optional<fq::ir::OpId> store_of(const fq::ir::TileProgram& p, uint64_t addr) {
  for (fq::ir::OpId id = 0; id < p.size(); ++id) {
    const auto& op = p.op(id);
    if (op.opcode != fq::ir::Opcode::kDmaStore) continue;
    for (uint64_t r = 0; r < op.rows; ++r) {
      const uint64_t b = op.dst + r * op.dst_stride;
      if (addr >= b && addr < b + op.bytes) return id;
    }
  }
  return std::nullopt;
}

// First accumulator (exact) or output (relative 2^-20) element where `got` differs from `want`.
std::optional<std::string> compare_results(const fq::ir::TileProgram& p, const EngineRun& want, const EngineRun& got) {
  for (size_t g = 0; g < p.gemms.size(); ++g) {
    const auto& d = p.gemms[g];
    for (int pass = 0; pass < 2; ++pass) {
      const uint64_t base = pass == 0 ? d.acc_addr : d.y_addr;
      for (uint64_t i = 0; i < uint64_t{d.m} * d.n; ++i) {
        const uint64_t addr = base + 4 * i;
        bool differ = false;
        std::string values;
        if (pass == 0) {
          const int32_t a = want.memory.read_i32(addr), b = got.memory.read_i32(addr);
          differ = a != b;
          values = fmt::format("expected {}, actual {}", a, b);
        } else {
          const float a = want.memory.read_f32(addr), b = got.memory.read_f32(addr);
          differ = !(std::fabs(a - b) <= std::ldexp(std::fabs(a), -20)) && !(a == b);
          values = fmt::format("expected {:.9g}, actual {:.9g}", a, b);
        }
        if (!differ) continue;
        const uint64_t m = i / d.n, n = i % d.n;
        std::string where;
        if (const auto st = store_of(p, addr)) where = fmt::format("\n  written by op {}: {}", *st, fq::ir::tir_op_line(p, *st));
        return fmt::format("{} vs {}: gemm {} ({}) {}[{}][{}]: {}{}", want.name, got.name, g, d.name,
                           pass == 0 ? "acc" : "y", m, n, values, where);
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> compare_done(const fq::ir::TileProgram& p, const EngineRun& a, const EngineRun& b) {
  for (fq::ir::OpId id = 0; id < p.size(); ++id) {
    if (a.done[id] != b.done[id]) {
      const auto& op = p.op(id);
      std::string tile;
      if (op.opcode == fq::ir::Opcode::kMatmul || op.opcode == fq::ir::Opcode::kDequant) {
        tile = fmt::format(" (gemm {}, rows {}..{})", p.gemms[op.gemm].name, op.m0, op.m0 + op.m - 1);
      } else if (op.opcode == fq::ir::Opcode::kPreload) {
        tile = fmt::format(" (gemm {}, tile k0 {} n0 {})", p.gemms[op.gemm].name, op.k0, op.n0);
      }
      return fmt::format("{} vs {}: op {}{} completes at cycle {} in {}, {} in {}\n  {}", a.name, b.name, id, tile,
                         a.done[id], a.name, b.done[id], b.name, fq::ir::tir_op_line(p, id));
    }
  }
  if (a.total_cycles != b.total_cycles) {
    return fmt::format("{} vs {}: total cycles {} and {}", a.name, b.name, a.total_cycles, b.total_cycles);
  }
  return std::nullopt;
}

std::optional<std::string> compare_fast_systemc(const fq::ir::TileProgram& p, const fq::timing::Timeline& f,
                                                const fq::timing::Timeline& s) {
  for (fq::ir::OpId id = 0; id < p.size(); ++id) {
    if (!(f.ops[id] == s.ops[id])) {
      return fmt::format("fast vs systemc: op {} issue/finish/done {}/{}/{} and {}/{}/{}\n  {}", id, f.ops[id].issue,
                         f.ops[id].finish, f.ops[id].done, s.ops[id].issue, s.ops[id].finish, s.ops[id].done,
                         fq::ir::tir_op_line(p, id));
    }
  }
  if (f.total_cycles != s.total_cycles) return fmt::format("fast vs systemc: total cycles {} and {}", f.total_cycles, s.total_cycles);
  if (!(f.actions == s.actions)) return std::string("fast vs systemc: action counts differ");
  return std::nullopt;
}

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
  fq::CommandLine cl("cosim", argc, argv, {"help", "build-only"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string arch_path = cl.required("arch");
  const auto overrides = cl.values("set");
  fq::Params numbers("cosim");
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
  fq::sim::RtlOptions rtl;
  rtl.cache_dir = cl.value("rtl-cache").value_or("");
  rtl.wave = cl.value("wave").value_or("");
  rtl.defines = cl.values("rtl-define");
  const bool build_only = cl.flag("build-only");
  cl.finish();

  std::vector<std::string> engines;
  {
    std::istringstream in(engines_text);
    std::string e;
    while (std::getline(in, e, ',')) {
      if (e != "golden" && e != "fast" && e != "systemc" && e != "rtl") {
        fail("--engines '{}': unknown engine '{}' (golden, fast, systemc, rtl)", engines_text, e);
      }
      engines.push_back(e);
    }
  }
  const auto has = [&](const char* e) { return std::find(engines.begin(), engines.end(), e) != engines.end(); };
  const fq::ArchConfig arch = fq::load_arch(arch_path, overrides);
  if (has("rtl")) {
    if (const std::string why = fq::sim::rtl_unsupported(arch); !why.empty()) fail("--engines rtl: {}", why);
  }
  fq::Progress progress("cosim");
  if (build_only) {
    rtl.status = [&progress](const std::string& s) { progress.stage(s); };
    fmt::print("RTL runner for {}: {}\n", arch.name, fq::sim::rtl_runner(arch, rtl));
    return 0;
  }
  progress.stage("compiling");
  fq::sim::Workload w = fq::sim::make_workload(request, arch);
  const auto layer = fq::sim::compile_workload(arch, w);
  fq::ir::verify(layer.program, arch, layer.program.arch_fingerprint, layer.memory.end_bytes());
  const auto& p = layer.program;
  fmt::print("{} on {} ({}x{} {}): {} ops, engines {}\n", w.description, arch.name, arch.rows, arch.cols,
             arch.pe_kind, p.size(), engines_text);

  std::vector<EngineRun> runs;
  for (const auto& e : engines) {
    EngineRun r{e, layer.memory, std::nullopt, {}, 0, 0, false};
    progress.stage("running " + e, e == "systemc" || e == "fast" ? p.size() : 0, "ops");
    const auto advance = [&progress](uint64_t n) { progress.advance_to(n); };
    if (e == "golden") {
      fq::golden::run_tile_program(p, arch, r.memory);
    } else if (e == "fast") {
      r.timeline = fq::sim::run_fast(p, arch, layer.memory, advance);
      r.total_cycles = r.timeline->total_cycles;
      r.has_cycles = true;
    } else if (e == "systemc") {
      r.timeline = fq::sim::run_systemc(p, arch, r.memory, nullptr, advance);
      r.total_cycles = r.timeline->total_cycles;
      for (const auto& t : r.timeline->ops) r.done.push_back(t.done);
      r.has_cycles = true;
    } else {
      rtl.status = [&progress](const std::string& s) { progress.stage(s); };
      const auto res = fq::sim::run_rtl(p, arch, r.memory, rtl);
      r.done = res.done;
      r.total_cycles = res.total_cycles;
      r.pulses = res.pulses;
      r.has_cycles = true;
    }
    runs.push_back(std::move(r));
  }

  // Checks, in the order of the contract: bytes, per-op cycles, fast = SystemC.
  std::vector<std::string> divergences;
  const EngineRun* ref = nullptr;
  for (const auto& r : runs) {
    if (r.name == "fast") continue;  // computes no data
    if (ref == nullptr) {
      ref = &r;
      continue;
    }
    if (auto d = compare_results(p, *ref, r)) divergences.push_back(*d);
  }
  const EngineRun* sc = nullptr;
  const EngineRun* rt = nullptr;
  const EngineRun* fast = nullptr;
  for (const auto& r : runs) {
    if (r.name == "systemc") sc = &r;
    if (r.name == "rtl") rt = &r;
    if (r.name == "fast") fast = &r;
  }
  if (sc && rt) {
    if (auto d = compare_done(p, *sc, *rt)) divergences.push_back(*d);
    const uint64_t adds = sc->timeline->actions.pe_pulses + sc->timeline->actions.pe_macs;
    if (rt->pulses != adds) divergences.push_back(fmt::format("systemc vs rtl: {} and {} PE additions", adds, rt->pulses));
  }
  if (fast && sc) {
    if (auto d = compare_fast_systemc(p, *fast->timeline, *sc->timeline)) divergences.push_back(*d);
  }
  if (fast && rt && !sc) {
    EngineRun f = *fast;
    for (const auto& t : fast->timeline->ops) f.done.push_back(t.done);
    if (auto d = compare_done(p, f, *rt)) divergences.push_back(*d);
  }

  for (const auto& r : runs) {
    if (r.has_cycles) fmt::print("  {:<8} {} cycles\n", r.name, r.total_cycles);
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
    j["engines"] = engines;
    j["workload"] = w.description;
    j["arch"] = {{"name", arch.name}, {"fingerprint", p.arch_fingerprint}};
    j["ops"] = p.size();
    nlohmann::json totals = nlohmann::json::object();
    for (const auto& r : runs) {
      if (r.has_cycles) totals[r.name] = {{"total_cycles", r.total_cycles}};
    }
    j["per_engine"] = totals;
    j["divergences"] = divergences;
    fq::write_file_atomically(*json_path, [&](std::ostream& out) { out << j.dump(2) << "\n"; });
  }
  return divergences.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("cosim", argc, argv, run); }
