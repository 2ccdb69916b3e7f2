// Rounding rules named by the spec (fineq-spec.md §3) and quantizers.md §0.
#pragma once

#include <cmath>
#include <cstdint>

namespace fq {

// Round half away from zero: FineQ-R weights, INT8 activations (spec §3, §4).
inline double round_half_away(double x) { return std::round(x); }

// Round half to even (torch.round): the `rne` mode of the literature baselines.
inline double round_half_even(double x) { return std::nearbyint(x); }

inline int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace fq
