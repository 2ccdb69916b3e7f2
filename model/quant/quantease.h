// QuantEase (quantizers.md §5): cyclic coordinate descent on ‖(W - Ŵ)X‖² over each row's grid,
// plain (§5.1, §5.2) or outlier-aware (§5.3: W ≈ Ŵ + Ĥ, Ĥ sparse), as pure double-precision functions.
//
// Contract:
//  - Σ = X·Xᵀ (cols × cols, un-normalised, no damping) is supplied by the caller; it must be
//    symmetric positive semi-definite (row j is read as column j). Objective Σ_i rᵢᵀ·Σ·rᵢ with
//    rᵢ = w_i - ŵ_i - ĥ_i.
//  - Grid: fitted once per row from min/max (asymmetric, include_zero by default; symmetric as
//    an option), no clip search; outlier-aware: on the row's non-outlier entries of the initial Ĥ.
//  - Ŵ starts at W - Ĥ, unquantised. One sweep visits the columns in order (descending Σ_jj with
//    act_order, stable) and sets ŵ_j ← q(u), u = ŵ_j + g_j/Σ_jj with g = (W - Ĥ - Ŵ)·Σ maintained
//    exactly as in §5.1's formula; Σ_jj = 0 columns are RTN-rounded. q is the nearest grid point
//    under `rounding`. With relaxed_schedule, sweeps t ≡ 1 (mod 3), t <= 25, t != T keep u unrounded.
//  - Outlier-aware iteration: one sweep, then IHT: Ĥ ← top_k(Ĥ - η·R), R = (Ŵ + Ĥ - W)·Σ,
//    η = α/(2·λ_max(Σ)). λ_max is found by power iteration from a fixed pseudo-random start vector
//    (deterministic; the Rayleigh quotient only needs to be within 2× of λ_max for the step to be
//    a descent step). Unstructured: k = round(s·rows·cols) entries by |value|; structured:
//    round(s·cols) whole columns by ℓ2 norm; ties go to the lower (row, processing position).
//    Ĥ keeps full double precision (FP16 storage is the caller's concern).
//  - A row (plain) or the whole matrix (outlier-aware) whose rounding sweep changed nothing, with
//    only rounding sweeps left, is at a fixed point: later sweeps would repeat it, so they are
//    skipped (sweeps_run reports how many ran).
//  - Identical results for any thread count. Throws fq::Error on bad shapes, non-finite inputs,
//    bits outside [2, 8] or bad options.
#pragma once

#include "model/quant/row_grid.h"

#include <cstdint>
#include <span>
#include <vector>

namespace fq {

struct QuantEaseOptions {
  int bits = 4;
  bool symmetric = false;
  bool include_zero = true;  // asymmetric grid only (row_grid.h)
  int sweeps = 30;           // T: sweeps (plain) or iterations (outlier-aware)
  bool act_order = false;
  bool relaxed_schedule = false;
  Rounding rounding = Rounding::kHalfEven;
  double outlier_fraction = 0.0;  // s in [0, 1); > 0 selects the outlier-aware variant
  bool structured_outliers = false;
  double iht_alpha = 1.0;
  std::span<const RowGrid> fixed_grids;  // when non-empty: one grid per row, used instead of fitting
  int threads = 0;                       // 0: default_threads()
};

struct QuantEaseResult {
  int rows = 0;
  int cols = 0;
  std::vector<int16_t> codes;               // [rows, cols], original column order
  std::vector<RowGrid> grids;               // [rows]
  std::vector<double> w_hat;                // [rows, cols]: the quantized part, grids[r].value(codes)
  std::vector<double> outliers;             // [rows, cols]: Ĥ, zero off its support (all zero when plain)
  int64_t outlier_count = 0;                // support size of Ĥ (entries)
  std::vector<int> outlier_columns;         // structured: the selected original columns, ascending
  double objective = 0.0;                   // Σ_i (w_i - ŵ_i - ĥ_i)ᵀ Σ (…) at the end
  std::vector<double> objective_per_sweep;  // after each sweep (outlier-aware: after its IHT step)
  int sweeps_run = 0;                       // sweeps actually computed (max over rows for the plain variant)
  std::vector<int> perm;                    // processing position -> original column
  double lambda_max = 0.0;                  // outlier-aware only
  double eta = 0.0;                         // outlier-aware only
};

QuantEaseResult quantease_quantize(std::span<const float> w, int rows, int cols, std::span<const double> sigma,
                                   const QuantEaseOptions& opt);

// One plain CD sweep over one row, columns in index order (the building block, exposed for tests):
// g must equal (target - w_hat)·Σ on entry and is kept equal to it. u_out (size cols, optional)
// receives each column's unconstrained minimiser u; with round = false ŵ_j = u. Returns the
// number of coordinates that changed.
int quantease_cd_sweep(std::span<const double> target, std::span<double> w_hat, std::span<double> g,
                       std::span<const double> sigma, const RowGrid& grid, Rounding rounding, bool round,
                       std::span<double> u_out = {});

// Σ_i (w_i - ŵ_i)ᵀ·S·(w_i - ŵ_i) over the rows in double; S is cols × cols (QuantEase's Σ or H).
double quadratic_error(std::span<const float> w, std::span<const double> w_hat, int rows, int cols,
                       std::span<const double> sigma, int threads = 0);

}  // namespace fq
