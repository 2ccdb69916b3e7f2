#include "model/core/error.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/impl/factories.h"

#include <fmt/ranges.h>

#include <cmath>

namespace fq {
namespace {

using Factory = std::unique_ptr<IQuantizer> (*)(const Params&);

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> table = {
      {"bfp", &impl::make_bfp},
      {"fineq", &impl::make_fineq_r},
      {"fineq-gptq", &impl::make_fineq_gptq},
      {"fineq-quantease", &impl::make_fineq_quantease},
      {"gptq", &impl::make_gptq},
      {"mxfp4", &impl::make_mxfp4},
      {"mxint8", &impl::make_mxint8},
      {"quantease", &impl::make_quantease},
      {"rtn", &impl::make_rtn},
  };
  return table;
}

}  // namespace

std::unique_ptr<IQuantizer> make_quantizer(const std::string& method, const Params& options) {
  const auto it = registry().find(method);
  if (it == registry().end()) {
    fail("unknown quantization method '{}' (known: {})", method, fmt::join(quantizer_names(), ", "));
  }
  auto quantizer = it->second(options);
  options.check_all_used();
  return quantizer;
}

void check_weights(std::span<const float> w, int rows, int cols, const std::string& method) {
  if (rows <= 0 || cols <= 0) fail("{}: weight shape [{}, {}] must be positive", method, rows, cols);
  const auto n_cols = static_cast<size_t>(cols);
  if (w.size() != static_cast<size_t>(rows) * n_cols) fail("{}: {} weights for shape [{}, {}]", method, w.size(), rows, cols);
  // A serial scan, so the position reported is the first one whatever the thread count.
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) fail("{}: weight at row {}, column {} is {}", method, i / n_cols, i % n_cols, w[i]);
  }
}

EncodedMatrix CalibratedQuantizerBase::encode(std::span<const float>, int, int) const {
  fail("{}: needs calibration activations (the inputs of each linear layer); quantize computes them from a "
       "llama2.c checkpoint",
       name());
}

void check_calibration(const std::string& method, int cols, const CalibrationData& c) {
  if (c.tokens <= 0 || c.x.size() != static_cast<size_t>(c.tokens) * static_cast<size_t>(cols)) {
    fail("{}: calibration holds {} values for {} tokens x {} columns", method, c.x.size(), c.tokens, cols);
  }
}

std::vector<std::string> quantizer_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

}  // namespace fq
