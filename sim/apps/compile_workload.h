// Shared by the simulation commands (leaves that see both the compiler and the simulators):
// compile a workload for an arch.
#pragma once

#include "compiler/compiler.h"
#include "sim/workload_input.h"

#include <vector>

namespace fq::sim {

inline compiler::CompiledLayer compile_workload(const ArchConfig& arch, const Workload& w) {
  std::vector<compiler::GemmInput> inputs;
  for (size_t g = 0; g < w.weights.size(); ++g) {
    inputs.push_back({&w.weights[g], {w.acts[g].rows, w.acts[g].cols, w.acts[g].q, w.acts[g].scales}});
  }
  return compiler::compile_layer(arch, inputs);
}

}  // namespace fq::sim
