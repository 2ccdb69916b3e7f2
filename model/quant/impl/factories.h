// Factories of the registered quantizers; only model/quant/registry.cpp calls them.
#pragma once

#include "model/quant/i_quantizer.h"

namespace fq::impl {

std::unique_ptr<IQuantizer> make_fineq_r(const Params& options);  // "fineq": fineq_r.cpp
std::unique_ptr<IQuantizer> make_rtn(const Params& options);      // "rtn": rtn_int.cpp
std::unique_ptr<IQuantizer> make_gptq(const Params& options);     // "gptq": calibrated.cpp
std::unique_ptr<IQuantizer> make_quantease(const Params& options);  // "quantease": calibrated.cpp
std::unique_ptr<IQuantizer> make_fineq_gptq(const Params& options);       // "fineq-gptq": fineq_calibrated.cpp
std::unique_ptr<IQuantizer> make_fineq_quantease(const Params& options);  // "fineq-quantease": fineq_calibrated.cpp
std::unique_ptr<IQuantizer> make_bfp(const Params& options);      // "bfp": block.cpp
std::unique_ptr<IQuantizer> make_mxint8(const Params& options);   // "mxint8": block.cpp
std::unique_ptr<IQuantizer> make_mxfp4(const Params& options);    // "mxfp4": block.cpp

}  // namespace fq::impl
