// The FineQ-R encoder (fineq-spec.md §3): one cluster, one row, and the per-row scale search.
#pragma once

#include <cstdint>
#include <span>

namespace fq {

enum class FineqPolicy { kRatio, kMse };  // option names "ratio", "mse"

// Spec §3 exactly: q = clamp(round_half_away((double)w / (double)scale)) in the mode's range.
// ratio: outlier iff max|w| > threshold * min|w| (strictly); the lowest index holding the minimum
// is pruned. mse: normal, prune 0, prune 1, prune 2, least squared error, ties to the lowest idx.
uint8_t encode_cluster(std::span<const float, 3> w, double scale, FineqPolicy policy, double threshold);

// Encodes a row of K weights into ceil(K/3) bytes; positions past K are zero weights (spec §1).
// Returns sum (w - scale * q)^2 over the row in double.
double encode_row(std::span<const float> row, double scale, FineqPolicy policy, double threshold,
                  std::span<uint8_t> out);

// Scale search (quantizers.md §2, "FineQ-R scale search"): candidates s = fp16(alpha * absmax / 4),
// alpha = 1.00, 0.95, ..., 0.50; each scored by the squared error of the fully encoded slice under
// `policy`; the first candidate wins ties. The chosen FP16 scale is what the bytes are encoded
// with. An all-zero slice gets 1.0 (0x3c00) and zero codes. Throws fq::Error if absmax / 4 does
// not fit FP16. Writes ceil(K/3) bytes to `out`; returns the FP16 bits.
uint16_t search_and_encode(std::span<const float> row, FineqPolicy policy, double threshold, std::span<uint8_t> out);

}  // namespace fq
