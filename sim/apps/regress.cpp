// regress: the RTL regression as a command. Runs the cluster decoder on all 256 code bytes and
// random compiled programs on every Verilated fq_top configuration, printing one line per case
// and a final count; exit status 0 only if every case passes.
//   regress [--seeds N] [--only NAME] [--stalls PERCENT] [--wave FILE.fst]
#include "Vfq_cluster_decoder.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/quant/cluster_codec.h"
#include "top_cases.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>

namespace {

constexpr const char* kUsage = R"(usage: regress [--seeds N] [--only NAME] [--stalls PERCENT] [--wave FILE.fst]

Runs the RTL regression: the cluster decoder on all 256 code bytes, and N random compiled programs
(default 20) on each Verilated accelerator configuration, each checked against the golden
interpreter (every DRAM byte) and the fast engine (the cycle every op completes). Prints one line
per case (PASS or FAIL with the first divergence) and a final count.
  --only NAME        run the case of that name (e.g. top.t4x3.seed7), or every case whose name
                     contains NAME when no case has exactly that name (e.g. t4x3, decoder)
  --stalls PERCENT   also run every program with random DRAM stalls (bytes checked only)
  --wave FILE.fst    dump an FST waveform (GTKWave) of the first selected program case
)";

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  fq::Params p;
  p.set("seeds", cl.value("seeds").value_or("20"));
  p.set("stalls", cl.value("stalls").value_or("0"));
  const auto seeds = static_cast<uint64_t>(p.get_int("seeds", 20, 1, 1000000));
  const auto stalls = static_cast<int>(p.get_int("stalls", 0, 0, 90));
  const std::string only = cl.value("only").value_or("");
  std::string wave = cl.value("wave").value_or("");
  cl.finish();

  // Exact names win over substrings, so seed7 does not also select seed70.
  bool exact = false;
  for (const auto& t : fq::rtl::top_configs()) {
    for (uint64_t seed = 1; seed <= seeds; ++seed) exact = exact || only == fmt::format("top.{}.seed{}", t.name, seed);
  }
  auto selected = [&](const std::string& name) {
    return only.empty() || (exact ? name == only : name.find(only) != std::string::npos);
  };
  int passed = 0, failed = 0;
  auto report = [&](bool ok, const std::string& name, const std::string& detail) {
    fmt::print("{} {}{}\n", ok ? "PASS" : "FAIL", name, detail.empty() ? "" : " " + detail);
    std::fflush(stdout);
    (ok ? passed : failed) += 1;
  };
  if (selected("decoder")) {
    Vfq_cluster_decoder dec;
    std::string bad;
    for (int b = 0; b < 256 && bad.empty(); ++b) {
      dec.code = static_cast<uint8_t>(b);
      dec.eval();
      const auto q = fq::decode_cluster(static_cast<uint8_t>(b));
      const int got[3] = {dec.q0, dec.q1, dec.q2};
      for (int i = 0; i < 3; ++i) {
        const int v = got[i] >= 8 ? got[i] - 16 : got[i];
        if (v != q[static_cast<size_t>(i)]) bad = fmt::format("code byte {:#04x} weight {}: rtl {}, golden {}", b, i, v, int{q[static_cast<size_t>(i)]});
      }
    }
    report(bad.empty(), "decoder:", bad.empty() ? "all 256 code bytes" : bad);
  }
  for (const auto& t : fq::rtl::top_configs()) {
    for (int pass = 0; pass < (stalls > 0 ? 2 : 1); ++pass) {
      for (uint64_t seed = 1; seed <= seeds; ++seed) {
        const std::string name = fmt::format("top.{}.seed{}", t.name, seed);
        if (!selected(name)) continue;
        const auto r = fq::rtl::run_top_case(t, seed, pass == 1 ? stalls : 0, wave);
        if (!wave.empty()) {
          fmt::print("wrote {} ({})\n", wave, name);
          wave.clear();
        }
        report(r.pass, r.summary, r.failure);
        if (!r.pass) {
          fmt::print("     reproduce: regress --only {}{} --wave {}.fst\n", name, pass == 1 ? fmt::format(" --stalls {}", stalls) : "",
                     name);
        }
      }
    }
  }
  fmt::print("regress: {} passed, {} failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("regress", argc, argv, run); }
