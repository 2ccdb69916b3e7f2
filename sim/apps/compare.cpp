// compare: one workload on several architectures (FineQ vs the INT8/INT4 baselines), with the
// fast engine, at equal PE count and (--equal-area) at equal array area, for one or more token
// counts; prints and writes areas, cycles, throughput per mm2, energy per token split by where it
// is spent, TOPS/W, and their ratios to a baseline, as CSV and a gnuplot bar chart
// (docs/compare.md).
#include "sim/apps/compile_workload.h"
#include "model/arch/pe_model.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/core/progress.h"
#include "model/cost/cost_model.h"
#include "model/ckpt/random_layer.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "sim/workload_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

namespace {

using fq::fail;

constexpr const char* kUsage = R"(usage: compare --arch A.yaml --arch B.yaml [--arch ...] [--layer LAYER.q | --gemm M,N,K |
               --topology FILE.csv] [--tokens M[,M...]] [--equal-area] [--seed S] [--baseline N]
               [--out PREFIX] [--costs COSTS.yaml] [--engine NAME]

Runs the same workload on every --arch with the fast engine and prints, per arch and per token
count M (--tokens 2048,1 compares prefill and decode): array area (PEs and decoders), total area,
cycles, time, throughput per mm2 of total area, energy per token split into array, buffers, DRAM,
epilogue and leakage, TOPS/W, and the ratios to the baseline (--baseline N, the N-th --arch,
default 2: the first baseline after the design under study).
--equal-area adds, for every other arch, a row with its array grown to the baseline's array area
(the largest that does not exceed it): three shapes are tried (rows and columns scaled by one
factor, only the rows, only the columns; a temporal array's rows stay a multiple of 3, whole
FineQ-R clusters), each simulated at the first M, and the fastest is kept and named. Designs with
cheaper PEs are so compared at the silicon they would be given.
--engine NAME runs another registered engine with an op timeline and action counts (systemc: the
same numbers, far slower; the energy columns need the action counts, which rtl does not give).
Writes PREFIX.csv, PREFIX.gp and, with gnuplot, PREFIX.png (default PREFIX: compare).
The layer's weights run as they are on the arch whose PE takes their format; an arch whose PE
takes another format runs seeded random weights of its format with the layer's shapes (MAC timing
and energy do not depend on weight values; the temporal array's beat does, so the FineQ design
should get a FineQ layer).
)";

// The groups of the energy split; every breakdown item must fall in one (a new item fails loudly).
// The PE models' own terms are named pe_* (model/arch/pe_model.h) and belong to the array.
const std::map<std::string, std::string>& energy_groups() {
  static const std::map<std::string, std::string> g = {
      {"pe_registers", "array"},  {"weight_load", "array"}, {"array_chains", "array"}, {"array_history", "array"},
      {"array_control", "array"}, {"decoder", "array"},     {"wbuf", "buffers"},      {"abuf", "buffers"},
      {"obuf", "buffers"},        {"sbuf", "buffers"},      {"dram", "dram"},         {"epilogue", "epilogue"},
      {"epilogue_regs", "epilogue"}, {"unit_control", "control"},
      {"leakage_logic", "leakage"}, {"leakage_sram", "leakage"}};
  return g;
}
const char* const kGroups[] = {"array", "buffers", "dram", "epilogue", "control", "leakage"};

struct Row {
  int tokens = 0;
  std::string arch, basis, pe, weights;
  int rows = 0, cols = 0;
  double array_um2 = 0, area_um2 = 0, seconds = 0, energy_per_token_pj = 0, tops_per_w = 0, tops = 0;
  std::map<std::string, double> energy_split;  // group -> pJ per token
  uint64_t cycles = 0;
  double tops_per_mm2() const { return tops / (area_um2 * 1e-6); }
};

double array_area_um2(const fq::cost::Breakdown& area) {
  double a = 0;
  for (const auto& item : area.items) {
    if (item.name == "pe_array" || item.name == "decoders") a += item.value;
  }
  return a;
}

