// compare: one workload on several architectures (FineQ vs the INT8/INT4 baselines), with the
// fast engine; prints and writes array area, total area, cycles, energy per token and TOPS/W,
// and their ratios to a baseline, as CSV and a gnuplot bar chart (docs/compare.md).
#include "sim/apps/compile_workload.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/core/progress.h"
#include "model/cost/cost_model.h"
#include "model/golden/random_layer.h"
#include "sim/fast/fast_engine.h"
#include "sim/report.h"
#include "sim/workload_input.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

namespace {

using fq::fail;

constexpr const char* kUsage = R"(usage: compare --arch A.yaml --arch B.yaml [--arch ...] [--layer LAYER.q | --gemm M,N,K |
               --topology FILE.csv] [--tokens M] [--seed S] [--baseline N] [--out PREFIX] [--costs COSTS.yaml]

Runs the same workload on every --arch with the fast engine and prints, per arch: array area
(PEs and decoders), total area, cycles, time, energy per token, TOPS/W, and each as a ratio to the
baseline (--baseline N, the N-th --arch, default 2: the first baseline after the design under
study). Writes PREFIX.csv, PREFIX.gp and, with gnuplot, PREFIX.png (default PREFIX: compare).
The layer's weights run as they are on the arch whose PE takes their format; an arch whose PE
takes another format runs seeded random weights of its format with the layer's shapes (MAC timing
and energy do not depend on weight values; the temporal array's beat does, so the FineQ design
should get a FineQ layer).
)";

struct Row {
  std::string arch, pe, weights;
  double array_um2 = 0, area_um2 = 0, seconds = 0, energy_per_token_pj = 0, tops_per_w = 0, tops = 0;
  uint64_t cycles = 0;
};

