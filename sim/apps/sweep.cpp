// sweep: the cross product of architecture parameters on one workload with the fast engine, in
// parallel (threads here, or the array tasks of one Slurm job: sweep_slurm.cpp), resumable, with
// a CSV (docs/sweep.md) and gnuplot plots beside it.
#include "sim/apps/compile_workload.h"
#include "sim/apps/sweep_core.h"
#include "model/arch/pe_model.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/parallel.h"
#include "model/core/params.h"
#include "model/core/progress.h"
#include "model/cost/cost_model.h"
#include "model/ir/verifier.h"
#include "sim/engine.h"
#include "sim/report.h"
#include "sim/sweep_csv.h"
#include "sim/workload_input.h"

#include <fmt/format.h>

#include <algorithm>
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

namespace fq::sweep {

namespace {

const char* const kMetrics[] = {"cycles", "time_s", "energy_pj", "area_um2", "utilisation", "edp_pj_s", "tops",
                                "tops_per_w", "dram_bytes"};

std::string csv_quote(const std::string& s) {
  std::string q(1, '"');
  for (char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c == '\n' ? ' ' : c);
  }
  q.push_back('"');
  return q;
}

}  // namespace

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void finish_sweep(Sweep& s) {
  if (s.axes.empty()) fail("give at least one --set KEY=V1,V2,... with two or more values to sweep");
  // Every key is checked up front so a typo fails now, not as N invalid rows.
  std::set<std::string> known;
  for (const auto& [k, d] : fq::arch_key_paths()) known.insert(k);
  for (const auto& a : s.axes) {
    if (!known.count(a.key)) fail("--set '{}': unknown key; known keys: {}", a.key, fmt::join(known, ", "));
  }
  fq::load_arch(s.arch_path, s.fixed);  // the base must be valid
  s.points.assign(1, {});
  for (const auto& a : s.axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : s.points) {
      for (const auto& v : a.values) {
        auto q = p;
        q.push_back(v);
        next.push_back(q);
      }
    }
    s.points = next;
  }
  s.header.clear();
  for (const auto& a : s.axes) s.header += a.key + ",";
  s.header += "status,reason";
  for (const char* m : kMetrics) s.header += fmt::format(",{}", m);
}

std::string point_key(const std::vector<std::string>& values) { return sim::sweep_point_key(values, values.size()); }

std::string describe_point(const Sweep& s, size_t index) {
  std::string d;
  for (size_t i = 0; i < s.axes.size(); ++i) d += fmt::format("{}{}={}", i ? " " : "", s.axes[i].key, s.points[index][i]);
  return d;
}

