// The whole-accelerator regression cases shared by the Catch2 tests (503_top.cpp) and the
// `regress` command: one Verilated fq_top per configuration (tests/rtl/CMakeLists.txt), random
// GEMMs compiled with random legal mappings, checked against the golden interpreter (bytes) and
// the fast engine (done cycle of every op, total cycles, PE additions).
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fq::rtl {

// Must match the -G parameters of the Vtop_<name> models in tests/rtl/CMakeLists.txt.
struct TopConfig {
  std::string name;
  int rows, cols;
  PeKind kind;
  int bits;
  BeatWindow window;
  int db, lat;
};

const std::vector<TopConfig>& top_configs();
ArchConfig arch_of(const TopConfig& config);

struct CaseResult {
  bool pass = false;
  std::string summary;  // the case: shapes, ops, cycles
  std::string failure;  // the first divergence, empty on a pass
};

// One case. stall_percent > 0: random DRAM stalls, bytes compared only. `wave`: an FST file.
CaseResult run_top_case(const TopConfig& config, uint64_t seed, int stall_percent = 0, const std::string& wave = "");

}  // namespace fq::rtl
