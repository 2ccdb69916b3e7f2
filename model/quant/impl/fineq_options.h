// The cluster-mode options shared by the FineQ-R quantizers (fineq, fineq-gptq, fineq-quantease).
#pragma once

#include "model/core/error.h"
#include "model/core/params.h"
#include "model/quant/fineq_encoder.h"

#include <fmt/format.h>

#include <map>
#include <string>

namespace fq::impl {

struct FineqModeOptions {
  FineqPolicy policy = FineqPolicy::kRatio;
  double threshold = 4.0;  // read under `ratio` only
};

// `threshold` is the ratio rule's; `mse` picks each cluster's mode by its error, so a threshold
// given with it would be accepted and ignored: refused instead.
inline FineqModeOptions read_fineq_mode(const Params& options) {
  FineqModeOptions o;
  o.policy = options.get_choice("policy", "ratio", {"ratio", "mse"}) == "mse" ? FineqPolicy::kMse : FineqPolicy::kRatio;
  if (o.policy == FineqPolicy::kRatio) {
    o.threshold = options.get_double("threshold", o.threshold);
    if (!(o.threshold > 0.0)) fail("{}: option 'threshold' must be > 0, got {}", options.context(), o.threshold);
  } else if (options.has("threshold")) {
    fail("{}: option 'threshold' applies to policy 'ratio' only (policy 'mse' picks each cluster's mode by its error)",
         options.context());
  }
  return o;
}

// describe() entries: the threshold only where it is used.
inline void describe_fineq_mode(FineqPolicy policy, double threshold, std::map<std::string, std::string>& d) {
  d["policy"] = policy == FineqPolicy::kMse ? "mse" : "ratio";
  if (policy == FineqPolicy::kRatio) d["threshold"] = fmt::format("{}", threshold);
}

}  // namespace fq::impl
