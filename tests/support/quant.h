// Shared helpers of the quantizer tests: options from a map, and correlated calibration inputs.
#pragma once

#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/llm/quant_model.h"
#include "model/quant/i_quantizer.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fq::test {

inline Params params(const std::map<std::string, std::string>& options) {
  Params p("test");
  for (const auto& [k, v] : options) p.set(k, v);
  return p;
}

inline std::unique_ptr<IQuantizer> quantizer(const std::string& method, const std::map<std::string, std::string>& options) {
  return make_quantizer(method, params(options));
}

inline llm::QuantizedModel quantize(const llm::LlamaWeights& w, const std::string& method,
                                    const std::map<std::string, std::string>& options,
                                    const std::vector<std::vector<int>>& calibration) {
  return llm::quantize_model(w, method, params(options), calibration);
}

// Correlated activations: each token is a running sum of the synthetic generator's values, so
// neighbouring input channels move together and error feedback has something to exploit.
inline std::vector<float> correlated(int tokens, int cols, uint64_t seed) {
  auto x = synthetic_activations(tokens, cols, seed);
  for (int t = 0; t < tokens; ++t) {
    for (int k = 1; k < cols; ++k) {
      const size_t i = static_cast<size_t>(t) * static_cast<size_t>(cols) + static_cast<size_t>(k);
      x[i] = 0.8f * x[i - 1] + 0.2f * x[i];
    }
  }
  return x;
}

}  // namespace fq::test
