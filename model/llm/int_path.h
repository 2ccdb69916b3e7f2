// The golden integer-path quantized inference: model/llm's LLaMA with every decoder linear (wq … w3
// of every layer) computed the way the accelerator computes it (fineq-spec.md §4): the input row
// quantized to INT8 per token (quantize_activations), the exact int32 GEMM with the stored weight
// codes (int_gemm), then y = ((float)acc · s_w[n]) · s_a[m] (dequant). Everything else (embedding,
// RMSNorm, RoPE, attention with the FP32 KV cache, SwiGLU, residuals, the FP32 classifier) is
// model/llm's code, unchanged. It is the reference every accelerator run must equal bit for bit
// (sim/model_run.h, docs/model.md).
// Contract: results depend only on the weights, the codes and the tokens (never on the thread
// count or on how many tokens one forward_batch() call carries: every row is quantized, multiplied
// and dequantized on its own). Methods are those of the quantizer registry whose codes are a
// hardware format (fineq: FineQ-R; rtn with 8, 4, 3 or 2 bits) with one scale per row; anything
// else is an fq::Error naming the method and why.
#pragma once

#include "model/core/params.h"
#include "model/llm/llama.h"
#include "model/quant/encoded_matrix.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace fq::llm {

inline constexpr std::array<Linear, 7> kIntPathLinears = {Linear::kWq, Linear::kWk, Linear::kWv, Linear::kWo,
                                                          Linear::kW1, Linear::kW2, Linear::kW3};
// Index of a decoder linear in kIntPathLinears (0 .. 6); fq::Error for kCls.
int linear_index(Linear which);

struct IntPathModel {
  std::string method;                          // quantizer registry key, or "qfile" for read codes
  std::map<std::string, std::string> options;  // the quantizer's describe()
  LlamaWeights weights;                        // FP32: embedding, norms, classifier (and the
                                               // original decoder linears, which it never multiplies)
  std::vector<QTensor> linears;                // [layer · 7 + linear_index], named "layers.L.wq" …
  // The classifier's codes ("output") when it too runs on the integer path (simulate
  // --classifier accel); empty: the FP32 classifier of `weights`, on the host side.
  std::optional<QTensor> classifier;

  const QTensor& linear(int layer, Linear which) const;
};

// Quantizes the 7·n_layers decoder linears of `fp32` with `method` (registry options, e.g. bits),
// and the classifier as well when `classifier`.
IntPathModel make_int_path(const LlamaWeights& fp32, const std::string& method, const Params& options,
                           bool classifier = false);
// The classifier of `m.weights` quantized with `method` and `options` into m.classifier.
void quantize_classifier(IntPathModel& m, const std::string& method, const Params& options);
// The decoder linears from a .q file's tensors (each "layers.L.wq" … exactly once, shapes as the
// model's, a hardware format, one scale per row), and the classifier ("output") when `classifier`
// (then required); extra tensors are an error naming them.
IntPathModel int_path_from_tensors(const LlamaWeights& fp32, std::vector<QTensor> tensors, const std::string& origin,
                                   bool classifier = false);

// The golden integer linear of `rows` input rows x [rows, w.cols]: y [rows, w.rows].
std::vector<float> int_linear(const QTensor& w, int rows, std::span<const float> x);

// FNV-1a 64 of each output row of every linear, keyed (position, layer, linear_index): what lets
// two runs name the first linear whose output differs.
class LinearDigests {
 public:
  using Key = std::tuple<int, int, int>;
  void set_first_position(int pos0) { m_pos0 = pos0; }
  void record(int layer, Linear which, int rows, std::span<const float> out);
  const std::map<Key, uint64_t>& digests() const { return m_digests; }

 private:
  int m_pos0 = 0;
  std::map<Key, uint64_t> m_digests;
};

// Hooks whose `linear` runs int_linear() for every decoder linear (and the classifier when the model
// has its codes; otherwise it stays FP32) and,
// when `digests` is given, records each output.
Hooks int_path_hooks(const IntPathModel& model, LinearDigests* digests = nullptr);

// evaluate's dequantized-weight inference of the same codes (quant_model.h with acts int8): every
// decoder linear's weights replaced by dequantize(codes) and its input row by s_a · q of its INT8
// per-token quantization, all in FP32. `weights` of the result must outlive the hooks' use.
struct DequantizedModel {
  LlamaWeights weights;
  Hooks hooks;
};
DequantizedModel dequantized_model(const IntPathModel& model);

struct GreedyRun {
  std::vector<int> generated;  // `steps` ids
  std::vector<float> logits;   // [steps, vocab]: the logits each generated id is the arg-max of
};

// Greedy decoding after a prompt: the prompt fills positions 0 .. P-1 (one forward_batch() call when
// batched_prefill, else token by token), generated[0] is the first arg-max of the last prompt
// position's logits, and generated[i] (i ≥ 1) that of feeding generated[i-1] at position P+i-1.
// `before_forward(pos0, rows)` runs before each forward call with its first position and token
// count. Needs P ≥ 1, steps ≥ 1 and P + steps - 1 ≤ seq_len (fq::Error otherwise).
GreedyRun greedy_after_prompt(const LlamaWeights& weights, const Hooks& hooks, std::span<const int> prompt, int steps,
                              bool batched_prefill, const std::function<void(int pos0, int rows)>& before_forward = {});

}  // namespace fq::llm
