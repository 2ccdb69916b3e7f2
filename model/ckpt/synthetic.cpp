#include "model/ckpt/synthetic.h"

#include "model/core/error.h"
#include "model/core/parallel.h"
#include "model/golden/act_quant.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace fq {
namespace {

uint64_t hash_name(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Uniform in (0, 1) from 53 random bits.
double uniform(uint64_t& state) { return (static_cast<double>(splitmix64_next(state) >> 11) + 0.5) * 0x1.0p-53; }

int parse_dim(const std::string& spec, const std::string& text) {
  int v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0 || v > (1 << 20)) {
    fail("synthetic layer '{}': '{}' is not a dimension in [1, 2^20]", spec, text);
  }
  return v;
}

}  // namespace

std::vector<SyntheticTensorSpec> synthetic_layer(const std::string& spec) {
  auto llama = [](int d, int ff) {
    return std::vector<SyntheticTensorSpec>{{"layers.0.wq", d, d},  {"layers.0.wk", d, d}, {"layers.0.wv", d, d},
                                            {"layers.0.wo", d, d},  {"layers.0.w1", ff, d}, {"layers.0.w2", d, ff},
                                            {"layers.0.w3", ff, d}};
  };
  if (spec == "llama2-7b") return llama(4096, 11008);
  if (spec == "llama2-13b") return llama(5120, 13824);
  const std::string prefix = "gemm:N=";
  const auto comma = spec.find(",K=");
  if (spec.rfind(prefix, 0) == 0 && comma != std::string::npos) {
    return {{"gemm", parse_dim(spec, spec.substr(prefix.size(), comma - prefix.size())),
             parse_dim(spec, spec.substr(comma + 3))}};
  }
  fail("unknown synthetic layer '{}' (llama2-7b, llama2-13b, gemm:N=<n>,K=<k>)", spec);
}

std::vector<float> synthetic_weights(const SyntheticTensorSpec& spec, uint64_t seed) {
  const uint64_t base = seed ^ hash_name(spec.name);
  const auto rows = static_cast<size_t>(spec.rows), cols = static_cast<size_t>(spec.cols);
  // Outlier input channels and their gains, from the seed alone.
  std::vector<float> gain(cols, 1.0f);
  uint64_t state = base ^ 0x5bd1e995ull;
  const size_t outliers = std::max<size_t>(1, cols / 200);
  for (size_t i = 0; i < outliers; ++i) {
    const size_t c = static_cast<size_t>(splitmix64_next(state) % cols);
    gain[c] = static_cast<float>(2.0 + 2.0 * uniform(state));
  }
  // Laplace(0, b) has standard deviation b * sqrt(2) and kurtosis 6 (a Gaussian's is 3): the
  // heavy tail of trained LLM weights at one log per weight.
  const double b = 0.02 / std::sqrt(2.0);
  std::vector<float> w(rows * cols);
  parallel_for(static_cast<int64_t>(rows), [&](int64_t begin, int64_t end) {
    for (auto r = static_cast<size_t>(begin); r < static_cast<size_t>(end); ++r) {
      uint64_t s = base + 0x9e3779b97f4a7c15ull * (r + 1);
      for (size_t c = 0; c < cols; ++c) {
        const double u = uniform(s) - 0.5;  // (-0.5, 0.5)
        const double x = u < 0 ? b * std::log(1.0 + 2.0 * u) : -b * std::log(1.0 - 2.0 * u);
        w[r * cols + c] = static_cast<float>(x * gain[c]);
      }
    }
  });
  return w;
}

}  // namespace fq
