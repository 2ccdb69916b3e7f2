// The fast engine: the cycle count and action counts of a tile program computed per op from the
// closed-form timing of docs/architecture.md, without stepping PEs. Its Timeline must equal the
// SystemC model's for every verified program (tests/sim/ property test).
// Contract: the program has passed ir::verify() for `arch`; `memory` supplies the weight codes
// (the beat window and the pulse counts depend on them). Nothing is written.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <functional>

namespace fq::sim {

// `progress`, when given, is called with the number of ops scheduled every 2^16 ops.
timing::Timeline run_fast(const ir::TileProgram& program, const ArchConfig& arch, const ir::MemoryImage& memory,
                          const std::function<void(uint64_t)>& progress = {});

}  // namespace fq::sim
