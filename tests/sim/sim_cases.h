// Randomised small programs for the engine tests: an arch, a few GEMMs, a compiled program
// lowered with a randomly chosen legal mapping per GEMM. Everything follows from one seed.
#pragma once

#include "compiler/compiler.h"
#include "model/arch/arch_config.h"
#include "model/ckpt/random_layer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fq::test {

struct SimCase {
  uint64_t seed = 0;
  ArchConfig arch;
  std::vector<QTensor> weights;
  std::vector<QuantizedActs> acts;
  compiler::CompiledLayer layer;
  std::string describe() const;
};

ArchConfig base_arch(int rows, int cols, const std::string& kind);
// Compiles `weights` x `acts` on `arch` with the candidate `pick` chooses among the legal ones
// (an index taken modulo their count); pick < 0 keeps the compiler's choice.
compiler::CompiledLayer compile_with(const ArchConfig& arch, const std::vector<QTensor>& weights,
                                     const std::vector<QuantizedActs>& acts, int64_t pick);
SimCase random_case(uint64_t seed);
// The same weights and activations on a bit-serial array of the same shape, buffers and DRAM:
// FineQ-R cases keep their window, INTb cases run pe.format intb (weight stationary, default
// timing); recompiled with a mapping picked from the seed.
SimCase as_bitserial(const SimCase& c);
// The same case with `sets` weight register sets per PE (weight stationary, default timing).
SimCase with_weight_sets(const SimCase& c, int sets);
// The same case with buffers.weight_slots = slots, recompiled (a deeper weight ring where it fits).
SimCase with_weight_slots(const SimCase& c, int slots);
// The same case with compiler.tile_order: beat and the tile window, recompiled (FineQ-R cases on
// temporal or bit-serial PEs only).
SimCase with_beat_order(const SimCase& c);

}  // namespace fq::test