size_t evaluate_points(const Sweep& s, const cost::CostTables& tables, const std::vector<size_t>& todo, int jobs,
                       std::ostream& out, Progress* progress) {
  // The workload depends on the arch only through the PE's weight format: build it once per format
  // (once per process: a Slurm task reads the .q once for all its points).
  std::mutex workload_mutex;
  std::map<std::string, std::shared_ptr<const fq::sim::Workload>> workloads;
  auto workload_for = [&](const fq::ArchConfig& arch) {
    const std::string key = fq::format_name(fq::pe_model(arch).weight_format(arch));
    std::lock_guard<std::mutex> lock(workload_mutex);
    auto& w = workloads[key];
    if (!w) w = std::make_shared<const fq::sim::Workload>(fq::sim::make_workload(s.request, arch));
    return w;
  };
  const sim::Engine& engine = sim::find_engine(s.engine, "--engine");
  if (!engine.concurrent()) jobs = 1;
  std::mutex out_mutex;
  std::atomic<size_t> next{0}, finished{0}, invalid{0};
  auto worker = [&] {
    for (size_t t = next++; t < todo.size(); t = next++) {
      const auto& values = s.points[todo[t]];
      std::string row;
      for (const auto& v : values) row += v + ",";
      try {
        std::vector<std::string> overrides = s.fixed;
        for (size_t i = 0; i < s.axes.size(); ++i) overrides.push_back(s.axes[i].key + "=" + values[i]);
        const fq::ArchConfig arch = fq::load_arch(s.arch_path, overrides);
        const fq::cost::CostModel costs(tables, arch);
        const auto shared = workload_for(arch);
        const fq::sim::Workload& w = *shared;
        const auto layer = fq::sim::compile_workload(arch, w);
        if (const auto why = engine.refusal(arch, layer.program)) fail("{} engine: {}", engine.name(), *why);
        const auto result = engine.run(arch, layer.program, layer.memory);
        const auto r = fq::sim::build_report(layer.program, arch, result, costs, w.description);
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
      if (progress) progress->advance_to(++finished);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& th : threads) th.join();
  if (!out) fail("cannot write the rows");
  return invalid.load();
}

void write_sorted(const Sweep& s, const std::string& out_path, const std::vector<std::string>& lines) {
  // Rows in the order of the cross product (the plots draw lines between consecutive rows).
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < s.points.size(); ++i) order[point_key(s.points[i])] = i;
  std::vector<std::pair<size_t, std::string>> rows;
  for (const auto& line : lines) {
    const auto cells = sim::split_csv_line(line);
    const std::string key = cells ? sim::sweep_point_key(*cells, s.axes.size()) : std::string();
    rows.emplace_back(order.count(key) ? order[key] : s.points.size(), line);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  fq::write_file_atomically(out_path, [&](std::ostream& o) {
    o << s.header << "\n";
    for (const auto& [i, l] : rows) o << l << "\n";
  });
}

void write_plots(const Sweep& s, const std::string& out_path) {
  // Plots against the first swept key; one line per value of the second, if any.
  const std::string base = out_path.substr(0, out_path.size() - (out_path.size() > 4 && out_path.substr(out_path.size() - 4) == ".csv" ? 4 : 0));
  const std::string gp = base + ".gp";
  std::ofstream g(gp);
  g << "# gnuplot script written by sweep: gnuplot " << gp << "\n";
  g << "set datafile separator ','\nset terminal pngcairo size 900,600\nset key outside\nset grid\n";
  const size_t status_col = s.axes.size() + 1;
  auto col = [&](const char* metric) {
    for (size_t i = 0; i < std::size(kMetrics); ++i) {
      if (std::string(kMetrics[i]) == metric) return s.axes.size() + 3 + i;
    }
    return size_t{0};
  };
  const bool numeric_x = s.axes[0].values.front().find_first_not_of("0123456789.") == std::string::npos;
  const std::string ok = fmt::format("(stringcolumn({}) eq \"ok\" ? ${} : NaN)", status_col, "{}");
  for (const char* m : {"cycles", "energy_pj", "area_um2", "utilisation", "edp_pj_s"}) {
    g << fmt::format("set output '{}-{}.png'\nset title '{} vs {}'\nset xlabel '{}'\nset ylabel '{}'\n", base, m, m,
                     s.axes[0].key, s.axes[0].key, m);
    g << (numeric_x ? "set logscale x 2\n" : "unset logscale x\n");
    const std::string y = fmt::format(fmt::runtime(ok), col(m));
    // x: the first key's value, or its row index labelled with the value when not numeric.
    auto using_xy = [&](const std::string& yy) {
      return numeric_x ? fmt::format("1:{}", yy) : fmt::format("0:{}:xtic(1)", yy);
    };
    if (s.axes.size() >= 2) {
      g << "plot ";
      for (size_t v = 0; v < s.axes[1].values.size(); ++v) {
        g << fmt::format("{}'{}' using {} with linespoints title '{}={}'", v ? ", " : "", out_path,
                         using_xy(fmt::format("(stringcolumn(2) eq '{}' ? {} : NaN)", s.axes[1].values[v], y)),
                         s.axes[1].key, s.axes[1].values[v]);
      }
      g << "\n";
    } else {
      g << fmt::format("plot '{}' using {} with linespoints title '{}'\n", out_path, using_xy(y), m);
    }
  }
  // Energy vs latency, every valid point, and the Pareto front (no point both faster and cheaper),
  // each front point labelled with its configuration; axes scaled to the data (logarithmic only
  // when they span over 20x).
  const std::string front = base + "-pareto.dat";
  double tmin = 1e300, tmax = -1e300, emin = 1e300, emax = -1e300;
  {
    struct Pt {
      double t, e;
      std::string label;
    };
    std::vector<Pt> pts;
    for (const auto& row : sim::parse_sweep_csv(read_text(out_path), s.header, s.axes.size(), out_path).rows) {
      if (row.cells[status_col - 1] != "ok") continue;
      std::string label;
      for (size_t i = 0; i < s.axes.size(); ++i) label += fmt::format("{}{}={}", i ? " " : "", s.axes[i].key, row.cells[i]);
      pts.push_back({std::stod(row.cells[col("time_s") - 1]), std::stod(row.cells[col("energy_pj") - 1]), label});
    }
    std::sort(pts.begin(), pts.end(), [](const Pt& a, const Pt& b) { return a.t < b.t || (a.t == b.t && a.e < b.e); });
    std::ofstream f(front);
    double best = 1e300;
    for (const auto& p : pts) {
      tmin = std::min(tmin, p.t), tmax = std::max(tmax, p.t), emin = std::min(emin, p.e), emax = std::max(emax, p.e);
      if (p.e < best) {
        f << fmt::format("{:.9g},{:.9g},\"{}\"\n", p.t, p.e, p.label);
        best = p.e;
      }
    }
  }
  auto axis = [&](const char* name, double lo, double hi) {
    if (lo > hi) return fmt::format("unset logscale {}\nset autoscale {}\n", name, name);
    const bool log = lo > 0 && hi > 20 * lo;
    const double pad = 0.06 * std::max(hi - lo, 1e-9 * std::abs(hi) + 1e-30);
    return log ? fmt::format("set logscale {}\nset {}range [{:.6g}:{:.6g}]\n", name, name, lo / 1.15, hi * 1.15)
               : fmt::format("unset logscale {}\nset {}range [{:.6g}:{:.6g}]\n", name, name, lo - pad, hi + pad);
  };
  g << fmt::format("set output '{}-pareto.png'\nset title 'energy vs latency (Pareto front labelled)'\n"
                   "set xlabel 'time (s)'\nset ylabel 'energy (pJ)'\nset format x '%.4g'\nset format y '%.4g'\n{}{}"
                   "plot '{}' using {}:{} with points pt 7 title 'points', '{}' using 1:2 "
                   "with linespoints lw 2 title 'Pareto front', '{}' using 1:2:3 with labels offset 1,0.6 left "
                   "font ',8' notitle\n",
                   base, axis("x", tmin, tmax), axis("y", emin, emax), out_path,
                   fmt::format(fmt::runtime(ok), col("time_s")), fmt::format(fmt::runtime(ok), col("energy_pj")), front,
                   front);
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

namespace {

constexpr const char* kUsage = R"(usage: sweep --arch ARCH.yaml --set KEY=V1,V2,... [--set ...] --out FILE.csv
             [--layer LAYER.q | --gemm M,N,K | --topology FILE.csv] [--tokens M] [--seed S]
             [--jobs N] [--costs COSTS.yaml] [--no-plots] [--engine NAME]
             [--backend local|slurm] [--partition P] [--time-limit T] [--points-per-task K]
             [--max-parallel J] [--sbatch-arg ARG ...] [--work-dir DIR] [--no-wait] [--resume]
       sweep --merge DIR
       sweep --model CKPT --tokenizer TOK.bin --text FILE --arch ARCH.yaml --set quant.method=M[,M...]
             [--set quant.OPTION=V1,V2,...] [--set KEY=V1,V2,...] --out FILE.csv [--chunks N]
             [--prompt-length P] [--generate G] [--seed S] [--costs COSTS.yaml] [--no-plots]

Evaluates every combination of the --set values (any key of the architecture YAML, e.g.
--set array.rows=8,16,32,64 --set array.cols=8,16,32,64 --set pe.window=fixed,tile) on the
workload with the fast engine, N points at a time (default: all cores). Writes one CSV row per
point as it finishes (columns in docs/sweep.md); a point the arch or the compiler rejects is a
row with status `invalid` and the reason. Re-running with the same --out skips the points already
in the file. Then writes FILE.gp and, with gnuplot, FILE-<metric>.png plots and the
energy-latency Pareto front (FILE-pareto.png).
--engine NAME runs another registered engine with action counts (systemc: the same rows, one point
at a time; rtl gives no action counts, which the energy columns need).

--backend slurm runs the points as the tasks of one `sbatch --array` job instead (K points per
task, at most J tasks at a time, on partition P with time limit T, each --sbatch-arg passed to
sbatch as it is): the plan and the shards the tasks write go to DIR (default FILE.slurm/, on a
filesystem the nodes share); sweep waits with progress on stderr, then merges the shards into the
same CSV and plots. --no-wait returns after submitting; `sweep --merge DIR` waits and merges later.
The points of a task that failed or was killed are reported with Slurm's state and left out; the
same command with --resume submits only the missing points.

--model is the co-design sweep: quantizer keys (quant.method and quant.OPTION, the quantizer's
options) beside architecture keys; each point quantizes the model's decoder linears, measures
the integer path's perplexity on the first N chunks of FILE (default 50), and times a prefill of
P tokens (default 32) and G - 1 decode steps (default G = 32) on its arch. Columns, plots (the
perplexity-energy Pareto front, labelled) and resuming: docs/sweep.md.
)";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(s);
  while (std::getline(in, cell, sep)) out.push_back(cell);
  return out;
}

int run_local(const Sweep& s, const std::string& out_path, int jobs) {
  const fq::cost::CostTables tables = fq::cost::load_cost_tables(s.costs_path);
  // The points already in the file (resume).
  std::set<std::string> done;
  std::vector<std::string> kept;
  if (std::filesystem::exists(out_path)) {
    for (auto& row : sim::parse_sweep_csv(read_text(out_path), s.header, s.axes.size(), out_path).rows) {
      done.insert(sim::sweep_point_key(row.cells, s.axes.size()));
      kept.push_back(std::move(row.line));
    }
  }
  {
    std::ofstream out(out_path, std::ios::trunc);  // rewrite without any partial last row
    out << s.header << "\n";
    for (const auto& l : kept) out << l << "\n";
    if (!out) fail("{}: cannot write", out_path);
  }
  std::vector<size_t> todo;
  for (size_t i = 0; i < s.points.size(); ++i) {
    if (!done.count(point_key(s.points[i]))) todo.push_back(i);
  }
  fmt::print("sweep: {} points, {} already in {}, {} to run on {} threads\n", s.points.size(),
             s.points.size() - todo.size(), out_path, todo.size(), jobs);
  size_t invalid = 0;
  {
    fq::Progress progress("sweep");
    progress.stage("points", todo.size(), "points");
    std::ofstream out(out_path, std::ios::app);
    invalid = evaluate_points(s, tables, todo, jobs, out, &progress);
  }
  std::vector<std::string> lines;
  for (auto& row : sim::parse_sweep_csv(read_text(out_path), s.header, s.axes.size(), out_path).rows) {
    lines.push_back(std::move(row.line));
  }
  write_sorted(s, out_path, lines);
  fmt::print("wrote {} ({} points, {} invalid this run)\n", out_path, todo.size(), invalid);
  if (s.plots) write_plots(s, out_path);
  return 0;
}

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help", "no-plots", "no-wait", "resume"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (const auto dir = cl.value("slurm-task")) {
    // One array task of a submitted sweep: the job script sweep_slurm.cpp writes runs this.
    fq::Params p;
    p.set("submission", cl.required("submission"));
    const int submission = static_cast<int>(p.get_int("submission", 1, 1, 1 << 20));
    cl.finish();
    return run_slurm_task(*dir, submission);
  }
  if (const auto dir = cl.value("merge")) {
    cl.finish();
    return run_merge(*dir);
  }
  Sweep s;
  s.arch_path = cl.required("arch");
  const std::string out_path = cl.required("out");
  for (const auto& spec : cl.values("set")) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) fail("--set '{}': expected KEY=V1,V2,...", spec);
    Axis a{spec.substr(0, eq), split(spec.substr(eq + 1), ',')};
    if (a.values.empty()) fail("--set '{}': no values", spec);
    if (a.values.size() == 1) {
      s.fixed.push_back(spec);
    } else {
      s.axes.push_back(a);
    }
  }
  if (cl.value("model")) return run_model_sweep(cl, s.arch_path, out_path, s.fixed, s.axes);
  fq::Params numbers;
  numbers.set("tokens", cl.value("tokens").value_or("16"));
  numbers.set("seed", cl.value("seed").value_or("1"));
  s.request.tokens = static_cast<int>(numbers.get_int("tokens", 16, 1, 1 << 20));
  s.request.seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  s.request.layer = cl.value("layer");
  s.request.gemm = cl.value("gemm");
  s.request.topology = cl.value("topology");
  s.costs_path = cl.value("costs").value_or(fq::cost::default_cost_tables_path());
  s.plots = !cl.flag("no-plots");
  s.engine = cl.value("engine").value_or("fast");
  fq::sim::require_parts(fq::sim::find_engine(s.engine, "--engine"), {.op_timeline = true}, "--engine " + s.engine,
                         "the sweep's energy columns need the action counts");
  const std::string backend = cl.value("backend").value_or("local");
  if (backend == "local") {
    numbers.set("jobs", cl.value("jobs").value_or(std::to_string(fq::default_threads())));
    const int jobs = static_cast<int>(numbers.get_int("jobs", 1, 1, 256));
    cl.finish();  // the Slurm options were not asked for, so they are rejected here
    finish_sweep(s);
    return run_local(s, out_path, jobs);
  }
  if (backend != "slurm") fail("--backend '{}': expected local or slurm", backend);
  if (cl.value("jobs")) {
    fail("--jobs is for --backend local; a Slurm task uses the CPUs Slurm gives it (--sbatch-arg=--cpus-per-task=N)");
  }
  SlurmOptions o;
  o.partition = cl.value("partition");
  o.time_limit = cl.value("time-limit");
  o.work_dir = cl.value("work-dir");
  if (const auto k = cl.value("points-per-task")) {
    numbers.set("points-per-task", *k);
    o.points_per_task = static_cast<int>(numbers.get_int("points-per-task", 1, 1, 1 << 24));
  }
  if (const auto j = cl.value("max-parallel")) {
    numbers.set("max-parallel", *j);
    o.max_parallel = static_cast<int>(numbers.get_int("max-parallel", 1, 1, 1 << 20));
  }
  o.sbatch_args = cl.values("sbatch-arg");
  o.resume = cl.flag("resume");
  o.wait = !cl.flag("no-wait");
  cl.finish();
  finish_sweep(s);
  return run_slurm(s, out_path, o);
}

}  // namespace

}  // namespace fq::sweep

int main(int argc, char** argv) { return fq::run_command("sweep", argc, argv, fq::sweep::run); }
