// Workload descriptions (traces/*.yaml): the GEMM shapes of a model's decoder layers, with the
// token count M as a parameter. Format: traces/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fq {

struct GemmShape {
  std::string name;  // the .q tensor name, e.g. "layers.0.wq"
  int64_t m = 0;     // tokens
  int64_t n = 0;     // output channels
  int64_t k = 0;     // input channels
};

// Throws fq::Error naming the file and key for unknown keys, bad values or a bad version.
std::vector<GemmShape> load_workload(const std::string& path, int64_t tokens);

}  // namespace fq
