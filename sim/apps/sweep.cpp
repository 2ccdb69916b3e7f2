// sweep: the cross product of architecture parameters on one workload with the fast engine, in
// parallel, resumable, with a CSV (docs/sweep.md) and gnuplot plots beside it.
#include "sim/apps/compile_workload.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/parallel.h"
#include "model/core/params.h"
#include "model/core/progress.h"
#include "model/cost/cost_model.h"
#include "model/ir/verifier.h"
#include "sim/fast/fast_engine.h"
#include "sim/report.h"
#include "sim/workload_input.h"

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace {

using fq::fail;

constexpr const char* kUsage = R"(usage: sweep --arch ARCH.yaml --set KEY=V1,V2,... [--set ...] --out FILE.csv
             [--layer LAYER.q | --gemm M,N,K | --topology FILE.csv] [--tokens M] [--seed S]
             [--jobs N] [--costs COSTS.yaml] [--no-plots]

Evaluates every combination of the --set values (any key of the architecture YAML, e.g.
--set array.rows=8,16,32,64 --set array.cols=8,16,32,64 --set pe.window=fixed,tile) on the
workload with the fast engine, N points at a time (default: all cores). Writes one CSV row per
point as it finishes (columns in docs/sweep.md); a point the arch or the compiler rejects is a
row with status `invalid` and the reason. Re-running with the same --out skips the points already
in the file. Then writes FILE.gp and, with gnuplot, FILE-<metric>.png plots and the
energy-latency Pareto front (FILE-pareto.png).
)";

const char* const kMetrics[] = {"cycles", "time_s", "energy_pj", "area_um2", "utilisation", "edp_pj_s", "tops",
                                "tops_per_w", "dram_bytes"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(s);
  while (std::getline(in, cell, sep)) out.push_back(cell);
  return out;
}

std::string csv_quote(const std::string& s) {
  std::string q(1, '"');
  for (char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c == '\n' ? ' ' : c);
  }
  q.push_back('"');
  return q;
}

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

