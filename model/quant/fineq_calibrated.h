// Calibrated FineQ-R (docs/quantization.md, "fineq-gptq" and "fineq-quantease"): the FineQ-R code
// bytes of fineq-spec.md §2 chosen to minimise a linear layer's output error
// tr((W - Ŵ)·H·(W - Ŵ)ᵀ), H = (2/n)·XᵀX from calibration inputs X, as pure double-precision functions.
//
// Contract (both):
//  - One FP16 scale per row. scale kWeights: fitted on the *original* row exactly as the
//    plain `fineq` quantizer does (search_and_encode() with the same policy and threshold), before
//    any optimisation. scale kOutput (default): the algorithm runs once per candidate scale of that
//    search and the row keeps the candidate with the least output error (never more than with
//    kWeights, whose scale is one of the candidates). Either way the bytes are chosen
//    for the stored FP16 scale, so ŵ = fp16(s)·q is what dequantize() returns.
//  - K is padded to Kp = 3·ceil(K/3); padded positions always get q = 0 (spec §1).
//  - Rows are independent given H; they run in parallel and every output is identical for any
//    thread count. fq::Error on bad shapes, non-finite weights (row and column named) or Hessian
//    entries, bad options, or (GPTQ) a Hessian that is not positive definite after damping.
//
// fineq_gptq_quantize(): GPTQ (gptq.h) with the cluster as the unit. Dead columns (H_jj = 0) are
// zeroed and repaired, H is damped by damp·mean(diag H), U is the upper Cholesky factor of H⁻¹
// (gptq_factor(); padded columns enter as dead columns, so no error ever flows into them). Clusters
// are visited in order in blocks of block_size columns (a multiple of 3): a cluster's three
// *updated* weights, rounded to FP32, are encoded by the policy (spec §3 with the stored scale;
// `targets` keeps them so a test can re-encode them), then each of its three columns j in turn
// gives e_j = (w_j - ŵ_j)/U_jj, w_k -= e_j·U_jk for the later columns of the block (the later
// columns of the cluster included, so the next e uses its updated value: the exact OBS update for
// the fixed codes); later blocks get the block's errors in one batch.
//
// fineq_quantease_quantize(): QuantEase-style cyclic coordinate descent in the FineQ-R code space.
// A coordinate is a cluster; its update is the exact minimiser of the row's output error over all
// distinct decoded triples q (every byte is legal, spec §2) with the other clusters fixed:
// argmin_q s²·qᵀAq − 2s·qᵀ(A·ŵ_J + g_J), A = H_JJ, g = (w − ŵ)·H kept as a running product. Ties
// (exact, e.g. on dead columns) go to the smaller Σ(w_i − s·q_i)² over the cluster, then to the
// current code, then to the lowest byte. A cluster changes only when strictly better, so the
// objective never increases; a row stops at a fixed point (a sweep that changed nothing) or after
// `sweeps` sweeps. The start is the plain FineQ-R codes (init kFineq: the result is never worse
// than plain FineQ-R on the calibration data) or fineq_gptq_quantize()'s (init kGptq).
#pragma once

#include "model/quant/fineq_encoder.h"

#include <cstdint>
#include <span>
#include <vector>

namespace fq {

// kWeights: plain fineq's scale, fitted on the original row. kOutput: the same 11 candidates
// (fp16(α·absmax/4), α = 1.00, 0.95, ..., 0.50), each run through the whole algorithm, scored by
// the row's output error; the first candidate wins ties.
enum class FineqScale { kWeights, kOutput };  // option names "weights", "output"

struct FineqGptqOptions {
  FineqPolicy policy = FineqPolicy::kRatio;
  double threshold = 4.0;
  FineqScale scale = FineqScale::kOutput;
  int block_size = 126;  // columns per lazy-batch block; a positive multiple of 3 (whole clusters)
  double damp = 0.01;
  int threads = 0;       // 0: default_threads()
};

enum class FineqCdInit { kFineq, kGptq };  // option names "fineq", "gptq"

struct FineqCdOptions {
  FineqGptqOptions start;  // policy and threshold of the scale search (and of init kGptq's encoding)
  FineqCdInit init = FineqCdInit::kGptq;
  int sweeps = 20;  // upper bound on the number of sweeps per row (>= 1)
};

struct FineqCalibratedResult {
  int rows = 0, cols = 0, cols_padded = 0;
  std::vector<uint8_t> codes;     // [rows, cols_padded / 3]: FineQ-R code bytes
  std::vector<uint16_t> scales;   // [rows]: FP16 bits
  std::vector<double> w_hat;      // [rows, cols]: fp16_to_float(scale)·q
  std::vector<float> targets;     // GPTQ: [rows, cols_padded], the weights each cluster was encoded from
  double objective = 0.0;         // Σ_rows (w − ŵ)ᵀ·H·(w − ŵ) with the undamped H
  double objective_plain = 0.0;   // the same for plain FineQ-R (fineq's scales and codes)
  double objective_start = 0.0;   // CD: for its starting codes at the chosen scales; GPTQ: = objective
  int dead_columns = 0;           // of the real K columns
  int sweeps_run = 0;             // CD: the most sweeps any row ran
  int64_t clusters_changed = 0;   // CD: cluster updates over all sweeps
};

FineqCalibratedResult fineq_gptq_quantize(std::span<const float> w, int rows, int cols, std::span<const double> hessian,
                                          const FineqGptqOptions& opt);

FineqCalibratedResult fineq_quantease_quantize(std::span<const float> w, int rows, int cols,
                                               std::span<const double> hessian, const FineqCdOptions& opt);

}  // namespace fq
