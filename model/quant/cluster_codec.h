// The FineQ-R code byte (fineq-spec.md §2): one byte per 3-weight cluster.
// bits 7:6 idx (0 normal, p = 1..3 outlier with position p-1 pruned), bits 5:0 data.
#pragma once

#include <array>
#include <cstdint>

namespace fq {

// Integer weights of one cluster, positions 0, 1, 2. Every byte is legal (spec §2).
std::array<int8_t, 3> decode_cluster(uint8_t byte);

// Normal cluster: each q in [-2, 1].
uint8_t pack_normal_cluster(int q0, int q1, int q2);
// Outlier cluster with position `pruned` (0..2) forced to 0; the other two positions u < v
// hold qu, qv in [-4, 3].
uint8_t pack_outlier_cluster(int pruned, int qu, int qv);

}  // namespace fq
