// Factories of the registered quantizers; only model/quant/registry.cpp calls them.
#pragma once

#include "model/quant/i_quantizer.h"

namespace fq::impl {

std::unique_ptr<IQuantizer> make_fineq_r(const Params& options);  // "fineq": fineq_r.cpp
std::unique_ptr<IQuantizer> make_rtn(const Params& options);      // "rtn": rtn_int.cpp

}  // namespace fq::impl
