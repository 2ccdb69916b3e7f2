// Seeded random operands in a hardware format, for `simulate --gemm`, `--topology` and the
// randomised engine tests: every FineQ-R code byte value, or the full INTb range. The values
// are platform-independent (splitmix64), so a seed names one layer everywhere.
#pragma once

#include "model/golden/act_quant.h"
#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <string>

namespace fq {

// W [n, k] in `format` with per-row FP16 scales in [2^-10, 2^-4).
QTensor random_qtensor(const std::string& name, HwFormat format, int n, int k, uint64_t seed);
// A [m, k] INT8 activations in [-127, 127] with scales in [2^-10, 2^-5).
QuantizedActs random_acts(int m, int k, uint64_t seed);

}  // namespace fq
