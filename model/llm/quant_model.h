// Quantized variants of a LLaMA model, for accuracy evaluation (`evaluate`, docs/accuracy.md).
// Contract: quantize_model() applies one method, chosen by name, to the 7·n_layers decoder linears
// (wq … w3): their weights are replaced by the dequantized values the method produces, and the
// returned hooks quantize activations (and the KV cache) where the method does. The token
// embedding, the norms and the classifier stay FP32 for every method, so the methods differ only
// in what they do to the decoder linears. Options are checked like quantizer options: an unknown
// option or value is an fq::Error naming it. Results do not depend on the thread count.
//
// Methods and options (defaults in brackets):
//   fineq      policy [ratio]|mse, threshold [4], group [0], acts fp32|[int8]
//   fineq-gptq       policy [ratio]|mse, threshold [4], block [126], damp [0.01], acts fp32|[int8],
//                    calib [sequential]|fp32
//   fineq-quantease  policy, threshold, init fineq|[gptq], sweeps [20], block, damp (init gptq only),
//                    acts fp32|[int8], calib [sequential]|fp32
//   rtn        bits [4], group [0], clip [none]|mse, norm [2.4], rounding [half_away]|rne, acts [fp32]|int8
//   gptq       bits [4], group [0], block [128], damp [0.01], act_order [0], clip none|[mse], norm [2.4],
//              sym [1], acts [fp32]|int8, calib [sequential]|fp32
//   quantease  bits [3], sym [0], sweeps [30], act_order [0], relaxed [0], outliers [0] (fraction),
//              structured [0], acts [fp32]|int8, calib [sequential]|fp32
//   quarot     weights rtn|[gptq], w_bits [4], a_bits [4] (0: FP32 activations), a_clip [0.9],
//              kv_bits [4] (0: FP32 cache), kv_clip [0.95], rotation_seed [0],
//              calib [sequential]|fp32 (weights gptq only)
//   bfp        bits 8|[6]|4, block [16], rounding [rne]|half_away, acts [same]|fp32
//   mxint8, mxfp4   rounding [half_away]|rne, acts [same]|fp32
//   fp32       (no options): the reference itself
// gptq, quantease, quarot with gptq weights, fineq-gptq and fineq-quantease need calibration
// sequences. calib sequential (the default, as the reference GPTQ/QuantEase code): layer l is
// calibrated on the inputs the model produces with layers 0..l-1 already quantized (weights only:
// activations and KV cache FP32 during calibration; quarot with its online Hadamard transforms).
// calib fp32: every layer on the inputs of the FP32 (for quarot: rotated FP32) model.
#pragma once

#include "model/core/params.h"
#include "model/llm/llama.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fq::llm {

struct LinearReport {
  std::string tensor;  // "layers.0.wq"
  int rows = 0, cols = 0;
  double sqnr_db = 0;          // weights, against the FP32 (for quarot: rotated FP32) weights
  double bits_per_weight = 0;  // storage of codes, scales, zero points and outliers
};

struct QuantizedModel {
  std::string method;
  std::map<std::string, std::string> options;  // every option, resolved
  std::string label;                           // short name for tables, e.g. "gptq w3"
  std::string activations;                     // e.g. "fp32", "int8/token", "int4/token c0.9", "bfp6"
  std::string kv_cache;                        // "fp32" or e.g. "int4 asym g8 c0.95"
  LlamaWeights weights;
  Hooks hooks;
  double bits_per_weight = 0;  // over all decoder linears, weighted by their sizes
  std::vector<LinearReport> linears;
};

std::vector<std::string> model_method_names();

// `calibration`: token sequences (each from BOS) whose linear inputs calibrate the methods above.
QuantizedModel quantize_model(const LlamaWeights& fp32, const std::string& method, const Params& options,
                              const std::vector<std::vector<int>>& calibration);

// The inputs of every decoder linear while `weights` (with `hooks`) runs `sequences`, one row per
// token: result[layer][which] is [tokens, cols] row-major; with only_layer >= 0 the other layers'
// maps stay empty. Sequential, so hooks need not be thread-safe.
std::vector<std::map<Linear, std::vector<float>>> capture_linear_inputs(
    const LlamaWeights& weights, const Hooks& hooks, const std::vector<std::vector<int>>& sequences,
    int only_layer = -1);

}  // namespace fq::llm
