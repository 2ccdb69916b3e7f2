#include "model/llm/int_path.h"

#include "model/core/error.h"
#include "model/golden/act_quant.h"
#include "model/golden/int_gemm.h"
#include "model/quant/i_quantizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace fq::llm {
namespace {

size_t slot(const LlamaConfig& c, int layer, Linear which) {
  if (layer < 0 || layer >= c.n_layers) fail("integer path: layer {} is outside [0, {})", layer, c.n_layers);
  return static_cast<size_t>(layer) * kIntPathLinears.size() + static_cast<size_t>(linear_index(which));
}

// The accelerator runs FineQ-R and INTb codes with one FP16 scale per output row (docs/isa.md).
void check_hardware(const QTensor& t, const LlamaConfig& c, Linear which, const std::string& origin) {
  const EncodedMatrix& m = t.matrix;
  if (m.format != HwFormat::kFineqR && format_int_bits(m.format) == 0) {
    fail("{}: {} is {}, which no accelerator runs (the integer path needs fineq_r or int8/4/3/2 codes)", origin,
         t.name, format_name(m.format));
  }
  if (m.group_size != 0) {
    fail("{}: {} has group size {}; the accelerator dequantises with one scale per row (group 0)", origin, t.name,
         m.group_size);
  }
  if (m.rows != c.rows(which) || m.cols != c.cols(which)) {
    fail("{}: {} is [{}, {}], the model needs [{}, {}]", origin, t.name, m.rows, m.cols, c.rows(which), c.cols(which));
  }
  validate(m, fmt::format("{}: {}", origin, t.name));
}

uint64_t fnv1a(std::span<const float> v) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const float f : v) {
    uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int b = 0; b < 4; ++b) {
      h ^= (bits >> (8 * b)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  return h;
}

}  // namespace

int linear_index(Linear which) {
  for (size_t i = 0; i < kIntPathLinears.size(); ++i) {
    if (kIntPathLinears[i] == which) return static_cast<int>(i);
  }
  fail("linear {} is not a decoder linear", linear_name(which));
}

const QTensor& IntPathModel::linear(int layer, Linear which) const {
  return linears.at(slot(weights.config, layer, which));
}

void quantize_classifier(IntPathModel& m, const std::string& method, const Params& options) {
  const auto quantizer = make_quantizer(method, options);
  if (quantizer->needs_calibration()) {
    fail("integer path: method '{}' needs calibration data; quantize it to a .q file and pass that", method);
  }
  const LlamaConfig& c = m.weights.config;
  QTensor t;
  t.name = tensor_name(-1, Linear::kCls);
  t.method = method;
  t.params = quantizer->describe();
  t.matrix = quantizer->encode(m.weights.classifier, c.rows(Linear::kCls), c.cols(Linear::kCls));
  check_hardware(t, c, Linear::kCls, fmt::format("integer path --method {}", method));
  m.classifier = std::move(t);
}

IntPathModel make_int_path(const LlamaWeights& fp32, const std::string& method, const Params& options,
                           bool classifier) {
  const auto quantizer = make_quantizer(method, options);
  if (quantizer->needs_calibration()) {
    fail("integer path: method '{}' needs calibration data; quantize it to a .q file and pass that", method);
  }
  IntPathModel m;
  m.method = method;
  m.options = quantizer->describe();
  m.weights = fp32;
  const LlamaConfig& c = fp32.config;
  const std::string origin = fmt::format("integer path --method {}", method);
  for (int layer = 0; layer < c.n_layers; ++layer) {
    for (const Linear which : kIntPathLinears) {
      QTensor t;
      t.name = tensor_name(layer, which);
      t.method = method;
      t.params = m.options;
      t.matrix = quantizer->encode(fp32.linear(layer, which), c.rows(which), c.cols(which));
      check_hardware(t, c, which, origin);
      m.linears.push_back(std::move(t));
    }
  }
  if (classifier) quantize_classifier(m, method, options);
  return m;
}

