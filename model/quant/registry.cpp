#include "model/core/error.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/impl/factories.h"

#include <fmt/ranges.h>

namespace fq {
namespace {

using Factory = std::unique_ptr<IQuantizer> (*)(const Params&);

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> table = {
      {"fineq", &impl::make_fineq_r},
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

std::vector<std::string> quantizer_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

}  // namespace fq