// The PE model's description without commas (a CSV field).
std::string pe_text(const fq::ArchConfig& arch) {
  std::string pe = fq::pe_model(arch).describe(arch);
  std::replace(pe.begin(), pe.end(), ',', ' ');
  pe.erase(std::unique(pe.begin(), pe.end(), [](char a, char b) { return a == ' ' && b == ' '; }), pe.end());
  return fmt::format("{} {}x{}", pe, arch.rows, arch.cols);
}

// Candidate shapes for --equal-area, each with the largest array area that does not exceed
// `budget`: both dimensions scaled by one factor, only the rows scaled, only the columns scaled. A
// FineQ-R array's rows stay a multiple of 3 (whole clusters).
std::vector<fq::ArchConfig> equal_area_shapes(const fq::ArchConfig& arch, const fq::cost::CostTables& tables,
                                              double budget) {
  const auto area_of = [&](int r, int c) {
    fq::ArchConfig a = arch;
    a.rows = r;
    a.cols = c;
    return array_area_um2(fq::cost::CostModel(tables, a).area_um2());
  };
  const int step = fq::pe_model(arch).weight_format(arch) == fq::HwFormat::kFineqR ? 3 : 1;
  std::vector<fq::ArchConfig> out;
  const auto add = [&](int r, int c) {
    if (r < step || c < 1 || r > 1024 || c > 1024 || area_of(r, c) > budget) return;
    for (const auto& o : out) {
      if (o.rows == r && o.cols == c) return;
    }
    fq::ArchConfig a = arch;
    a.rows = r;
    a.cols = c;
    out.push_back(a);
  };
  // Largest x in [lo, 1024] (stepping by `by`) with fits(x), by scanning up from lo.
  const auto grow = [](int lo, int by, const std::function<bool(int)>& fits) {
    int x = lo;
    while (x + by <= 1024 && fits(x + by)) x += by;
    return x;
  };
  // One factor for both: the largest s (in steps of 1/256) whose rounded shape fits.
  int best_r = arch.rows, best_c = arch.cols;
  for (int i = 256; i <= 256 * 32; ++i) {
    const double f = i / 256.0;
    const int r = std::max(step, static_cast<int>(std::lround(arch.rows * f / step)) * step);
    const int c = std::max(1, static_cast<int>(std::lround(arch.cols * f)));
    if (r > 1024 || c > 1024 || area_of(r, c) > budget) break;
    best_r = r;
    best_c = c;
  }
  add(best_r, best_c);
  add(grow(arch.rows, step, [&](int r) { return area_of(r, arch.cols) <= budget; }), arch.cols);
  add(arch.rows, grow(arch.cols, 1, [&](int c) { return area_of(arch.rows, c) <= budget; }));
  if (out.empty()) fail("--equal-area: {} at {}x{} already exceeds the baseline's array area", arch.name, arch.rows, arch.cols);
  return out;
}

