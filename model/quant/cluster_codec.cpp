#include "model/quant/cluster_codec.h"

#include "model/core/error.h"

namespace fq {
namespace {

// Sign-extends the low `bits` bits of v.
int8_t sign_extend(unsigned v, int bits) {
  const unsigned m = 1u << (bits - 1);
  v &= (1u << bits) - 1u;
  return static_cast<int8_t>(static_cast<int>(v ^ m) - static_cast<int>(m));
}

unsigned field(int q, int bits, int lo, int hi) {
  if (q < lo || q > hi) fail("cluster code value {} outside [{}, {}]", q, lo, hi);
  return static_cast<unsigned>(q) & ((1u << bits) - 1u);
}

}  // namespace

std::array<int8_t, 3> decode_cluster(uint8_t byte) {
  const unsigned idx = byte >> 6;
  const unsigned data = byte & 0x3fu;
  if (idx == 0) return {sign_extend(data >> 4, 2), sign_extend(data >> 2, 2), sign_extend(data, 2)};
  std::array<int8_t, 3> q{0, 0, 0};
  const int pruned = static_cast<int>(idx) - 1;
  const int u = pruned == 0 ? 1 : 0;
  const int v = pruned == 2 ? 1 : 2;
  q[u] = sign_extend(data >> 3, 3);
  q[v] = sign_extend(data, 3);
  return q;
}

uint8_t pack_normal_cluster(int q0, int q1, int q2) {
  return static_cast<uint8_t>((field(q0, 2, -2, 1) << 4) | (field(q1, 2, -2, 1) << 2) | field(q2, 2, -2, 1));
}

uint8_t pack_outlier_cluster(int pruned, int qu, int qv) {
  if (pruned < 0 || pruned > 2) fail("pruned cluster position {} outside [0, 2]", pruned);
  return static_cast<uint8_t>((static_cast<unsigned>(pruned + 1) << 6) | (field(qu, 3, -4, 3) << 3) |
                              field(qv, 3, -4, 3));
}

}  // namespace fq