IntPathModel int_path_from_tensors(const LlamaWeights& fp32, std::vector<QTensor> tensors, const std::string& origin,
                                   bool classifier) {
  const LlamaConfig& c = fp32.config;
  IntPathModel m;
  m.method = "qfile";
  m.weights = fp32;
  m.linears.resize(static_cast<size_t>(c.n_layers) * kIntPathLinears.size());
  std::vector<bool> seen(m.linears.size(), false);
  for (QTensor& t : tensors) {
    const auto id = parse_tensor_name(t.name);
    if (classifier && id && id->second == Linear::kCls) {
      if (m.classifier) fail("{}: tensor '{}' appears twice", origin, t.name);
      check_hardware(t, c, Linear::kCls, origin);
      m.classifier = std::move(t);
      continue;
    }
    if (!id || id->first < 0 || id->first >= c.n_layers) {
      fail("{}: tensor '{}' is not a decoder linear of this {}-layer model", origin, t.name, c.n_layers);
    }
    const size_t s = slot(c, id->first, id->second);
    if (seen[s]) fail("{}: tensor '{}' appears twice", origin, t.name);
    check_hardware(t, c, id->second, origin);
    if (m.options.empty()) m.options = t.params;
    seen[s] = true;
    m.linears[s] = std::move(t);
  }
  for (size_t s = 0; s < seen.size(); ++s) {
    if (!seen[s]) {
      fail("{}: no tensor '{}'", origin,
           tensor_name(static_cast<int>(s / kIntPathLinears.size()), kIntPathLinears[s % kIntPathLinears.size()]));
    }
  }
  if (classifier && !m.classifier) fail("{}: no tensor 'output' (the classifier's codes, for --classifier accel)", origin);
  return m;
}

std::vector<float> int_linear(const QTensor& w, int rows, std::span<const float> x) {
  const QuantizedActs a = quantize_activations(x, rows, w.matrix.cols);
  return dequant(int_gemm(a, w.matrix), a, w.matrix);
}

void LinearDigests::record(int layer, Linear which, int rows, std::span<const float> out) {
  const size_t width = out.size() / static_cast<size_t>(rows);
  for (int t = 0; t < rows; ++t) {
    m_digests[{m_pos0 + t, layer, which == Linear::kCls ? -1 : linear_index(which)}] =
        fnv1a(out.subspan(static_cast<size_t>(t) * width, width));
  }
}

Hooks int_path_hooks(const IntPathModel& model, LinearDigests* digests) {
  Hooks h;
  h.linear = [&model, digests](int layer, Linear which, int rows, std::span<const float> x, std::span<float> out) {
    if (which == Linear::kCls && !model.classifier) return false;
    const std::vector<float> y = int_linear(which == Linear::kCls ? *model.classifier : model.linear(layer, which), rows, x);
    std::copy(y.begin(), y.end(), out.begin());
    if (digests) digests->record(layer, which, rows, out);
    return true;
  };
  return h;
}

DequantizedModel dequantized_model(const IntPathModel& model) {
  DequantizedModel d;
  d.weights = model.weights;
  const LlamaConfig& c = model.weights.config;
  for (int layer = 0; layer < c.n_layers; ++layer) {
    for (const Linear which : kIntPathLinears) d.weights.linear(layer, which) = dequantize(model.linear(layer, which).matrix);
  }
  const bool cls = model.classifier.has_value();
  if (cls) d.weights.classifier = dequantize(model.classifier->matrix);
  d.hooks.pre_linear = [cls](int, Linear which, std::span<float> x) {
    if (which == Linear::kCls && !cls) return;
    const auto q = quantize_activations(x, 1, static_cast<int>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) x[i] = q.scales[0] * static_cast<float>(q.q[i]);
  };
  return d;
}

GreedyRun greedy_after_prompt(const LlamaWeights& weights, const Hooks& hooks, std::span<const int> prompt, int steps,
                              bool batched_prefill, const std::function<void(int pos0, int rows)>& before_forward) {
  const int p = static_cast<int>(prompt.size());
  const int seq_len = weights.config.seq_len;
  if (p < 1) fail("greedy decoding: the prompt has no tokens");
  if (steps < 1) fail("greedy decoding: {} steps; give at least 1", steps);
  if (static_cast<int64_t>(p) + steps - 1 > seq_len) {
    fail("greedy decoding: {} prompt tokens and {} steps need {} positions, the model has seq_len {}", p, steps,
         p + steps - 1, seq_len);
  }
  const auto vocab = static_cast<size_t>(weights.config.vocab_size);
  LlamaRunner runner(weights, hooks);
  GreedyRun r;
  r.logits.reserve(static_cast<size_t>(steps) * vocab);
  auto take = [&](std::span<const float> last) {
    r.logits.insert(r.logits.end(), last.begin(), last.end());
    r.generated.push_back(first_argmax(last));
  };
  std::span<const float> last;
  if (batched_prefill) {
    if (before_forward) before_forward(0, p);
    last = runner.forward_batch(prompt, 0).last(vocab);
  } else {
    for (int pos = 0; pos < p; ++pos) {
      if (before_forward) before_forward(pos, 1);
      last = runner.forward(prompt[static_cast<size_t>(pos)], pos);
    }
  }
  take(last);
  for (int i = 1; i < steps; ++i) {
    const int pos = p + i - 1;
    if (before_forward) before_forward(pos, 1);
    take(runner.forward(r.generated.back(), pos));
  }
  return r;
}

}  // namespace fq::llm
