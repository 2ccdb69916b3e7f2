// The golden interpreter: executes a tile program functionally, one op at a time in program
// order, on a memory image (engine "golden"). Program order is one legal schedule of every
// verified program, so its DRAM results are what every timed engine must also produce.
// Contract: run_tile_program() checks the fingerprint and verifies the program first; it
// changes only the bytes that dma.store ops write.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"

namespace fq::golden {

struct InterpreterStats {
  uint64_t ops = 0;
  uint64_t macs = 0;  // activation x weight products, padding excluded
};

InterpreterStats run_tile_program(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory);

}  // namespace fq::golden
