// Synthetic LLaMA-2-shaped decoder layers: seeded, deterministic, heavy-tailed weights with a few
// outlier input channels, so `llama7b.q` can be produced without the real weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fq {

struct SyntheticTensorSpec {
  std::string name;
  int rows = 0;  // N
  int cols = 0;  // K
};

// "llama2-7b" (d 4096, d_ff 11008), "llama2-13b" (d 5120, d_ff 13824): layers.0.wq, wk, wv, wo
// (d x d), w1 (d_ff x d), w2 (d x d_ff), w3 (d_ff x d); "gemm:N=<n>,K=<k>": one tensor "gemm".
std::vector<SyntheticTensorSpec> synthetic_layer(const std::string& spec);

// Laplace weights (kurtosis 6) with standard deviation 0.02, and 0.5 % of the input channels (at
// least one) scaled by 2 to 4: the same values for the same (spec, seed, name) whatever the
// thread count.
std::vector<float> synthetic_weights(const SyntheticTensorSpec& spec, uint64_t seed);

}  // namespace fq
