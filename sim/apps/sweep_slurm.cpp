// sweep --backend slurm: the points as the tasks of one `sbatch --array` job. The work directory
// (on a filesystem the nodes share) holds
//   plan.txt          what the sweep is: inputs (copied to inputs/, with SHA-256), keys, values
//   sub-N.points      submission N: points per task, then the point indices it runs, one a line
//   sub-N.sh, .job    its job script and Slurm job id
//   shards/N-T.part   rows of task T as it evaluates them, renamed to N-T.csv when it finishes
//   logs/N-T.out      the task's stdout and stderr
// A killed task leaves its complete rows (every row is one flushed line; a cut last line is
// dropped on reading) and the rest of its points missing; --resume submits only those.
#include "sim/apps/sweep_core.h"
#include "model/core/atomic_file.h"
#include "model/core/error.h"
#include "model/core/subprocess.h"
#include "model/cost/sha256.h"
#include "sim/sweep_csv.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace fq::sweep {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPlanMagic = "fqsim sweep plan 1";

std::string sha256_of(const std::string& path) { return cost::sha256_hex(read_text(path)); }

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// ---- the plan -----------------------------------------------------------------------------

struct Input {
  std::string what;  // arch, layer, topology, costs, synthesis
  std::string path;  // as the tasks read it
  std::string sha256;
};

struct Plan {
  std::string out_path;  // absolute
  Sweep sweep;
  std::vector<Input> inputs;
};

// The plan text; a resumed sweep must produce the same text.
std::string plan_text(const Plan& p) {
  const Sweep& s = p.sweep;
  std::string t = std::string(kPlanMagic) + "\n";
  t += fmt::format("out {}\n", p.out_path);
  for (const auto& in : p.inputs) t += fmt::format("input {} {} {}\n", in.what, in.sha256, in.path);
  if (s.request.gemm) t += fmt::format("gemm {}\n", *s.request.gemm);
  t += fmt::format("tokens {}\nseed {}\nplots {}\n", s.request.tokens, s.request.seed, s.plots ? 1 : 0);
  if (s.engine != "fast") t += fmt::format("engine {}\n", s.engine);  // plans of the fast engine read as before
  for (const auto& f : s.fixed) t += fmt::format("fixed {}\n", f);
  for (const auto& a : s.axes) t += fmt::format("axis {}={}\n", a.key, fmt::join(a.values, ","));
  t += fmt::format("points {}\n", s.points.size());
  return t;
}

Plan parse_plan(const std::string& dir) {
  const std::string path = dir + "/plan.txt";
  std::istringstream in(read_text(path));
  std::string line;
  if (!std::getline(in, line) || line != kPlanMagic) fail("{}: not a sweep plan (first line '{}')", path, line);
  Plan p;
  Sweep& s = p.sweep;
  size_t points = 0;
  int n = 1;
  while (std::getline(in, line)) {
    ++n;
    const auto sp = line.find(' ');
    const std::string key = line.substr(0, sp), value = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key == "out") {
      p.out_path = value;
    } else if (key == "input") {
      std::istringstream f(value);
      Input i;
      f >> i.what >> i.sha256;
      std::getline(f >> std::ws, i.path);
      if (i.path.empty()) fail("{}:{}: input needs what, SHA-256 and path", path, n);
      if (i.what == "arch") s.arch_path = i.path;
      else if (i.what == "layer") s.request.layer = i.path;
      else if (i.what == "topology") s.request.topology = i.path;
      else if (i.what == "costs") s.costs_path = i.path;
      else if (i.what != "synthesis") fail("{}:{}: unknown input '{}'", path, n, i.what);
      p.inputs.push_back(i);
    } else if (key == "gemm") {
      s.request.gemm = value;
    } else if (key == "tokens" || key == "seed" || key == "plots" || key == "points") {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end) fail("{}:{}: '{}' is not a number", path, n, value);
      if (key == "tokens") s.request.tokens = static_cast<int>(v);
      if (key == "seed") s.request.seed = v;
      if (key == "plots") s.plots = v != 0;
      if (key == "points") points = v;
    } else if (key == "engine") {
      s.engine = value;
    } else if (key == "fixed") {
      s.fixed.push_back(value);
    } else if (key == "axis") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) fail("{}:{}: axis needs KEY=V1,V2,...", path, n);
      Axis a{value.substr(0, eq), {}};
      std::istringstream v(value.substr(eq + 1));
      for (std::string cell; std::getline(v, cell, ',');) a.values.push_back(cell);
      s.axes.push_back(a);
    } else {
      fail("{}:{}: unknown line '{}'", path, n, line);
    }
  }
  if (p.out_path.empty() || s.arch_path.empty() || s.costs_path.empty()) fail("{}: out, arch or costs missing", path);
  finish_sweep(s);
  if (s.points.size() != points) fail("{}: {} points planned, the axes give {}", path, points, s.points.size());
  return p;
}

