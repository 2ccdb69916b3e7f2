// Pruning for the MSE clip searches (quantizers.md §2; rtn.h's mse_clip_search, row_grid.h's
// fit_grid_mse). Their score sum_i |s·(q_i - z) - x_i|^norm costs a pow() per candidate and
// weight; this estimates every candidate's score without pow(), with a proven error margin, and
// returns the candidates whose exact score may still be the smallest. The caller then scores only
// those exactly (pow, in its own order) and picks as before, so its choice is bit for bit the
// choice of the full search: a candidate whose lower bound exceeds another's upper bound cannot
// have the smallest exact score, and a later candidate equal to an earlier one cannot beat it.
// A candidate is abandoned once its estimate so far plus a floor on the terms it has not yet
// visited (their distance to the nearest grid value, from each group's least and largest |x|)
// exceeds the best upper bound.
#pragma once

#include <span>
#include <vector>

namespace fq {

// One candidate grid: q = clamp(round(x / scale) + zero, qmin, qmax), value = scale·(q - zero).
struct ClipCandidate {
  double scale;  // finite, > 0
  double zero;   // integer-valued
  int qmin;
  int qmax;
};

// Indices (ascending) of the candidates that may score lowest under sum |value - x|^norm; all of
// them when the estimate cannot bound the scores (non-finite x, a norm other than 2 outside [1, 16], a
// score that could overflow, too few weights to pay off).
std::vector<int> clip_contenders(std::span<const double> x, std::span<const ClipCandidate> candidates, double norm);

}  // namespace fq
