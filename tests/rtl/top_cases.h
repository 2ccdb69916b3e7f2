// The whole-accelerator regression cases shared by the Catch2 tests (503_top.cpp) and the
// `regress` command: one Verilated fq_top per preset configs/test/rtl_*.yaml, random
// GEMMs compiled with random legal mappings, checked against the golden interpreter (bytes) and
// the fast engine (done cycle of every op, total cycles, PE additions).
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fq::rtl {

// One Verilated fq_top (Vtop_<name>) and the preset it was built from, configs/test/rtl_<name>.yaml:
// the harness runs it on the arch that file describes (tests/rtl/CMakeLists.txt reads the same file).
struct TopConfig {
  std::string name;
  ArchConfig arch;
  std::string parameters;  // the -G parameters CMake Verilated the model with, but IDEPTH
};

// Every model, in preset file order.
const std::vector<TopConfig>& top_configs();

// PE register writes of a run: counted from the RTL's write enables, or derived from the
// action counts the cost model prices (register_writes()).
struct RegisterWrites {
  uint64_t psum = 0, operand = 0, valid = 0, weight = 0;
  // The array's, not per PE: skew and deskew stage registers written, beats their histories shift.
  uint64_t skew = 0, deskew = 0, skew_shift = 0, deskew_shift = 0;
  std::array<uint64_t, timing::kCtrlRegs> ctrl{};  // the array controller's, by timing::CtrlReg
  bool operator==(const RegisterWrites&) const = default;
};
RegisterWrites register_writes(const timing::ActionCounts& a, const ArchConfig& arch);

struct CaseResult {
  bool pass = false;
  std::string summary;  // the case: shapes, ops, cycles
  std::string failure;  // the first divergence, empty on a pass
  RegisterWrites rtl_writes;     // counted in the RTL
  timing::ActionCounts actions;  // the fast engine's, for the same program
  uint64_t pe_valid_cycles = 0;  // PE-cycles with data in the RTL
  uint64_t total_cycles = 0;     // the RTL's
};

// One case. stall_percent > 0: random DRAM stalls, bytes compared only. `wave`: an FST file.
CaseResult run_top_case(const TopConfig& config, uint64_t seed, int stall_percent = 0, const std::string& wave = "");

// One given program on the model of `config` (no DRAM stalls): the RTL's and the fast engine's
// total cycles, and the first divergence from the golden bytes or the fast engine's op cycles.
struct ProgramResult {
  uint64_t rtl_cycles = 0, fast_cycles = 0;
  std::string failure;  // empty when bytes and every op's cycle agree
};
ProgramResult run_top_program(const TopConfig& config, const ir::TileProgram& program, const ir::MemoryImage& memory);

}  // namespace fq::rtl