int run(int argc, char** argv) {
  fq::CommandLine cl("compare", argc, argv, {"help"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const auto arch_paths = cl.values("arch");
  if (arch_paths.size() < 2) fail("give two or more --arch");
  fq::Params numbers("compare");
  numbers.set("tokens", cl.value("tokens").value_or("16"));
  numbers.set("seed", cl.value("seed").value_or("1"));
  numbers.set("baseline", cl.value("baseline").value_or("2"));
  fq::sim::WorkloadRequest request;
  request.tokens = static_cast<int>(numbers.get_int("tokens", 16, 1, 1 << 20));
  request.seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  request.layer = cl.value("layer");
  request.gemm = cl.value("gemm");
  request.topology = cl.value("topology");
  const auto baseline = static_cast<size_t>(numbers.get_int("baseline", 2, 1, static_cast<int64_t>(arch_paths.size()))) - 1;
  const std::string prefix = cl.value("out").value_or("compare");
  const std::string costs_path = cl.value("costs").value_or(fq::cost::default_cost_tables_path());
  cl.finish();

  const fq::cost::CostTables tables = fq::cost::load_cost_tables(costs_path);
  fq::Progress progress("compare");
  std::vector<Row> rows;
  std::string workload;
  for (const auto& path : arch_paths) {
    const fq::ArchConfig arch = fq::load_arch(path);
    progress.stage(fmt::format("{} ({})", arch.name, path));
    fq::sim::Workload w = fq::sim::make_workload(request, arch);
    workload = w.description;
    Row r;
    r.arch = arch.name;
    r.pe = arch.pe_kind == fq::PeKind::kTemporal ? fmt::format("temporal {}x{} {}", arch.rows, arch.cols, to_string(arch.window))
                                                 : fmt::format("INT{} MAC {}x{}", arch.weight_bits, arch.rows, arch.cols);
    const fq::HwFormat want = arch.pe_kind == fq::PeKind::kTemporal ? fq::HwFormat::kFineqR : fq::int_format(arch.weight_bits);
    r.weights = "layer";
    for (size_t g = 0; g < w.weights.size(); ++g) {
      if (w.weights[g].matrix.format != want) {
        const auto& m = w.weights[g].matrix;
        w.weights[g] = fq::random_qtensor(w.weights[g].name, want, m.rows, m.cols, request.seed + g);
        r.weights = fmt::format("random {}", fq::format_name(want));
      }
    }
    const auto layer = fq::sim::compile_workload(arch, w);
    const auto tl = fq::sim::run_fast(layer.program, arch, layer.memory);
    const fq::cost::CostModel costs(tables, arch);
    const auto rep = fq::sim::build_report(layer.program, arch, tl, costs, "fast", w.description);
    for (const auto& item : rep.area_um2.items) {
      if (item.name == "pe_array" || item.name == "decoders") r.array_um2 += item.value;
    }
    r.area_um2 = rep.area_um2.total;
    r.cycles = rep.total_cycles;
    r.seconds = rep.seconds;
    r.energy_per_token_pj = rep.energy_pj.total / request.tokens;
    r.tops = rep.tops;
    r.tops_per_w = rep.tops_per_w;
    rows.push_back(r);
  }
  const Row& b = rows[baseline];
  fmt::print("{}; ratios to {} (--baseline)\n\n", workload, b.arch);
  fmt::print("{:<10} {:<24} {:<12} {:>11} {:>7} {:>11} {:>7} {:>14} {:>7} {:>13} {:>7} {:>9} {:>7}\n", "arch", "PE",
             "weights", "array mm2", "x", "total mm2", "x", "cycles", "x", "uJ/token", "x", "TOPS/W", "x");
  for (const auto& r : rows) {
    fmt::print("{:<10} {:<24} {:<12} {:>11.4f} {:>7.3f} {:>11.4f} {:>7.3f} {:>14} {:>7.3f} {:>13.4f} {:>7.3f} {:>9.4f} {:>7.3f}\n",
               r.arch, r.pe, r.weights, r.array_um2 * 1e-6, r.array_um2 / b.array_um2, r.area_um2 * 1e-6,
               r.area_um2 / b.area_um2, r.cycles, static_cast<double>(r.cycles) / static_cast<double>(b.cycles),
               r.energy_per_token_pj * 1e-6, r.energy_per_token_pj / b.energy_per_token_pj, r.tops_per_w,
               r.tops_per_w / b.tops_per_w);
  }
  const std::string csv = prefix + ".csv";
  fq::write_file_atomically(csv, [&](std::ostream& o) {
    o << "arch,pe,weights,array_um2,array_ratio,area_um2,area_ratio,cycles,cycles_ratio,time_s,energy_per_token_pj,"
         "energy_ratio,tops,tops_per_w,tops_per_w_ratio\n";
    for (const auto& r : rows) {
      o << fmt::format("{},{},{},{:.9g},{:.6g},{:.9g},{:.6g},{},{:.6g},{:.9g},{:.9g},{:.6g},{:.6g},{:.6g},{:.6g}\n", r.arch,
                       r.pe, r.weights, r.array_um2, r.array_um2 / b.array_um2, r.area_um2, r.area_um2 / b.area_um2,
                       r.cycles, static_cast<double>(r.cycles) / static_cast<double>(b.cycles), r.seconds,
                       r.energy_per_token_pj, r.energy_per_token_pj / b.energy_per_token_pj, r.tops, r.tops_per_w,
                       r.tops_per_w / b.tops_per_w);
    }
  });
  const std::string gp = prefix + ".gp";
  fq::write_file_atomically(gp, [&](std::ostream& o) {
    o << "# gnuplot script written by compare: gnuplot " << gp << "\n"
      << "set datafile separator ','\nset terminal pngcairo size 1000,600\nset output '" << prefix << ".png'\n"
      << "set title 'ratio to " << b.arch << "'\nset style data histogram\nset style histogram cluster gap 1\n"
      << "set style fill solid 0.8 border -1\nset grid ytics\nset yrange [0:*]\nset key outside\n"
      << "plot '" << csv << "' using 5:xtic(1) title 'array area', '' using 7 title 'total area', "
      << "'' using 9 title 'cycles', '' using 12 title 'energy/token', '' using 15 title 'TOPS/W'\n";
  });
  fmt::print("\nwrote {} and {}", csv, gp);
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0 &&
      std::system(fmt::format("gnuplot '{}' > /dev/null 2>&1", gp).c_str()) == 0) {
    fmt::print(" and {}.png", prefix);
  }
  fmt::print("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("compare", argc, argv, run); }
