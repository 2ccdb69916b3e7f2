// What sweep.cpp (the command, the local backend, the plots) and sweep_slurm.cpp (the Slurm
// backend and its tasks) share: the sweep's definition and the one code path that evaluates points,
// so that a point's row is the same wherever it runs.
#pragma once

#include "model/core/cli.h"
#include "model/core/progress.h"
#include "model/cost/cost_model.h"
#include "sim/workload_input.h"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace fq::sweep {

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

// Everything that decides the rows.
struct Sweep {
  std::string arch_path;
  std::vector<std::string> fixed;  // single-valued --set KEY=V
  std::vector<Axis> axes;
  sim::WorkloadRequest request;
  std::string costs_path;
  std::string engine = "fast";  // a registered engine with an op timeline (the energy columns)
  bool plots = true;
  std::vector<std::vector<std::string>> points;  // the cross product, first key outermost
  std::string header;
};

std::string read_text(const std::string& path);  // the whole file, or fq::Error naming it

// Fills points and header from the axes; checks the keys and the base arch.
void finish_sweep(Sweep& s);
std::string point_key(const std::vector<std::string>& values);
std::string describe_point(const Sweep& s, size_t index);  // "array.rows=8 array.cols=4"

// Evaluates the points `todo` (indices into s.points) on `jobs` threads; each row is written to
// `out` (and flushed) as it finishes. Returns the number of invalid points.
size_t evaluate_points(const Sweep& s, const cost::CostTables& tables, const std::vector<size_t>& todo, int jobs,
                       std::ostream& out, Progress* progress);

// Writes the header and `lines` to `out_path` atomically, in the order of the cross product
// (rows of other points last, in their order).
void write_sorted(const Sweep& s, const std::string& out_path, const std::vector<std::string>& lines);
void write_plots(const Sweep& s, const std::string& out_path);

struct SlurmOptions {
  std::optional<std::string> partition, time_limit, work_dir;
  std::optional<int> points_per_task, max_parallel;
  std::vector<std::string> sbatch_args;
  bool resume = false, wait = true;
};

// sweep_slurm.cpp: submit (or resume) and, unless --no-wait, wait and merge; merge a work
// directory later; one array task.
int run_slurm(const Sweep& s, const std::string& out_path, const SlurmOptions& options);
int run_merge(const std::string& work_dir);
int run_slurm_task(const std::string& work_dir, int submission);

// sweep_model.cpp: `sweep --model CKPT --tokenizer T --text FILE`, the co-design sweep of quant.*
// keys beside architecture keys; reads its own options from `cl` (docs/sweep.md).
int run_model_sweep(CommandLine& cl, const std::string& arch_path, const std::string& out_path,
                    const std::vector<std::string>& fixed, const std::vector<Axis>& axes);

}  // namespace fq::sweep
