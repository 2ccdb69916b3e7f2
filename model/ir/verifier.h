// The tile program verifier: may this program run on this arch with this much DRAM?
// (docs/isa.md "Verifier rules").
// Contract: check() returns every problem found, each message naming where ("program", "gemm 2
// (name)" or "op 17 (preload)") and the rule in brackets ("[hazard-raw]"); an empty list means
// every engine may execute the program and all of them must compute the same acc values.
// verify() throws fq::Error with the first problem. Cost is O(ops log ops) for ~1 M ops.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/arch/arch_config.h"
#include "model/ir/tile_program.h"

namespace fq::ir {

// `arch_fingerprint` is fingerprint(arch) (taken as a parameter so that the verifier does not
// recompute it per call); `dram_bytes` is the size of the DRAM the program addresses.
std::vector<std::string> check(const TileProgram& program, const ArchConfig& arch, std::string_view arch_fingerprint,
                               uint64_t dram_bytes);
void verify(const TileProgram& program, const ArchConfig& arch, std::string_view arch_fingerprint,
            uint64_t dram_bytes);

inline std::vector<std::string> check(const TileProgram& program, const ArchConfig& arch, uint64_t dram_bytes) {
  return check(program, arch, fingerprint(arch), dram_bytes);
}
inline void verify(const TileProgram& program, const ArchConfig& arch, uint64_t dram_bytes) {
  verify(program, arch, fingerprint(arch), dram_bytes);
}

}  // namespace fq::ir
