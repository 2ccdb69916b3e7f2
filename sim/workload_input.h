// The workloads `simulate` and `cosim` accept: a .q layer with synthetic activations, one
// `--gemm M,N,K`, a SCALE-Sim GEMM topology CSV, or the built-in stories260K-shaped layer, with
// seeded operands in the PE's format. Errors name the file, line or option.
#pragma once

#include "model/arch/arch_config.h"
#include "model/arch/workload.h"
#include "model/golden/act_quant.h"
#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fq::sim {

struct Workload {
  std::string description;
  std::vector<QTensor> weights;
  std::vector<QuantizedActs> acts;
};

struct WorkloadRequest {
  std::optional<std::string> layer;     // --layer L.q
  std::optional<std::string> gemm;      // --gemm M,N,K
  std::optional<std::string> topology;  // --topology FILE.csv
  int tokens = 16;                      // M for --layer and the default layer
  uint64_t seed = 1;
};

// The rows of a SCALE-Sim GEMM topology CSV, each dimension in [1, 2^24].
std::vector<GemmShape> read_topology(const std::string& path);

Workload make_workload(const WorkloadRequest& request, const ArchConfig& arch);

}  // namespace fq::sim