// Every input the tasks read must be the one planned (a shared directory that changed under a
// running sweep would otherwise mix two sweeps in one CSV).
void check_inputs(const Plan& p, const std::string& dir) {
  for (const auto& in : p.inputs) {
    const std::string h = sha256_of(in.path);
    if (h != in.sha256) {
      fail("{}: {} changed since the sweep was planned in {} (SHA-256 {} now, {} planned)", in.path, in.what, dir,
           h.substr(0, 12), in.sha256.substr(0, 12));
    }
  }
}

// The plan of a new submission: the arch, layer and topology are copied into the work directory;
// the cost tables (whose synthesis cache points into the source tree) are read where they are.
Plan make_plan(const Sweep& s, const std::string& out_path, const std::string& dir, bool copy) {
  Plan p;
  p.out_path = fs::absolute(out_path).lexically_normal().string();
  p.sweep = s;
  auto add = [&](const std::string& what, const std::string& src, bool copy_it) {
    const std::string h = sha256_of(src);
    std::string path = fs::absolute(src).lexically_normal().string();
    if (copy_it) {
      path = fmt::format("{}/inputs/{}{}", dir, what, fs::path(src).extension().string());
      if (copy) {
        fs::create_directories(dir + "/inputs");
        fs::copy_file(src, path, fs::copy_options::overwrite_existing);
      }
    }
    p.inputs.push_back({what, path, h});
    return path;
  };
  p.sweep.arch_path = add("arch", s.arch_path, true);
  if (s.request.layer) p.sweep.request.layer = add("layer", *s.request.layer, true);
  if (s.request.topology) p.sweep.request.topology = add("topology", *s.request.topology, true);
  p.sweep.costs_path = add("costs", s.costs_path, false);
  const cost::CostTables t = cost::load_cost_tables(s.costs_path);
  if (t.pe_source == cost::PeAreaSource::kSynthesis) {
    const fs::path synth = fs::path(t.synth_path).is_absolute() ? fs::path(t.synth_path)
                                                                : fs::path(s.costs_path).parent_path() / t.synth_path;
    add("synthesis", synth.string(), false);
  }
  return p;
}

// ---- submissions and shards ---------------------------------------------------------------

struct Submission {
  int number = 0;
  int points_per_task = 1;
  std::vector<size_t> points;  // indices into the cross product
  std::string job;             // Slurm job id
  int tasks() const { return static_cast<int>((points.size() + points_per_task - 1) / points_per_task); }
};

std::string sub_path(const std::string& dir, int n, const char* ext) { return fmt::format("{}/sub-{}.{}", dir, n, ext); }

