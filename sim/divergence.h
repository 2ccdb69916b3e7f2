// The first-divergence comparator (docs/verification.md): where two engines' results of one
// program part, with the context a person needs to find it (GEMM, element, op and its .tir line,
// tile, the dma.store that wrote a byte). Used by cosim and by the engine tests.
// Contract: only parts both results carry are compared; `a` is the reference ("expected").
#pragma once

#include "model/ir/tile_program.h"
#include "sim/engine.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fq::sim {

struct Divergence {
  enum class Kind { kBytes, kOpCycles, kTotalCycles, kActions, kPeAdditions };
  Kind kind = Kind::kBytes;
  std::string a, b;                // the engines; a is the reference
  std::optional<ir::OpId> op;      // kOpCycles: the op; kBytes: the dma.store that wrote the byte
  std::optional<uint64_t> addr;    // kBytes: the DRAM address of the first differing byte
  std::string message;             // "a vs b: ..." with the context
};

// Bytes: every GEMM's int32 accumulators exactly and its FP32 outputs within a relative 2^-20
// (fineq-spec.md §4), then every other byte of the image exactly. Nullopt when equal, or when
// either result carries no memory.
std::optional<Divergence> first_byte_divergence(const ir::TileProgram& program, const EngineResult& a,
                                                const EngineResult& b);

// Cycles: with two op timelines, issue/finish/done/beat of every op, the total, then the action
// counts (total and per GEMM); otherwise the done cycle of every op and the total. Then the PE
// additions where one side counted them (against the other's count, or the additions its action
// counts say are due). Nullopt when equal, or when either result is untimed.
std::optional<Divergence> first_cycle_divergence(const ir::TileProgram& program, const ArchConfig& arch,
                                                 const EngineResult& a, const EngineResult& b);

// cosim's checks, in the order of the contract: bytes of every engine with data against the first
// engine of `runs` with data, then cycles of every timed engine against the first timed engine.
std::vector<Divergence> compare_runs(const ir::TileProgram& program, const ArchConfig& arch,
                                     const std::vector<EngineResult>& runs);

}  // namespace fq::sim
