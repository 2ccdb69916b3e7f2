// The golden integer GEMM ("reference" engine) and its dequantisation epilogue (fineq-spec.md §4).
#pragma once

#include "model/golden/act_quant.h"
#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <vector>

namespace fq {

// Largest |acc| any partial sum can reach: K * act_absmax * weight_absmax.
struct AccBound {
  int64_t bound;
  bool fits_int32;  // bound <= INT32_MAX, so no partial sum of any order can overflow int32
};
AccBound accumulator_bound(int k, int act_absmax, int weight_absmax);

// Largest |q| of a format's decoded weights: fineq_r 4, int8 128, int4 8, int3 4, int2 2.
int weight_absmax(HwFormat format);

// Contract: acc[m * N + n] = sum_k a.q[m][k] * q_w[n][k] exactly, as 32-bit two's complement
// (fineq-spec.md §4), for any weight format (padded positions contribute nothing). Throws
// fq::Error if a.cols != w.cols, if either operand is inconsistent (validate()), or if
// accumulator_bound(K, 127, weight_absmax(format)) does not fit int32 — then every partial sum
// provably fits, so the int32 accumulation below never overflows. Result: [M = a.rows, N = w.rows].
std::vector<int32_t> int_gemm(const QuantizedActs& a, const EncodedMatrix& w);

// y[m * N + n] = ((float)acc * s_w[n]) * s_a[m], in float and in exactly that order (spec §4),
// with s_w[n] = fp16_to_float(w.scales[n]). Needs per-row weight scales (w.group_size == 0, the
// hardware path); throws fq::Error otherwise or when acc has the wrong size.
std::vector<float> dequant(const std::vector<int32_t>& acc, const QuantizedActs& a, const EncodedMatrix& w);

}  // namespace fq