Submission read_submission(const std::string& dir, int n) {
  Submission sub;
  sub.number = n;
  const std::string path = sub_path(dir, n, "points");
  std::istringstream in(read_text(path));
  std::string word;
  if (!(in >> word >> sub.points_per_task) || word != "points_per_task" || sub.points_per_task < 1) {
    fail("{}: expected 'points_per_task K' first", path);
  }
  for (size_t i; in >> i;) sub.points.push_back(i);
  if (!in.eof()) fail("{}: not a list of point indices", path);
  if (fs::exists(sub_path(dir, n, "job"))) sub.job = trim(read_text(sub_path(dir, n, "job")));
  return sub;
}

std::vector<Submission> read_submissions(const std::string& dir) {
  std::vector<Submission> subs;
  for (int n = 1; fs::exists(sub_path(dir, n, "points")); ++n) subs.push_back(read_submission(dir, n));
  return subs;
}

std::string shard_path(const std::string& dir, int sub, int task, const char* ext) {
  return fmt::format("{}/shards/{}-{}.{}", dir, sub, task, ext);
}

struct ShardRows {
  std::vector<sim::SweepCsvRow> rows;
  bool finished = false;  // the task renamed its shard: it evaluated all its points
};

ShardRows read_shard(const Plan& p, const std::string& dir, int sub, int task) {
  ShardRows r;
  for (const char* ext : {"csv", "part"}) {
    const std::string path = shard_path(dir, sub, task, ext);
    if (!fs::exists(path)) continue;
    const std::string text = read_text(path);
    // A task killed before it wrote its header leaves an empty or cut .part: no rows.
    if (text.find('\n') == std::string::npos) continue;
    r.rows = sim::parse_sweep_csv(text, p.sweep.header, p.sweep.axes.size(), path).rows;
    r.finished = std::string(ext) == "csv";
    break;
  }
  return r;
}

// ---- Slurm's view of a job ----------------------------------------------------------------

struct TaskState {
  std::string state = "UNKNOWN";  // JobState
  std::string exit_code, reason;
};

bool active(const std::string& state) {
  return state == "PENDING" || state == "RUNNING" || state == "CONFIGURING" || state == "COMPLETING" ||
         state == "SUSPENDED" || state == "REQUEUED" || state == "REQUEUE_HOLD" || state == "REQUEUE_FED" ||
         state == "RESIZING" || state == "SIGNALING" || state == "STAGE_OUT";
}

// "3", "3-9", "3-9:2", "1,4-6", with an optional "%J" throttle.
std::vector<int> task_ids(std::string spec) {
  std::vector<int> ids;
  spec = spec.substr(0, spec.find('%'));
  std::istringstream in(spec);
  for (std::string item; std::getline(in, item, ',');) {
    int a = 0, b = 0, step = 1;
    if (std::sscanf(item.c_str(), "%d-%d:%d", &a, &b, &step) >= 2) {
      for (int i = a; i <= b; i += std::max(step, 1)) ids.push_back(i);
    } else if (std::sscanf(item.c_str(), "%d", &a) == 1) {
      ids.push_back(a);
    }
  }
  return ids;
}

// The state of every array task slurmctld still knows (finished jobs stay MinJobAge seconds), else
// accounting's (sacct); an empty map when neither knows the job, nullopt when Slurm did not answer.
std::optional<std::map<int, TaskState>> job_states(const std::string& job, std::string* error = nullptr) {
  std::map<int, TaskState> states;
  if (job.empty()) return states;
  const auto [rc, out] = run_capture("scontrol -o show job " + shell_quote(job));
  if (rc == 0) {
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      std::map<std::string, std::string> f;
      std::istringstream words(line);
      for (std::string w; words >> w;) {
        const auto eq = w.find('=');
        if (eq != std::string::npos) f[w.substr(0, eq)] = w.substr(eq + 1);
      }
      if (!f.count("ArrayTaskId") || !f.count("JobState")) continue;
      for (int id : task_ids(f["ArrayTaskId"])) states[id] = {f["JobState"], f["ExitCode"], f["Reason"]};
    }
    return states;
  }
  const auto [arc, acct] = run_capture("sacct -n -P -X -j " + shell_quote(job) + " -o JobID,State,ExitCode");
  if (arc == 0) {
    std::istringstream lines(acct);
    for (std::string line; std::getline(lines, line);) {
      const auto a = line.find('_'), b = line.find('|'), c = line.rfind('|');
      if (a == std::string::npos || b == std::string::npos || b == c || a > b) continue;
      std::string state = line.substr(b + 1, c - b - 1);
      state = state.substr(0, state.find(' '));  // "CANCELLED by 0"
      for (int id : task_ids(line.substr(a + 1, b - a - 1))) states[id] = {state, line.substr(c + 1), ""};
    }
    return states;
  }
  if (out.find("Invalid job id") != std::string::npos) return states;
  if (error) *error = trim(out);
  return std::nullopt;
}

