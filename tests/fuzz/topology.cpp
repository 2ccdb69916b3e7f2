// fuzz_topology: a SCALE-Sim topology CSV is read; when its GEMMs are small, the workload is also
// built from it as `simulate --topology` does (random operands of every row on configs/int8.yaml).
#include "fuzz/targets.h"

#include "model/arch/arch_config.h"
#include "model/core/error.h"
#include "sim/workload_input.h"

namespace fq::fuzz {

int topology(const uint8_t* data, size_t size) {
  static const ArchConfig kArch = load_arch(FQ_SOURCE_DIR "/configs/int8.yaml");
  const auto path = as_file({data, size}, ".in.csv");
  try {
    const auto shapes = sim::read_topology(path.string());
    // Large rows are legitimate requests for large synthetic GEMMs; generating them would only
    // measure the random number generator.
    int64_t elems = 0;
    for (const auto& g : shapes) elems += g.n * g.k + g.m * g.k;
    if (elems > (1 << 16)) return 0;
    sim::WorkloadRequest request;
    request.topology = path.string();
    const auto w = sim::make_workload(request, kArch);
    if (w.weights.size() != shapes.size() || w.acts.size() != shapes.size()) broken("workload size differs from the CSV");
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace fq::fuzz
