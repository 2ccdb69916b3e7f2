// GPTQ (quantizers.md §3): second-order weight quantization of W [rows, cols] against a layer
// Hessian H (cols × cols), as a pure double-precision function.
//
// Contract:
//  - H = (2/n)·Σ x·xᵀ is supplied by the caller (hessian_from_activations() below); it must be
//    symmetric, and only its upper triangle and diagonal are read.
//  - Dead columns (H_jj = 0): H_jj ← 1 and W[:, j] ← 0. Damping: H += damp·mean(diag H)·I. U is the
//    upper Cholesky factor of H⁻¹ (obtained as the inverse of the reversed Cholesky factor of H).
//  - Without groups, each row's grid is fitted once on the original row (before dead columns are
//    zeroed, as the reference code does), with the §2 clip search if enabled.
//  - Columns are processed in blocks of block_size: per column q = Q(w_j), e = (w_j - q)/U_jj,
//    later columns of the block get w_k -= e·U_jk; later blocks get the block's errors in one batch.
//  - act_order processes columns by descending diag(H) (stable: equal diagonals keep index order).
//  - group_size g > 0: a grid per g consecutive processed columns, refitted at each group start
//    on the weights as updated by every earlier column (unlike the reference code, which refits
//    on a copy lacking the current block's updates when g does not divide block_size; the two
//    agree when block boundaries are group boundaries). static_groups: grids fitted up front
//    on the original columns c in [k·g, (k+1)·g), after dead columns are zeroed.
//  - Rows are independent given H: rows are split over threads, and every output is identical
//    for any thread count.
//  - Throws fq::Error on a shape mismatch, a non-finite weight (naming row and column) or Hessian
//    entry, bits outside [2, 8], bad options, or a Hessian that is not positive definite after
//    damping.
#pragma once

#include "model/quant/row_grid.h"

#include <cstdint>
#include <span>
#include <vector>

namespace fq {

struct GptqOptions {
  int bits = 4;
  bool symmetric = true;
  bool include_zero = true;  // asymmetric grid only (row_grid.h)
  int group_size = 0;        // 0: one grid per row
  int block_size = 128;      // columns per lazy-batch block
  double damp = 0.01;        // fraction of mean(diag H) added to the diagonal
  bool act_order = false;
  bool static_groups = false;
  bool clip_search = true;  // §2 MSE clip search for every grid fit (§3 step 2 fits "with §2's clip search")
  double norm = 2.4;        // clip search error exponent
  Rounding rounding = Rounding::kHalfEven;
  // When non-empty: the grids to use instead of fitting, [rows, groups] row-major (tests, and
  // callers that fix the grid beforehand).
  std::span<const RowGrid> fixed_grids;
  int threads = 0;  // 0: default_threads()
};

struct GptqResult {
  int rows = 0;
  int cols = 0;
  int groups = 1;                 // grids per row
  std::vector<int16_t> codes;     // [rows, cols], original column order; int16 since asym 8-bit reaches 255
  std::vector<RowGrid> grids;     // [rows, groups]
  std::vector<int> group_of_col;  // [cols]: index of the grid column c uses
  std::vector<double> w_hat;      // [rows, cols]: grids[r, group_of_col[c]].value(codes[r, c])
  std::vector<int> perm;          // [cols]: processing position -> original column (identity without act_order)
  std::vector<int> inv_perm;      // [cols]: original column -> processing position
  std::vector<double> row_loss;   // [rows]: GPTQ's own loss Σ_j (w_j - q_j)²/U_jj² / 2 per row
  int dead_columns = 0;
  double damp_added = 0.0;  // the value added to every diagonal entry
};

GptqResult gptq_quantize(std::span<const float> w, int rows, int cols, std::span<const double> hessian,
                         const GptqOptions& opt);

// The pieces of gptq_quantize() that other GPTQ-style quantizers (fineq_calibrated.h) share.
// Repaired diagonal of H: H_jj, or 1 where H_jj = 0 (a dead column); fq::Error (prefixed `who`)
// for a negative entry.
std::vector<double> gptq_repaired_diagonal(std::span<const double> hessian, int cols, const char* who);

struct GptqFactor {
  std::vector<double> u;       // [cols, cols] in processing order: upper Cholesky factor of Hp⁻¹
  std::vector<char> dead;      // [cols], original order: H_jj == 0
  int dead_columns = 0;
  double damp_added = 0.0;     // damp · mean(repaired diag)
};
// U for Hp = H permuted by `perm` (processing position -> column), diagonal repaired (`diag`) and
// damped; fq::Error (prefixed `who`) when Hp is not positive definite.
GptqFactor gptq_factor(std::span<const double> hessian, int cols, std::span<const double> diag, double damp,
                       std::span<const int> perm, const char* who);

// H = (2/n)·XᵀX in double for X [tokens, cols] row-major (n = tokens >= 1). Exactly symmetric;
// identical for any thread count (each entry is one fixed-order dot product).
std::vector<double> hessian_from_activations(std::span<const float> x, int tokens, int cols, int threads = 0);

}  // namespace fq