// job_states, waiting out a controller that does not answer for a while.
std::map<int, TaskState> job_states_retrying(const std::string& job) {
  std::string error;
  for (int attempt = 0;; ++attempt) {
    if (auto states = job_states(job, &error)) return *states;
    if (attempt == 60) fail("Slurm did not answer `scontrol show job {}` for a minute: {}", job, error);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// ---- waiting, merging, reporting ----------------------------------------------------------

// Polls Slurm until no task of `sub` is pending or running, with a progress line on stderr.
std::map<int, TaskState> wait_for(const Plan& p, const std::string& dir, const Submission& sub) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string last;
  std::optional<size_t> rows0;
  auto last_print = t0 - std::chrono::hours(1);
  for (;;) {
    auto states = job_states_retrying(sub.job);
    int done = 0, running = 0, failed = 0, pending = 0;
    for (int t = 0; t < sub.tasks(); ++t) {
      const auto it = states.find(t);
      const std::string st = it == states.end() ? "UNKNOWN" : it->second.state;
      if (st == "RUNNING" || st == "COMPLETING" || st == "CONFIGURING") ++running;
      else if (active(st)) ++pending;
      else if (st == "COMPLETED") ++done;
      else ++failed;
    }
    size_t rows = 0;
    for (int t = 0; t < sub.tasks(); ++t) rows += read_shard(p, dir, sub.number, t).rows.size();
    if (!rows0) rows0 = rows;  // the rate counts the points done while waiting (--merge may start late)
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = s > 0 ? static_cast<double>(rows - *rows0) / s : 0.0;
    const std::string line = fmt::format("job {}: {}/{} tasks done, {} running, {} pending, {} failed; {}/{} points", sub.job,
                                         done, sub.tasks(), running, pending, failed, rows, sub.points.size());
    const auto now = std::chrono::steady_clock::now();
    if (line != last && now - last_print > std::chrono::seconds(2)) {
      fmt::print(stderr, "[sweep] {}, {:.1f} points/s, {:.0f} s\n", line, rate, s);
      last = line;
      last_print = now;
    }
    if (running + pending == 0) {
      if (line != last) fmt::print(stderr, "[sweep] {}, {:.1f} points/s, {:.0f} s\n", line, rate, s);
      return states;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

struct Merged {
  std::vector<std::string> lines;
  std::set<std::string> keys;
};

// The rows of --out as it was at the first submission, then every shard's.
Merged collect(const Plan& p, const std::string& dir, const std::vector<Submission>& subs) {
  Merged m;
  auto add = [&](const sim::SweepCsvRow& row) {
    if (m.keys.insert(sim::sweep_point_key(row.cells, p.sweep.axes.size())).second) m.lines.push_back(row.line);
  };
  const std::string before = dir + "/out-before.csv";
  if (fs::exists(before)) {
    for (const auto& row : sim::parse_sweep_csv(read_text(before), p.sweep.header, p.sweep.axes.size(), before).rows) add(row);
  }
  for (const auto& sub : subs) {
    for (int t = 0; t < sub.tasks(); ++t) {
      for (const auto& row : read_shard(p, dir, sub.number, t).rows) add(row);
    }
  }
  return m;
}

std::vector<size_t> missing_points(const Plan& p, const Merged& m) {
  std::vector<size_t> missing;
  for (size_t i = 0; i < p.sweep.points.size(); ++i) {
    if (!m.keys.count(point_key(p.sweep.points[i]))) missing.push_back(i);
  }
  return missing;
}

// Merges into the CSV; reports the missing points by task with Slurm's state. 0 when complete.
int merge_and_report(const Plan& p, const std::string& dir, std::map<int, TaskState> last_states) {
  const auto subs = read_submissions(dir);
  const Merged m = collect(p, dir, subs);
  write_sorted(p.sweep, p.out_path, m.lines);
  const auto missing = missing_points(p, m);
  size_t invalid = 0;
  for (const auto& l : m.lines) invalid += l.find(",invalid,") != std::string::npos;
  fmt::print("wrote {} ({} of {} points, {} invalid)\n", p.out_path, p.sweep.points.size() - missing.size(),
             p.sweep.points.size(), invalid);
  if (missing.empty()) {
    std::error_code ec;
    fs::remove(dir + "/missing.txt", ec);
    if (p.sweep.plots) write_plots(p.sweep, p.out_path);
    return 0;
  }
  // Which task of the last submission that planned a point ran it, and what Slurm says of it.
  std::map<size_t, std::pair<int, int>> owner;  // point -> (submission, task)
  for (const auto& sub : subs) {
    for (size_t k = 0; k < sub.points.size(); ++k) owner[sub.points[k]] = {sub.number, static_cast<int>(k) / sub.points_per_task};
  }
  std::map<std::pair<int, int>, std::vector<size_t>> by_task;
  for (size_t i : missing) by_task[owner.count(i) ? owner[i] : std::make_pair(0, 0)].push_back(i);
  std::map<int, std::map<int, TaskState>> states;  // submission -> task -> state
  if (!last_states.empty() && !subs.empty()) states[subs.back().number] = last_states;
  std::fflush(stdout);
  fmt::print(stderr, "sweep: {} of {} points missing:\n", missing.size(), p.sweep.points.size());
  for (const auto& [where, pts] : by_task) {
    const auto [n, t] = where;
    if (n == 0) {
      fmt::print(stderr, "  never submitted: {} points\n", pts.size());
    } else {
      const Submission& sub = subs[static_cast<size_t>(n - 1)];
      if (!states.count(n)) states[n] = job_states_retrying(sub.job);
      const auto it = states[n].find(t);
      const std::string why =
          it == states[n].end()
              ? "no record in Slurm: cancelled before it started, or the job was purged (MinJobAge)"
              : fmt::format("Slurm: {}, exit code {}{}", it->second.state, it->second.exit_code,
                            it->second.reason.empty() || it->second.reason == "None" ? "" : ", reason " + it->second.reason);
      fmt::print(stderr, "  job {} task {} ({}; log {}/logs/{}-{}.out): {} points\n", sub.job, t, why, dir, n, t,
                 pts.size());
    }
    for (size_t k = 0; k < pts.size() && k < 10; ++k) fmt::print(stderr, "    {}\n", describe_point(p.sweep, pts[k]));
    if (pts.size() > 10) fmt::print(stderr, "    ... and {} more ({}/missing.txt lists them all)\n", pts.size() - 10, dir);
  }
  fq::write_file_atomically(dir + "/missing.txt", [&](std::ostream& f) {
    for (size_t i : missing) f << describe_point(p.sweep, i) << "\n";
  });
  fail("{} of {} points missing (listed above); run the same command with --resume to submit only them",
       missing.size(), p.sweep.points.size());
}

std::string self_exe() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find the sweep executable (/proc/self/exe): {}", ec.message());
  return exe.string();
}

}  // namespace

int run_slurm(const Sweep& s, const std::string& out_path, const SlurmOptions& o) {
  std::string base = out_path;
  if (base.size() > 4 && base.substr(base.size() - 4) == ".csv") base.resize(base.size() - 4);
  const std::string dir = fs::absolute(o.work_dir.value_or(base + ".slurm")).lexically_normal().string();
  const bool exists = fs::exists(dir + "/plan.txt");
  if (exists && !o.resume) {
    fail("{}: holds an earlier submission of this sweep; add --resume to complete it, `sweep --merge {}` to "
         "merge it, or remove it",
         dir, dir);
  }
  Plan plan;
  if (exists) {
    plan = parse_plan(dir);
    // The plots do not change a row: this command's choice holds (and is kept for --merge).
    plan.sweep.plots = s.plots;
    const std::string now = plan_text(make_plan(s, out_path, dir, false));
    const std::string was = plan_text(plan);
    if (now != was) {
      std::istringstream a(was), b(now);
      std::string la, lb;
      while (std::getline(a, la) && std::getline(b, lb) && la == lb) {
      }
      fail("{}/plan.txt: --resume of a different sweep (planned '{}', now '{}')", dir, la, lb);
    }
    const auto subs = read_submissions(dir);
    if (!subs.empty()) {
      for (const auto& [t, st] : job_states_retrying(subs.back().job)) {
        if (active(st.state)) fail("job {} (in {}) still has tasks pending or running; `sweep --merge {}` waits for it", subs.back().job, dir, dir);
      }
    }
    fq::write_file_atomically(dir + "/plan.txt", [&](std::ostream& f) { f << plan_text(plan); });
  } else {
    fs::create_directories(dir + "/shards");
    fs::create_directories(dir + "/logs");
    plan = make_plan(s, out_path, dir, true);
    // Rows already in --out count as done, as for a local run.
    if (fs::exists(out_path)) {
      const std::string text = read_text(out_path);
      sim::parse_sweep_csv(text, s.header, s.axes.size(), out_path);  // the same columns, or an error
      fs::copy_file(out_path, dir + "/out-before.csv");
    }
    fq::write_file_atomically(dir + "/plan.txt", [&](std::ostream& f) { f << plan_text(plan); });
  }
  check_inputs(plan, dir);
  const auto subs = read_submissions(dir);
  const auto todo = missing_points(plan, collect(plan, dir, subs));
  if (todo.empty()) {
    fmt::print("sweep: all {} points are in {}\n", plan.sweep.points.size(), dir);
    return merge_and_report(plan, dir, {});
  }
  Submission sub;
  sub.number = static_cast<int>(subs.size()) + 1;
  sub.points = todo;
  // Default: about 100 tasks, so that the per-task start-up (docs/sweep.md) stays small.
  sub.points_per_task = o.points_per_task.value_or(static_cast<int>(std::max<size_t>(1, (todo.size() + 99) / 100)));
  fq::write_file_atomically(sub_path(dir, sub.number, "points"), [&](std::ostream& f) {
    f << "points_per_task " << sub.points_per_task << "\n";
    for (size_t i : todo) f << i << "\n";
  });
  const std::string script = sub_path(dir, sub.number, "sh");
  fq::write_file_atomically(script, [&](std::ostream& f) {
    f << "#!/bin/sh\n# written by sweep: one array task of submission " << sub.number << " (docs/sweep.md)\n"
      << "exec " << shell_quote(self_exe()) << " --slurm-task " << shell_quote(dir) << " --submission " << sub.number
      << "\n";
  });
  fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  std::string cmd = fmt::format("sbatch --parsable --job-name=fqsim-sweep --array=0-{}{} --output={}", sub.tasks() - 1,
                                o.max_parallel ? fmt::format("%{}", *o.max_parallel) : "",
                                shell_quote(fmt::format("{}/logs/{}-%a.out", dir, sub.number)));
  std::vector<std::string> args;
  if (o.partition) args.push_back("--partition=" + *o.partition);
  if (o.time_limit) args.push_back("--time=" + *o.time_limit);
  args.insert(args.end(), o.sbatch_args.begin(), o.sbatch_args.end());
  args.push_back(script);
  for (const auto& a : args) cmd.append(1, ' ').append(shell_quote(a));
  const auto [rc, out] = run_capture(cmd);
  const std::string job = trim(out).substr(0, trim(out).find(';'));
  if (rc != 0 || job.empty() || job.find_first_not_of("0123456789") != std::string::npos) {
    // Nothing was submitted: leave the work directory as it was (none, for a first submission).
    std::error_code ec;
    if (exists) {
      fs::remove(sub_path(dir, sub.number, "points"), ec);
      fs::remove(script, ec);
    } else {
      fs::remove_all(dir, ec);
    }
    fail("sbatch failed (exit {}): {}", rc, trim(out));
  }
  sub.job = job;
  fq::write_file_atomically(sub_path(dir, sub.number, "job"), [&](std::ostream& f) { f << job << "\n"; });
  fmt::print("sweep: {} points, {} done, {} submitted as job {} ({} tasks of {} points) in {}\n",
             plan.sweep.points.size(), plan.sweep.points.size() - todo.size(), todo.size(), job, sub.tasks(),
             sub.points_per_task, dir);
  if (!o.wait) {
    fmt::print("sweep: merge with `sweep --merge {}`\n", dir);
    return 0;
  }
  return merge_and_report(plan, dir, wait_for(plan, dir, sub));
}

int run_merge(const std::string& work_dir) {
  const std::string dir = fs::absolute(work_dir).lexically_normal().string();
  const Plan plan = parse_plan(dir);
  const auto subs = read_submissions(dir);
  std::map<int, TaskState> states;
  if (!subs.empty()) states = wait_for(plan, dir, subs.back());
  return merge_and_report(plan, dir, states);
}

int run_slurm_task(const std::string& dir, int submission) {
  const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
  if (!id) fail("--slurm-task runs inside a Slurm array task (SLURM_ARRAY_TASK_ID is not set)");
  const int task = std::atoi(id);
  const Plan plan = parse_plan(dir);
  check_inputs(plan, dir);
  const Submission sub = read_submission(dir, submission);
  if (task < 0 || task >= sub.tasks()) fail("task {} of submission {}: it has tasks 0-{}", task, submission, sub.tasks() - 1);
  const size_t begin = static_cast<size_t>(task) * sub.points_per_task;
  const std::vector<size_t> todo(sub.points.begin() + static_cast<std::ptrdiff_t>(begin),
                                 sub.points.begin() + static_cast<std::ptrdiff_t>(std::min(sub.points.size(), begin + sub.points_per_task)));
  const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
  const int jobs = cpus && std::atoi(cpus) > 0 ? std::atoi(cpus) : 1;
  const cost::CostTables tables = cost::load_cost_tables(plan.sweep.costs_path);
  const std::string part = shard_path(dir, submission, task, "part");
  fmt::print("sweep task {} of job {}: {} points on {} threads -> {}\n", task, sub.job, todo.size(), jobs, part);
  std::fflush(stdout);
  size_t invalid = 0;
  {
    // A requeued task starts its shard again.
    std::ofstream out(part, std::ios::trunc);
    out << plan.sweep.header << "\n";
    invalid = evaluate_points(plan.sweep, tables, todo, jobs, out, nullptr);
    out.close();
    if (!out) fail("{}: cannot write", part);
  }
  fs::rename(part, shard_path(dir, submission, task, "csv"));
  fmt::print("sweep task {}: {} points, {} invalid\n", task, todo.size(), invalid);
  return 0;
}

}  // namespace fq::sweep