int run(int argc, char** argv) {
  fq::CommandLine cl("sweep", argc, argv, {"help", "no-plots"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string arch_path = cl.required("arch");
  const std::string out_path = cl.required("out");
  std::vector<Axis> axes;
  std::vector<std::string> fixed;
  for (const auto& s : cl.values("set")) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) fail("--set '{}': expected KEY=V1,V2,...", s);
    Axis a{s.substr(0, eq), split(s.substr(eq + 1), ',')};
    if (a.values.empty()) fail("--set '{}': no values", s);
    if (a.values.size() == 1) {
      fixed.push_back(s);
    } else {
      axes.push_back(a);
    }
  }
  if (axes.empty()) fail("give at least one --set KEY=V1,V2,... with two or more values to sweep");
  fq::Params numbers("sweep");
  numbers.set("tokens", cl.value("tokens").value_or("16"));
  numbers.set("seed", cl.value("seed").value_or("1"));
  numbers.set("jobs", cl.value("jobs").value_or(std::to_string(fq::default_threads())));
  fq::sim::WorkloadRequest request;
  request.tokens = static_cast<int>(numbers.get_int("tokens", 16, 1, 1 << 20));
  request.seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  request.layer = cl.value("layer");
  request.gemm = cl.value("gemm");
  request.topology = cl.value("topology");
  const int jobs = static_cast<int>(numbers.get_int("jobs", 1, 1, 256));
  const std::string costs_path = cl.value("costs").value_or(fq::cost::default_cost_tables_path());
  const bool plots = !cl.flag("no-plots");
  cl.finish();

  // Every key is checked up front so a typo fails now, not as N invalid rows.
  std::set<std::string> known;
  for (const auto& [k, d] : fq::arch_key_paths()) known.insert(k);
  for (const auto& a : axes) {
    if (!known.count(a.key)) fail("--set '{}': unknown key; known keys: {}", a.key, fmt::join(known, ", "));
  }
  const fq::cost::CostTables tables = fq::cost::load_cost_tables(costs_path);
  fq::load_arch(arch_path, fixed);  // the base must be valid

  // The points, and the ones already in the file (resume).
  std::vector<std::vector<std::string>> points(1);
  for (const auto& a : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : points) {
      for (const auto& v : a.values) {
        auto q = p;
        q.push_back(v);
        next.push_back(q);
      }
    }
    points = next;
  }
  std::string header;
  for (const auto& a : axes) header += a.key + ",";
  header += "status,reason";
  for (const char* m : kMetrics) header += fmt::format(",{}", m);
  std::set<std::string> done;
  std::vector<std::string> kept;
  if (std::filesystem::exists(out_path)) {
    std::ifstream in(out_path);
    std::string line;
    std::getline(in, line);
    if (line != header) fail("{}: exists with other columns; remove it or choose another --out", out_path);
    while (std::getline(in, line)) {
      if (line.empty() || line.back() == '\r') continue;
      const auto cells = split(line, ',');
      if (cells.size() < axes.size() + 2 + std::size(kMetrics)) continue;  // a row cut short by a crash
      std::string key;
      for (size_t i = 0; i < axes.size(); ++i) key += cells[i] + ",";
      done.insert(key);
      kept.push_back(line);
    }
  }
  {
    std::ofstream out(out_path, std::ios::trunc);  // rewrite without any partial last row
    out << header << "\n";
    for (const auto& l : kept) out << l << "\n";
    if (!out) fail("{}: cannot write", out_path);
  }
  std::vector<size_t> todo;
  for (size_t i = 0; i < points.size(); ++i) {
    std::string key;
    for (const auto& v : points[i]) key += v + ",";
    if (!done.count(key)) todo.push_back(i);
  }
  fmt::print("sweep: {} points, {} already in {}, {} to run on {} threads\n", points.size(), points.size() - todo.size(),
             out_path, todo.size(), jobs);

  // The workload depends on the arch only through the PE's weight format: build it once per format.
  std::mutex workload_mutex;
  std::map<std::string, std::shared_ptr<const fq::sim::Workload>> workloads;
  auto workload_for = [&](const fq::ArchConfig& arch) {
    const std::string key = arch.pe_kind == fq::PeKind::kTemporal ? "fineq_r" : fmt::format("int{}", arch.weight_bits);
    std::lock_guard<std::mutex> lock(workload_mutex);
    auto& w = workloads[key];
    if (!w) w = std::make_shared<const fq::sim::Workload>(fq::sim::make_workload(request, arch));
    return w;
  };

  fq::Progress progress("sweep");
  progress.stage("points", todo.size(), "points");
  std::mutex out_mutex;
  std::ofstream out(out_path, std::ios::app);
  std::atomic<size_t> next{0}, finished{0}, invalid{0};
  auto worker = [&] {
    for (size_t t = next++; t < todo.size(); t = next++) {
      const auto& values = points[todo[t]];
      std::string row;
      for (const auto& v : values) row += v + ",";
      try {
        std::vector<std::string> overrides = fixed;
        for (size_t i = 0; i < axes.size(); ++i) overrides.push_back(axes[i].key + "=" + values[i]);
        const fq::ArchConfig arch = fq::load_arch(arch_path, overrides);
        const fq::cost::CostModel costs(tables, arch);
        const auto shared = workload_for(arch);
        const fq::sim::Workload& w = *shared;
        const auto layer = fq::sim::compile_workload(arch, w);
        const auto tl = fq::sim::run_fast(layer.program, arch, layer.memory);
        const auto r = fq::sim::build_report(layer.program, arch, tl, costs, "fast", w.description);
        row += fmt::format("ok,,{},{:.9g},{:.9g},{:.9g},{:.6g},{:.9g},{:.6g},{:.6g},{}", r.total_cycles, r.seconds,
                           r.energy_pj.total, r.area_um2.total, r.utilisation, r.energy_pj.total * r.seconds, r.tops,
                           r.tops_per_w, r.actions.dram_read_bytes + r.actions.dram_write_bytes);
      } catch (const std::exception& e) {
        row += "invalid," + csv_quote(e.what());
        for (size_t i = 0; i < std::size(kMetrics); ++i) row += ",";
        ++invalid;
      }
      {
        std::lock_guard<std::mutex> lock(out_mutex);
        out << row << "\n";
        out.flush();
      }
      progress.advance_to(++finished);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& th : threads) th.join();
  out.close();
  {
    // Rows in the order of the cross product (the plots draw lines between consecutive rows).
    std::map<std::string, size_t> order;
    for (size_t i = 0; i < points.size(); ++i) {
      std::string key;
      for (const auto& v : points[i]) key += v + ",";
      order[key] = i;
    }
    std::ifstream in(out_path);
    std::string line;
    std::getline(in, line);
    std::vector<std::pair<size_t, std::string>> rows;
    while (std::getline(in, line)) {
      const auto cells = split(line, ',');
      std::string key;
      for (size_t i = 0; i < axes.size() && i < cells.size(); ++i) key += cells[i] + ",";
      rows.emplace_back(order.count(key) ? order[key] : points.size(), line);
    }
    std::stable_sort(rows.begin(), rows.end());
    fq::write_file_atomically(out_path, [&](std::ostream& o) {
      o << header << "\n";
      for (const auto& [i, l] : rows) o << l << "\n";
    });
  }
  fmt::print("wrote {} ({} points, {} invalid this run)\n", out_path, todo.size(), invalid.load());

  if (plots) {
    // Plots against the first swept key; one line per value of the second, if any.
    const std::string base = out_path.substr(0, out_path.size() - (out_path.size() > 4 && out_path.substr(out_path.size() - 4) == ".csv" ? 4 : 0));
    const std::string gp = base + ".gp";
    std::ofstream g(gp);
    g << "# gnuplot script written by sweep: gnuplot " << gp << "\n";
    g << "set datafile separator ','\nset terminal pngcairo size 900,600\nset key outside\nset grid\n";
    const size_t status_col = axes.size() + 1;
    auto col = [&](const char* metric) {
      for (size_t i = 0; i < std::size(kMetrics); ++i) {
        if (std::string(kMetrics[i]) == metric) return axes.size() + 3 + i;
      }
      return size_t{0};
    };
    const bool numeric_x = axes[0].values.front().find_first_not_of("0123456789.") == std::string::npos;
    const std::string ok = fmt::format("(stringcolumn({}) eq \"ok\" ? ${} : NaN)", status_col, "{}");
    for (const char* m : {"cycles", "energy_pj", "area_um2", "utilisation", "edp_pj_s"}) {
      g << fmt::format("set output '{}-{}.png'\nset title '{} vs {}'\nset xlabel '{}'\nset ylabel '{}'\n", base, m, m,
                       axes[0].key, axes[0].key, m);
      g << (numeric_x ? "set logscale x 2\n" : "unset logscale x\n");
      const std::string y = fmt::format(fmt::runtime(ok), col(m));
      // x: the first key's value, or its row index labelled with the value when not numeric.
      auto using_xy = [&](const std::string& yy) {
        return numeric_x ? fmt::format("1:{}", yy) : fmt::format("0:{}:xtic(1)", yy);
      };
      if (axes.size() >= 2) {
        g << "plot ";
        for (size_t v = 0; v < axes[1].values.size(); ++v) {
          g << fmt::format("{}'{}' using {} with linespoints title '{}={}'", v ? ", " : "", out_path,
                           using_xy(fmt::format("(stringcolumn(2) eq '{}' ? {} : NaN)", axes[1].values[v], y)),
                           axes[1].key, axes[1].values[v]);
        }
        g << "\n";
      } else {
        g << fmt::format("plot '{}' using {} with linespoints title '{}'\n", out_path, using_xy(y), m);
      }
    }
    // Energy vs latency, every valid point, and the Pareto front (no point both faster and cheaper).
    const std::string front = base + "-pareto.dat";
    {
      std::ifstream in(out_path);
      std::string line;
      std::getline(in, line);
      std::vector<std::pair<double, double>> pts;
      while (std::getline(in, line)) {
        const auto cells = split(line, ',');
        if (cells.size() < axes.size() + 2 + std::size(kMetrics) || cells[status_col - 1] != "ok") continue;
        pts.emplace_back(std::stod(cells[col("time_s") - 1]), std::stod(cells[col("energy_pj") - 1]));
      }
      std::sort(pts.begin(), pts.end());
      std::ofstream f(front);
      double best = 1e300;
      for (const auto& [t, e] : pts) {
        if (e < best) {
          f << t << "," << e << "\n";
          best = e;
        }
      }
    }
    g << fmt::format("set output '{}-pareto.png'\nset title 'energy vs latency (Pareto front)'\nunset logscale x\n"
                     "set logscale xy\nset xlabel 'time (s)'\nset ylabel 'energy (pJ)'\n"
                     "plot '{}' using {}:{} with points pt 7 title 'points', '{}' using 1:2 "
                     "with linespoints lw 2 title 'Pareto front'\n",
                     base, out_path, fmt::format(fmt::runtime(ok), col("time_s")),
                     fmt::format(fmt::runtime(ok), col("energy_pj")), front);
    g.close();
    if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
      if (std::system(fmt::format("gnuplot '{}' > '{}.log' 2>&1", gp, base).c_str()) == 0) {
        fmt::print("wrote {} and {}-*.png\n", gp, base);
        std::filesystem::remove(base + ".log");
      } else {
        fmt::print("wrote {}; gnuplot failed (see {}.log)\n", gp, base);
      }
    } else {
      fmt::print("wrote {} (install gnuplot to render it)\n", gp);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("sweep", argc, argv, run); }
