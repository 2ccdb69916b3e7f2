// The compiler: maps each GEMM of a quantized layer onto tiles of the array under the buffer
// limits (the mapper, compiler/mapper.h), places every operand in a DRAM memory image and emits
// the tile program (the lowering, compiler/lowering.h); docs/compiler.md.
// Contract: the emitted program passes ir::verify() for the arch; executing it (any engine)
// leaves in DRAM, per GEMM, acc = int_gemm(acts, weights) and y = dequant(acc) bit for bit.
// Impossible requests (buffers too small for one tile, a PE kind that cannot run the format, a
// shape mismatch) throw fq::Error naming the GEMM and the limit; no program is produced.
#pragma once

#include "compiler/mapper.h"
#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fq::compiler {

// INT8 activations of one GEMM, spec §4: q is [rows = M, cols = K] row-major, one scale per row.
struct ActView {
  int rows = 0;
  int cols = 0;
  std::span<const int8_t> q;
  std::span<const float> scales;
};

struct GemmInput {
  const QTensor* weights = nullptr;  // W [N, K]
  ActView acts;                      // A [M, K]
};

struct CompiledLayer {
  ir::TileProgram program;
  ir::MemoryImage memory;
  std::vector<GemmPlan> plans;  // one per GEMM, in program order
};

// Chooses a mapping per GEMM (lowest estimated cycles; ties: fewer DRAM bytes, then fewer ops)
// and lowers it. Throws fq::Error for impossible requests.
CompiledLayer compile_layer(const ArchConfig& arch, std::span<const GemmInput> gemms);

// Lowers the GEMMs with the candidate each plan's `chosen` names (tests use it to lower every
// legal candidate); compile_layer() is plan_gemm() for each GEMM followed by this.
CompiledLayer lower_layer(const ArchConfig& arch, std::span<const GemmInput> gemms, std::vector<GemmPlan> plans);

// One line per GEMM: its shape and chosen mapping (the full search of one GEMM: explain()).
std::string mapping_summary(const CompiledLayer& layer);

}  // namespace fq::compiler