Row run_one(const fq::sim::Engine& engine, const fq::ArchConfig& arch, const std::string& basis,
            const fq::sim::WorkloadRequest& request, const fq::cost::CostTables& tables, std::string& workload) {
  fq::sim::Workload w = fq::sim::make_workload(request, arch);
  if (workload.empty()) workload = w.description;  // the first design's (M appears per table)
  Row r;
  r.tokens = request.tokens;
  r.arch = arch.name;
  r.basis = basis;
  r.rows = arch.rows;
  r.cols = arch.cols;
  r.pe = pe_text(arch);
  const fq::HwFormat want = fq::pe_model(arch).weight_format(arch);
  r.weights = "layer";
  for (size_t g = 0; g < w.weights.size(); ++g) {
    if (w.weights[g].matrix.format != want) {
      const auto& m = w.weights[g].matrix;
      w.weights[g] = fq::random_qtensor(w.weights[g].name, want, m.rows, m.cols, request.seed + g);
      r.weights = fmt::format("random {}", fq::format_name(want));
    }
  }
  const auto layer = fq::sim::compile_workload(arch, w);
  if (const auto why = engine.refusal(arch, layer.program)) fail("--engine {}: {}: {}", engine.name(), arch.name, *why);
  const auto result = engine.run(arch, layer.program, layer.memory);
  const fq::cost::CostModel costs(tables, arch);
  const auto rep = fq::sim::build_report(layer.program, arch, result, costs, w.description);
  r.array_um2 = array_area_um2(rep.area_um2);
  r.area_um2 = rep.area_um2.total;
  r.cycles = rep.total_cycles;
  r.seconds = rep.seconds;
  r.energy_per_token_pj = rep.energy_pj.total / request.tokens;
  for (const char* g : kGroups) r.energy_split[g] = 0;
  for (const auto& item : rep.energy_pj.items) {
    const auto it = energy_groups().find(item.name);
    const bool pe_term = item.name.rfind("pe_", 0) == 0;
    if (it == energy_groups().end() && !pe_term) {
      fail("compare: energy item '{}' belongs to no group of the split", item.name);
    }
    r.energy_split[pe_term ? std::string("array") : it->second] += item.value / request.tokens;
  }
  r.tops = rep.tops;
  r.tops_per_w = rep.tops_per_w;
  return r;
}

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help", "equal-area"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const auto arch_paths = cl.values("arch");
  if (arch_paths.size() < 2) fail("give two or more --arch");
  fq::Params numbers;
  numbers.set("seed", cl.value("seed").value_or("1"));
  numbers.set("baseline", cl.value("baseline").value_or("2"));
  std::vector<int> token_counts;
  {
    const std::string list = cl.value("tokens").value_or("16");
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = std::min(list.find(',', start), list.size());
      fq::Params one("--tokens");
      one.set("tokens", list.substr(start, comma - start));
      token_counts.push_back(static_cast<int>(one.get_int("tokens", 16, 1, 1 << 20)));
      start = comma + 1;
    }
  }
  const bool equal_area = cl.flag("equal-area");
  fq::sim::WorkloadRequest request;
  request.seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  request.layer = cl.value("layer");
  request.gemm = cl.value("gemm");
  request.topology = cl.value("topology");
  const auto baseline = static_cast<size_t>(numbers.get_int("baseline", 2, 1, static_cast<int64_t>(arch_paths.size()))) - 1;
  const std::string prefix = cl.value("out").value_or("compare");
  const std::string costs_path = cl.value("costs").value_or(fq::cost::default_cost_tables_path());
  const std::string engine_name = cl.value("engine").value_or("fast");
  cl.finish();
  const fq::sim::Engine& engine = fq::sim::find_engine(engine_name, "--engine");
  fq::sim::require_parts(engine, {.op_timeline = true}, "--engine " + engine_name,
                         "compare's energy columns need the action counts");

  const fq::cost::CostTables tables = fq::cost::load_cost_tables(costs_path);
  std::vector<fq::ArchConfig> archs;
  for (const auto& path : arch_paths) archs.push_back(fq::load_arch(path));
  for (const auto& a : archs) {
    if (const auto why = engine.refusal(a)) fail("--engine {}: {}: {}", engine_name, a.name, *why);
  }
  // The arch list with, under --equal-area, each non-baseline arch scaled to the baseline's array area.
  std::vector<std::pair<fq::ArchConfig, std::string>> designs;
  const double budget = array_area_um2(fq::cost::CostModel(tables, archs[baseline]).area_um2());
  fq::Progress progress("compare");
  std::vector<Row> rows;
  std::string workload;
  std::vector<std::string> notes;
  for (size_t i = 0; i < archs.size(); ++i) {
    designs.emplace_back(archs[i], "equal PEs");
    if (!equal_area || i == baseline) continue;
    // The fastest candidate shape at the first M, by simulation.
    request.tokens = token_counts.front();
    std::string tried;
    std::optional<std::pair<fq::ArchConfig, uint64_t>> best;
    for (const auto& cand : equal_area_shapes(archs[i], tables, budget)) {
      progress.stage(fmt::format("equal-area shape {}x{} for {}", cand.rows, cand.cols, cand.name));
      const Row r = run_one(engine, cand, "equal area", request, tables, workload);
      tried += fmt::format("{}{}x{} {} cycles", tried.empty() ? "" : ", ", cand.rows, cand.cols, r.cycles);
      if (!best || r.cycles < best->second) best = std::pair{cand, r.cycles};
    }
    notes.push_back(fmt::format("equal area: {} tried {} at M = {}; {}x{} is the fastest", archs[i].name, tried,
                                token_counts.front(), best->first.rows, best->first.cols));
    designs.emplace_back(best->first, "equal area");
  }

  for (const int tokens : token_counts) {
    request.tokens = tokens;
    for (const auto& [arch, basis] : designs) {
      progress.stage(fmt::format("{} {}x{} at M = {}", arch.name, arch.rows, arch.cols, tokens));
      rows.push_back(run_one(engine, arch, basis, request, tables, workload));
    }
  }
  const auto base_of = [&](const Row& r) -> const Row& {
    for (const Row& b : rows) {
      if (b.tokens == r.tokens && b.arch == archs[baseline].name && b.basis == "equal PEs") return b;
    }
    fail("compare: no baseline row at M = {}", r.tokens);
  };
  fmt::print("{}; ratios to {} (--baseline) at the same M; energy in uJ per token\n", workload, archs[baseline].name);
  for (const auto& n : notes) fmt::print("{}\n", n);
  // Column widths of the text table: the longest arch name and PE description.
  size_t wa = 8, wp = 26;
  for (const auto& r : rows) {
    wa = std::max(wa, r.arch.size());
    wp = std::max(wp, r.pe.size());
  }
  for (const int tokens : token_counts) {
    fmt::print("\nM = {}\n{:<{}} {:<10} {:<{}} {:<14} {:>9} {:>6} {:>9} {:>6} {:>13} {:>6} {:>9} {:>6} {:>10} {:>6} {:>8} {:>8} "
               "{:>8} {:>8} {:>8} {:>8} {:>8} {:>6}\n",
               tokens, "arch", wa, "basis", "PE", wp, "weights", "array mm2", "x", "total mm2", "x", "cycles", "x", "TOPS/mm2", "x",
               "uJ/token", "x", "array", "buffers", "dram", "epilog", "control", "leak", "TOPS/W", "x");
    for (const auto& r : rows) {
      if (r.tokens != tokens) continue;
      const Row& b = base_of(r);
      fmt::print("{:<{}} {:<10} {:<{}} {:<14} {:>9.4f} {:>6.3f} {:>9.4f} {:>6.3f} {:>13} {:>6.3f} {:>9.4f} {:>6.3f} {:>10.4f} "
                 "{:>6.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.4f} {:>6.3f}\n",
                 r.arch, wa, r.basis, r.pe, wp, r.weights, r.array_um2 * 1e-6, r.array_um2 / b.array_um2, r.area_um2 * 1e-6,
                 r.area_um2 / b.area_um2, r.cycles, static_cast<double>(r.cycles) / static_cast<double>(b.cycles),
                 r.tops_per_mm2(), r.tops_per_mm2() / b.tops_per_mm2(), r.energy_per_token_pj * 1e-6,
                 r.energy_per_token_pj / b.energy_per_token_pj, r.energy_split.at("array") * 1e-6,
                 r.energy_split.at("buffers") * 1e-6, r.energy_split.at("dram") * 1e-6,
                 r.energy_split.at("epilogue") * 1e-6, r.energy_split.at("control") * 1e-6,
                 r.energy_split.at("leakage") * 1e-6, r.tops_per_w, r.tops_per_w / b.tops_per_w);
    }
  }
  const std::string csv = prefix + ".csv";
  fq::write_file_atomically(csv, [&](std::ostream& o) {
    o << "tokens,arch,basis,rows,cols,pe,weights,array_um2,array_ratio,area_um2,area_ratio,cycles,cycles_ratio,time_s,"
         "tops,tops_per_mm2,tops_per_mm2_ratio,energy_per_token_pj,energy_ratio,array_pj_per_token,"
         "buffers_pj_per_token,dram_pj_per_token,epilogue_pj_per_token,leakage_pj_per_token,tops_per_w,"
         "tops_per_w_ratio,control_pj_per_token\n";
    for (const auto& r : rows) {
      const Row& b = base_of(r);
      o << fmt::format("{},{},{},{},{},{},{},{:.9g},{:.6g},{:.9g},{:.6g},{},{:.6g},{:.9g},{:.6g},{:.6g},{:.6g},{:.9g},{:.6g},"
                       "{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.6g},{:.6g},{:.9g}\n",
                       r.tokens, r.arch, r.basis, r.rows, r.cols, r.pe, r.weights, r.array_um2, r.array_um2 / b.array_um2,
                       r.area_um2, r.area_um2 / b.area_um2, r.cycles,
                       static_cast<double>(r.cycles) / static_cast<double>(b.cycles), r.seconds, r.tops,
                       r.tops_per_mm2(), r.tops_per_mm2() / b.tops_per_mm2(), r.energy_per_token_pj,
                       r.energy_per_token_pj / b.energy_per_token_pj, r.energy_split.at("array"),
                       r.energy_split.at("buffers"), r.energy_split.at("dram"), r.energy_split.at("epilogue"),
                       r.energy_split.at("leakage"), r.tops_per_w, r.tops_per_w / b.tops_per_w,
                       r.energy_split.at("control"));
    }
  });
  const std::string gp = prefix + ".gp";
  const std::string base_name = std::filesystem::path(prefix).filename().string();
  fq::write_file_atomically(gp, [&](std::ostream& o) {
    // One panel per M: the ratios of every design (x labels: arch and basis).
    o << "# gnuplot script written by compare: gnuplot " << gp << "\n"
      << "set datafile separator ','\nset terminal pngcairo size 1100," << 460 * token_counts.size() << "\n"
      << "set output '" << base_name << ".png'\n"
      << "set multiplot layout " << token_counts.size() << ",1\n"
      << "set style data histogram\nset style histogram cluster gap 1\n"
      << "set style fill solid 0.8 border -1\nset grid ytics\nset yrange [0:*]\nset key outside\nset xtics noenhanced\n";
    // Rows are written grouped by M, designs.size() per group, after one header line.
    for (size_t i = 0; i < token_counts.size(); ++i) {
      const size_t first = i * designs.size(), last = first + designs.size() - 1;
      const std::string data = fmt::format("'{}.csv' skip 1 every ::{}::{}", base_name, first, last);
      o << "set title 'M = " << token_counts[i] << ": ratio to " << archs[baseline].name << "'\n"
        << "plot " << data << " using 9:xtic(stringcolumn(2).\"\\n\".stringcolumn(3)) title 'array area', "
        << data << " using 13 title 'cycles', " << data << " using 17 title 'TOPS/mm2', " << data
        << " using 19 title 'energy/token', " << data << " using 26 title 'TOPS/W'\n";
    }
    o << "unset multiplot\n";
  });
  fmt::print("\nwrote {} and {}", csv, gp);
  const auto dir = std::filesystem::path(prefix).parent_path();
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0 &&
      std::system(fmt::format("cd '{}' && gnuplot '{}' > /dev/null 2>&1", dir.empty() ? "." : dir.string(),
                              std::filesystem::path(gp).filename().string())
                      .c_str()) == 0) {
    fmt::print(" and {}.png", prefix);
  }
  fmt::print("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("compare", argc, argv, run); }
