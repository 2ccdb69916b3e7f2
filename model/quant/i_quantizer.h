// IQuantizer: turns an FP32 weight matrix into an EncodedMatrix; implementations are chosen by
// name (`quantize --method NAME`, YAML `quantizer: {impl: NAME}`).
// Contract: encode() is deterministic for the same inputs and options whatever the thread count;
// it rejects NaN/Inf weights with an fq::Error naming row and column; describe() lists every
// option with its resolved value, so make_quantizer(name(), describe()) rebuilds an equal one.
#pragma once

#include "model/core/params.h"
#include "model/quant/encoded_matrix.h"

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace fq {

// The inputs of one linear layer seen on calibration data: X [tokens, cols] row-major.
struct CalibrationData {
  std::span<const float> x;
  int tokens = 0;
};

class IQuantizer {
 public:
  virtual ~IQuantizer() = default;
  virtual std::string name() const = 0;
  virtual std::map<std::string, std::string> describe() const = 0;
  // W is [rows, cols] row-major FP32. Throws for a quantizer that needs_calibration().
  virtual EncodedMatrix encode(std::span<const float> w, int rows, int cols) const = 0;
  // Quantizers that minimise the layer's output error (gptq, quantease) need its inputs.
  virtual bool needs_calibration() const { return false; }
  virtual EncodedMatrix encode_calibrated(std::span<const float> w, int rows, int cols,
                                          const CalibrationData&) const {
    return encode(w, rows, cols);
  }
};

// Base of the quantizers that need calibration: encode() without it is an fq::Error.
class CalibratedQuantizerBase : public IQuantizer {
 public:
  bool needs_calibration() const override { return true; }
  EncodedMatrix encode(std::span<const float> w, int rows, int cols) const override;
};

// Builds the quantizer registered as `method`, reading its options from `options` (and
// rejecting options it does not know). Throws fq::Error for an unknown method, listing the known.
std::unique_ptr<IQuantizer> make_quantizer(const std::string& method, const Params& options);
std::vector<std::string> quantizer_names();

// For implementations: throws fq::Error (prefixed with `method`) unless W is a positive [rows, cols]
// shape of finite values; the first NaN/Inf in row-major order is named by row and column.
void check_weights(std::span<const float> w, int rows, int cols, const std::string& method);
// For calibrated implementations: throws fq::Error (prefixed with `method`) unless the calibration
// holds tokens >= 1 rows of `cols` values.
void check_calibration(const std::string& method, int cols, const CalibrationData& calibration);

}  // namespace fq
