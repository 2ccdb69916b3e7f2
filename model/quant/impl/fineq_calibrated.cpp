// Quantizers "fineq-gptq" and "fineq-quantease": FineQ-R code bytes chosen against the layer's
// calibration inputs (model/quant/fineq_calibrated.h). The per-row FP16 scale is plain fineq's, fitted
// on the original row; the bytes are ordinary FineQ-R codes that the plain codec decodes.
#include "model/core/error.h"
#include "model/quant/fineq_calibrated.h"
#include "model/quant/gptq.h"
#include "model/quant/impl/factories.h"
#include "model/quant/impl/fineq_options.h"

#include <fmt/format.h>

#include <climits>

namespace fq::impl {
namespace {

FineqGptqOptions gptq_options(const Params& options) {
  FineqGptqOptions opt;
  const FineqModeOptions mode = read_fineq_mode(options);
  opt.policy = mode.policy;
  opt.threshold = mode.threshold;
  opt.scale = options.get_choice("scale", "output", {"weights", "output"}) == "output" ? FineqScale::kOutput
                                                                                       : FineqScale::kWeights;
  return opt;
}

// block and damp: the GPTQ part's options.
void gptq_part(const Params& options, FineqGptqOptions& opt) {
  opt.block_size = static_cast<int>(options.get_int("block", 126, 3, INT_MAX));
  if (opt.block_size % 3 != 0) {
    fail("{}: option 'block' must be a multiple of 3 (whole clusters), got {}", options.context(), opt.block_size);
  }
  opt.damp = options.get_double("damp", 0.01);
  if (!(opt.damp >= 0)) fail("{}: option 'damp' must be >= 0, got {}", options.context(), opt.damp);
}

EncodedMatrix store(const FineqCalibratedResult& r, const std::string& who) {
  EncodedMatrix m;
  m.format = HwFormat::kFineqR;
  m.rows = r.rows;
  m.cols = r.cols;
  m.cols_padded = r.cols_padded;
  m.group_size = 0;
  m.codes = r.codes;
  m.scales = r.scales;
  validate(m, fmt::format("{} output", who));
  return m;
}

std::map<std::string, std::string> describe_start(const FineqGptqOptions& o) {
  std::map<std::string, std::string> d{{"scale", o.scale == FineqScale::kOutput ? "output" : "weights"}};
  describe_fineq_mode(o.policy, o.threshold, d);
  return d;
}

// Base of both: the calibration checks, the Hessian and the storage.
class FineqCalibrated : public CalibratedQuantizerBase {
 public:
  EncodedMatrix encode_calibrated(std::span<const float> w, int rows, int cols,
                                  const CalibrationData& calib) const override {
    check_weights(w, rows, cols, name());
    check_calibration(name(), cols, calib);
    return store(run(w, rows, cols, hessian_from_activations(calib.x, calib.tokens, cols)), name());
  }

 protected:
  virtual FineqCalibratedResult run(std::span<const float> w, int rows, int cols,
                                    const std::vector<double>& h) const = 0;
};

class FineqGptqQuantizer final : public FineqCalibrated {
 public:
  explicit FineqGptqQuantizer(const Params& options) : m_opt(gptq_options(options)) { gptq_part(options, m_opt); }
  std::string name() const override { return "fineq-gptq"; }
  std::map<std::string, std::string> describe() const override {
    auto d = describe_start(m_opt);
    d["block"] = fmt::format("{}", m_opt.block_size);
    d["damp"] = fmt::format("{}", m_opt.damp);
    return d;
  }

 private:
  FineqCalibratedResult run(std::span<const float> w, int rows, int cols, const std::vector<double>& h) const override {
    return fineq_gptq_quantize(w, rows, cols, h, m_opt);
  }

  FineqGptqOptions m_opt;
};

class FineqQuantEaseQuantizer final : public FineqCalibrated {
 public:
  explicit FineqQuantEaseQuantizer(const Params& options) {
    m_opt.start = gptq_options(options);
    m_opt.init = options.get_choice("init", "gptq", {"fineq", "gptq"}) == "gptq" ? FineqCdInit::kGptq : FineqCdInit::kFineq;
    m_opt.sweeps = static_cast<int>(options.get_int("sweeps", 20, 1, 10000));
    if (m_opt.init == FineqCdInit::kGptq) {
      gptq_part(options, m_opt.start);
    } else if (options.has("block") || options.has("damp")) {
      fail("{}: options 'block' and 'damp' belong to init gptq (init is fineq)", options.context());
    }
  }
  std::string name() const override { return "fineq-quantease"; }
  std::map<std::string, std::string> describe() const override {
    auto d = describe_start(m_opt.start);
    d["init"] = m_opt.init == FineqCdInit::kGptq ? "gptq" : "fineq";
    d["sweeps"] = fmt::format("{}", m_opt.sweeps);
    if (m_opt.init == FineqCdInit::kGptq) {
      d["block"] = fmt::format("{}", m_opt.start.block_size);
      d["damp"] = fmt::format("{}", m_opt.start.damp);
    }
    return d;
  }

 private:
  FineqCalibratedResult run(std::span<const float> w, int rows, int cols, const std::vector<double>& h) const override {
    return fineq_quantease_quantize(w, rows, cols, h, m_opt);
  }

  FineqCdOptions m_opt;
};

}  // namespace

std::unique_ptr<IQuantizer> make_fineq_gptq(const Params& options) {
  return std::make_unique<FineqGptqQuantizer>(options);
}
std::unique_ptr<IQuantizer> make_fineq_quantease(const Params& options) {
  return std::make_unique<FineqQuantEaseQuantizer>(options);
}

}  // namespace fq::impl
