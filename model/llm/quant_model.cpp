#include "model/llm/quant_model.h"

#include "model/core/error.h"
#include "model/golden/act_quant.h"
#include "model/llm/quarot.h"
#include "model/quant/block_formats.h"
#include "model/quant/gptq.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/metrics.h"
#include "model/quant/quantease.h"
#include "model/quant/row_grid.h"

#include <fmt/format.h>

#include <array>
#include <functional>

namespace fq::llm {
namespace {

constexpr std::array<Linear, 7> kDecoderLinears = {Linear::kWq, Linear::kWk, Linear::kWv, Linear::kWo,
                                                   Linear::kW1, Linear::kW2, Linear::kW3};

// An activation quantizer: x ← dequantized x, in place, one token row.
using ActQuant = std::function<void(std::span<float>)>;

ActQuant int8_token_acts() {
  return [](std::span<float> x) {
    const auto q = quantize_activations(x, 1, static_cast<int>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) x[i] = q.scales[0] * static_cast<float>(q.q[i]);
  };
}

// QuaRot's activations (quantizers.md §1, §4.4): symmetric full range per token, clip c, rne.
ActQuant int_token_acts(int bits, double clip) {
  return [bits, clip](std::span<float> x) {
    std::vector<int8_t> q(x.size());
    const double scale = rtn_quantize(x, bits, clip, Rounding::kHalfEven, ScalePrecision::kDouble, q);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(scale * q[i]);
  };
}

ActQuant block_acts(const BlockSpec& spec) {
  return [spec](std::span<float> x) {
    const auto b = block_quantize(x, 1, static_cast<int>(x.size()), spec);
    std::copy(b.values.begin(), b.values.end(), x.begin());
  };
}

// Activation quantization before every decoder linear (never the classifier), after `inner`.
Hooks with_act_quant(Hooks inner, ActQuant acts) {
  if (!acts) return inner;
  auto before = inner.pre_linear;
  inner.pre_linear = [before, acts](int layer, Linear which, std::span<float> x) {
    if (before) before(layer, which, x);
    if (which != Linear::kCls) acts(x);
  };
  return inner;
}

double weight_sqnr(const std::vector<float>& w, std::span<const float> w_hat) {
  double signal = 0, error = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double d = static_cast<double>(w[i]) - static_cast<double>(w_hat[i]);
    signal += static_cast<double>(w[i]) * static_cast<double>(w[i]);
    error += d * d;
  }
  return sqnr_db(signal, error);
}

struct LinearResult {
  std::vector<float> w_hat;
  double bits_per_weight = 0;
};
// Quantizes one decoder linear; `x` is its captured calibration input [tokens, cols] (empty when
// the method needs none).
using LinearQuant = std::function<LinearResult(int layer, Linear which, const std::vector<float>& w, int rows,
                                               int cols, const std::vector<float>& x)>;

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// A quantizer of the registry (fineq, rtn): the stored matrix, dequantized.
LinearQuant registry_quant(std::shared_ptr<const IQuantizer> q) {
  return [q](int, Linear, const std::vector<float>& w, int rows, int cols, const std::vector<float>&) {
    const auto m = q->encode(w, rows, cols);
    return LinearResult{dequantize(m), bits_per_weight(m)};
  };
}

// A calibrated quantizer of the registry (fineq-gptq, fineq-quantease): the stored matrix, dequantized.
LinearQuant calibrated_registry_quant(std::shared_ptr<const IQuantizer> q) {
  return [q](int, Linear, const std::vector<float>& w, int rows, int cols, const std::vector<float>& x) {
    const int tokens = static_cast<int>(x.size() / static_cast<size_t>(cols));
    const auto m = q->encode_calibrated(w, rows, cols, {x, tokens});
    return LinearResult{dequantize(m), bits_per_weight(m)};
  };
}

Rounding rounding_option(const Params& p, const char* fallback) {
  return parse_rounding(p.get_choice("rounding", fallback, {"half_away", "rne"}), "rounding");
}

bool flag_option(const Params& p, const std::string& key, bool fallback) {
  return p.get_int(key, fallback ? 1 : 0, 0, 1) != 0;
}

LinearQuant gptq_quant(const GptqOptions& opt) {
  return [opt](int, Linear, const std::vector<float>& w, int rows, int cols, const std::vector<float>& x) {
    const int tokens = static_cast<int>(x.size() / static_cast<size_t>(cols));
    const auto h = hessian_from_activations(x, tokens, cols);
    const auto r = gptq_quantize(w, rows, cols, h, opt);
    // One FP16 scale (and zero point when asymmetric) per grid; the golden model keeps them in double.
    const double side = (opt.symmetric ? 16.0 : 32.0) * r.groups / cols;
    return LinearResult{to_float(r.w_hat), opt.bits + side};
  };
}

LinearQuant quantease_quant(const QuantEaseOptions& opt) {
  return [opt](int, Linear, const std::vector<float>& w, int rows, int cols, const std::vector<float>& x) {
    const int tokens = static_cast<int>(x.size() / static_cast<size_t>(cols));
    auto sigma = hessian_from_activations(x, tokens, cols);
    for (double& s : sigma) s *= tokens / 2.0;  // H = (2/n)·XᵀX; QuantEase minimises with Σ = XᵀX
    const auto r = quantease_quantize(w, rows, cols, sigma, opt);
    std::vector<float> w_hat(r.w_hat.size());
    for (size_t i = 0; i < w_hat.size(); ++i) w_hat[i] = static_cast<float>(r.w_hat[i] + r.outliers[i]);
    const double n = static_cast<double>(rows) * cols;
    double bits = opt.bits + (opt.symmetric ? 16.0 : 32.0) / cols;
    // Outliers in FP16: unstructured with a 32-bit position each; structured as whole columns
    // (a 32-bit column index per column).
    if (opt.structured_outliers) {
      bits += (16.0 * rows + 32.0) * static_cast<double>(r.outlier_columns.size()) / n;
    } else {
      bits += 48.0 * static_cast<double>(r.outlier_count) / n;
    }
    return LinearResult{std::move(w_hat), bits};
  };
}

LinearQuant block_quant(const BlockSpec& spec) {
  return [spec](int, Linear, const std::vector<float>& w, int rows, int cols, const std::vector<float>&) {
    auto b = block_quantize(w, rows, cols, spec);
    return LinearResult{std::move(b.values), block_bits_per_element(spec)};
  };
}

// Options that belong to the evaluation, not to the registry quantizer.
Params without(const Params& options, std::initializer_list<const char*> keys) {
  Params out(options.context());
  for (const auto& [k, v] : options.values()) {
    bool skip = false;
    for (const char* key : keys) skip = skip || k == key;
    if (!skip) out.set(k, v);
  }
  return out;
}

ActQuant simple_acts(const Params& options, const char* fallback, std::string& label) {
  const auto acts = options.get_choice("acts", fallback, {"fp32", "int8"});
  label = acts == "int8" ? "int8/token" : "fp32";
  return acts == "int8" ? int8_token_acts() : ActQuant{};
}

enum class CalibrationMode { kNone, kSequential, kFp32 };

// Option `calib` of the methods that calibrate: sequential (default) or fp32.
CalibrationMode calibration_option(const Params& options) {
  const bool fp32 = options.get_choice("calib", "sequential", {"sequential", "fp32"}) == "fp32";
  return fp32 ? CalibrationMode::kFp32 : CalibrationMode::kSequential;
}

const char* calibration_name(CalibrationMode mode) { return mode == CalibrationMode::kFp32 ? "fp32" : "sequential"; }

// Replaces the decoder linears of m.weights (which start as `reference`) layer by layer. With
// calibration, layer l's inputs come from `calib` run through `hooks` and either the reference
// (kFp32: one capture for all layers) or m.weights as it stands, its layers < l already quantized
// (kSequential: one capture per layer, as the reference GPTQ and QuantEase code do).
void apply_linears(const LlamaWeights& reference, QuantizedModel& m, const LinearQuant& quant, CalibrationMode mode,
                   const Hooks& hooks, const std::vector<std::vector<int>>& calib) {
  const LlamaConfig& c = reference.config;
  double bits = 0, weights = 0;
  const std::vector<float> none;
  if (mode != CalibrationMode::kNone && calib.empty()) fail("{}: needs calibration sequences", m.method);
  std::vector<std::map<Linear, std::vector<float>>> inputs;
  if (mode == CalibrationMode::kFp32) inputs = capture_linear_inputs(reference, hooks, calib);
  for (int layer = 0; layer < c.n_layers; ++layer) {
    if (mode == CalibrationMode::kSequential) inputs = capture_linear_inputs(m.weights, hooks, calib, layer);
    for (const Linear which : kDecoderLinears) {
      const auto& w = reference.linear(layer, which);
      const int rows = c.rows(which), cols = c.cols(which);
      const auto& x = mode != CalibrationMode::kNone ? inputs[static_cast<size_t>(layer)].at(which) : none;
      auto r = [&] {
        try {
          return quant(layer, which, w, rows, cols, x);
        } catch (const Error& e) {
          fail("{}: {}: {}", m.method, tensor_name(layer, which), e.what());
        }
      }();
      m.linears.push_back({tensor_name(layer, which), rows, cols, weight_sqnr(w, r.w_hat), r.bits_per_weight});
      const double n = static_cast<double>(rows) * cols;
      bits += r.bits_per_weight * n;
      weights += n;
      m.weights.linear(layer, which) = std::move(r.w_hat);
    }
  }
  m.bits_per_weight = bits / weights;
}

QuantizedModel make_quarot(const LlamaWeights& fp32, const Params& p, const std::vector<std::vector<int>>& calib) {
  const auto weights = p.get_choice("weights", "gptq", {"rtn", "gptq"});
  const int w_bits = static_cast<int>(p.get_int("w_bits", 4, 2, 8));
  const int a_bits = static_cast<int>(p.get_int("a_bits", 4, 0, 8));
  const double a_clip = p.get_double("a_clip", 0.9);
  const int kv_bits = static_cast<int>(p.get_int("kv_bits", 4, 0, 8));
  const double kv_clip = p.get_double("kv_clip", 0.95);
  const auto seed = static_cast<uint64_t>(p.get_int("rotation_seed", 0, 0, INT64_MAX));
  if (weights == "rtn" && p.has("calib")) fail("{}: option 'calib' applies to weights gptq only", p.context());
  const CalibrationMode mode = weights == "gptq" ? calibration_option(p) : CalibrationMode::kNone;
  if (a_bits == 1 || kv_bits == 1) fail("{}: a_bits and kv_bits are 0 (off) or 2..8", p.context());
  if (!(a_clip > 0 && a_clip <= 1) || !(kv_clip > 0 && kv_clip <= 1)) {
    fail("{}: a_clip and kv_clip must be in (0, 1]", p.context());
  }
  p.check_all_used();

  auto rot = rotate_llama(fp32, seed);
  QuantizedModel m;
  m.method = "quarot";
  m.weights = rot.weights;
  m.options = {{"weights", weights},         {"w_bits", std::to_string(w_bits)},
               {"a_bits", std::to_string(a_bits)}, {"a_clip", fmt::format("{}", a_clip)},
               {"kv_bits", std::to_string(kv_bits)}, {"kv_clip", fmt::format("{}", kv_clip)},
               {"rotation_seed", std::to_string(seed)}};
  if (mode != CalibrationMode::kNone) m.options["calib"] = calibration_name(mode);
  m.label = fmt::format("quarot w{}a{}kv{} ({}{})", w_bits, a_bits, kv_bits, weights,
                        mode == CalibrationMode::kFp32 ? ", fp32 calib" : "");
  m.activations = a_bits ? fmt::format("int{}/token c{}", a_bits, a_clip) : "fp32";
  const int head = fp32.config.head_size();
  m.kv_cache = kv_bits ? fmt::format("int{} asym g{} c{}", kv_bits, head, kv_clip) : "fp32";

  LinearQuant quant;
  if (weights == "gptq") {
    GptqOptions opt;
    opt.bits = w_bits;
    quant = gptq_quant(opt);
  } else {
    Params rtn("quarot weights");
    rtn.set("bits", std::to_string(w_bits));
    rtn.set("clip", "mse");
    rtn.set("rounding", "rne");
    quant = registry_quant(make_quantizer("rtn", rtn));
  }
  // Calibration runs the rotated model with its online transforms but FP32 activations and KV
  // cache, as QuaRot's code runs GPTQ before it enables the activation quantizers.
  apply_linears(rot.weights, m, quant, mode, rot.hooks, calib);

  Hooks hooks = with_act_quant(rot.hooks, a_bits ? int_token_acts(a_bits, a_clip) : ActQuant{});
  if (kv_bits) {
    auto rotate = hooks.post_rope;
    hooks.post_rope = [rotate, kv_bits, kv_clip, head](int layer, int pos, std::span<float> q, std::span<float> k,
                                                      std::span<float> v) {
      rotate(layer, pos, q, k, v);
      // Asymmetric groups of one head (quantizers.md §1: the KV path does not force 0 into range).
      const GridSpec spec{kv_bits, false, false};
      std::vector<double> g(static_cast<size_t>(head));
      for (const auto kv : {k, v}) {
        for (size_t b = 0; b < kv.size(); b += g.size()) {
          for (size_t i = 0; i < g.size(); ++i) g[i] = kv[b + i];
          const RowGrid grid = fit_grid(g, spec, kv_clip, Rounding::kHalfEven);
          for (size_t i = 0; i < g.size(); ++i) kv[b + i] = static_cast<float>(grid.quantize(g[i], Rounding::kHalfEven));
        }
      }
    };
  }
  m.hooks = std::move(hooks);
  return m;
}

}  // namespace

std::vector<std::string> model_method_names() {
  return {"fp32", "fineq", "fineq-gptq", "fineq-quantease", "rtn", "gptq", "quantease", "quarot", "bfp", "mxint8", "mxfp4"};
}

std::vector<std::map<Linear, std::vector<float>>> capture_linear_inputs(
    const LlamaWeights& weights, const Hooks& hooks, const std::vector<std::vector<int>>& sequences, int only_layer) {
  std::vector<std::map<Linear, std::vector<float>>> inputs(static_cast<size_t>(weights.config.n_layers));
  Hooks capture = hooks;
  capture.pre_linear = [&](int layer, Linear which, std::span<float> x) {
    if (hooks.pre_linear) hooks.pre_linear(layer, which, x);
    if (which == Linear::kCls || (only_layer >= 0 && layer != only_layer)) return;
    auto& rows = inputs[static_cast<size_t>(layer)][which];
    rows.insert(rows.end(), x.begin(), x.end());
  };
  LlamaRunner runner(weights, capture);
  for (const auto& seq : sequences) {
    runner.reset();
    for (size_t pos = 0; pos < seq.size(); ++pos) runner.forward(seq[pos], static_cast<int>(pos));
  }
  return inputs;
}

QuantizedModel quantize_model(const LlamaWeights& fp32, const std::string& method, const Params& options,
                              const std::vector<std::vector<int>>& calibration) {
  if (method == "quarot") return make_quarot(fp32, options, calibration);

  QuantizedModel m;
  m.method = method;
  m.weights = fp32;
  m.activations = "fp32";
  m.kv_cache = "fp32";
  LinearQuant quant;
  ActQuant acts;
  CalibrationMode mode = CalibrationMode::kNone;
  if (method == "fp32") {
    m.label = "fp32";
    options.check_all_used();
    m.bits_per_weight = 32;
    for (int layer = 0; layer < fp32.config.n_layers; ++layer) {
      for (const Linear which : kDecoderLinears) {
        m.linears.push_back({tensor_name(layer, which), fp32.config.rows(which), fp32.config.cols(which),
                             weight_sqnr(fp32.linear(layer, which), fp32.linear(layer, which)), 32.0});
      }
    }
    return m;
  } else if (method == "fineq" || method == "rtn") {
    acts = simple_acts(options, method == "fineq" ? "int8" : "fp32", m.activations);
    std::shared_ptr<const IQuantizer> q = make_quantizer(method, without(options, {"acts"}));
    for (const auto& [key, value] : options.values()) options.get_string(key, value);  // checked by the quantizer
    m.options = q->describe();
    m.label = method == "fineq" ? fmt::format("fineq {}", m.options.at("policy"))
                                : fmt::format("rtn w{}", m.options.at("bits"));
    quant = registry_quant(q);
  } else if (method == "fineq-gptq" || method == "fineq-quantease") {
    acts = simple_acts(options, "int8", m.activations);
    mode = calibration_option(options);
    std::shared_ptr<const IQuantizer> q = make_quantizer(method, without(options, {"acts", "calib"}));
    for (const auto& [key, value] : options.values()) options.get_string(key, value);  // checked by the quantizer
    m.options = q->describe();
    // Non-default choices are named, so that table rows stay distinct.
    m.label = fmt::format("{} {}", method, m.options.at("policy"));
    if (m.options.at("scale") != "output") m.label += fmt::format(" scale {}", m.options.at("scale"));
    if (m.options.count("init") != 0 && m.options.at("init") != "gptq") m.label += fmt::format(" init {}", m.options.at("init"));
    quant = calibrated_registry_quant(q);
  } else if (method == "gptq") {
    GptqOptions opt;
    opt.bits = static_cast<int>(options.get_int("bits", 4, 2, 8));
    opt.group_size = static_cast<int>(options.get_int("group", 0, 0, 1 << 20));
    opt.block_size = static_cast<int>(options.get_int("block", 128, 1, 1 << 20));
    opt.damp = options.get_double("damp", 0.01);
    opt.act_order = flag_option(options, "act_order", false);
    opt.clip_search = options.get_choice("clip", "mse", {"none", "mse"}) == "mse";
    opt.norm = options.get_double("norm", 2.4);
    opt.symmetric = flag_option(options, "sym", true);
    acts = simple_acts(options, "fp32", m.activations);
    m.options = {{"bits", std::to_string(opt.bits)},       {"group", std::to_string(opt.group_size)},
                 {"block", std::to_string(opt.block_size)}, {"damp", fmt::format("{}", opt.damp)},
                 {"act_order", opt.act_order ? "1" : "0"},  {"clip", opt.clip_search ? "mse" : "none"},
                 {"norm", fmt::format("{}", opt.norm)},     {"sym", opt.symmetric ? "1" : "0"}};
    m.label = fmt::format("gptq w{}", opt.bits);
    mode = calibration_option(options);
    quant = gptq_quant(opt);
  } else if (method == "quantease") {
    QuantEaseOptions opt;
    opt.bits = static_cast<int>(options.get_int("bits", 3, 2, 8));
    opt.symmetric = flag_option(options, "sym", false);
    opt.sweeps = static_cast<int>(options.get_int("sweeps", 30, 1, 1000));
    opt.act_order = flag_option(options, "act_order", false);
    opt.relaxed_schedule = flag_option(options, "relaxed", false);
    opt.outlier_fraction = options.get_double("outliers", 0.0);
    opt.structured_outliers = flag_option(options, "structured", false);
    if (!(opt.outlier_fraction >= 0 && opt.outlier_fraction < 1)) fail("{}: outliers must be in [0, 1)", options.context());
    acts = simple_acts(options, "fp32", m.activations);
    m.options = {{"bits", std::to_string(opt.bits)},          {"sym", opt.symmetric ? "1" : "0"},
                 {"sweeps", std::to_string(opt.sweeps)},      {"act_order", opt.act_order ? "1" : "0"},
                 {"relaxed", opt.relaxed_schedule ? "1" : "0"}, {"outliers", fmt::format("{}", opt.outlier_fraction)},
                 {"structured", opt.structured_outliers ? "1" : "0"}};
    m.label = opt.outlier_fraction > 0
                  ? fmt::format("quantease w{} +{}% {}", opt.bits, 100 * opt.outlier_fraction,
                                opt.structured_outliers ? "cols" : "outliers")
                  : fmt::format("quantease w{}", opt.bits);
    mode = calibration_option(options);
    quant = quantease_quant(opt);
  } else if (method == "bfp" || method == "mxint8" || method == "mxfp4") {
    const BlockKind kind = parse_block_kind(method, "method");
    const int bits = kind == BlockKind::kBfp ? static_cast<int>(options.get_int("bits", 6, 4, 8))
                                             : (kind == BlockKind::kMxint8 ? 8 : 4);
    BlockSpec spec = make_block_spec(kind, bits, rounding_option(options, kind == BlockKind::kBfp ? "rne" : "half_away"));
    if (kind == BlockKind::kBfp) spec.block = static_cast<int>(options.get_int("block", 16, 1, 4096));
    validate_block_spec(spec);
    const bool same = options.get_choice("acts", "same", {"same", "fp32"}) == "same";
    m.options = {{"bits", std::to_string(spec.bits)},
                 {"block", std::to_string(spec.block)},
                 {"rounding", rounding_name(spec.rounding)},
                 {"acts", same ? "same" : "fp32"}};
    m.label = kind == BlockKind::kBfp ? fmt::format("bfp{}", bits) : method;
    if (same) {
      acts = block_acts(spec);
      m.activations = m.label;
    }
    quant = block_quant(spec);
  } else {
    std::string known;
    for (const auto& n : model_method_names()) known += fmt::format("{}{}", known.empty() ? "" : ", ", n);
    fail("unknown method '{}' (known: {})", method, known);
  }
  options.check_all_used();
  if (method != "bfp" && method != "mxint8" && method != "mxfp4") m.options["acts"] = m.activations == "fp32" ? "fp32" : "int8";
  if (mode != CalibrationMode::kNone) {
    m.options["calib"] = calibration_name(mode);
    if (mode == CalibrationMode::kFp32) m.label += " (fp32 calib)";
  }
  // Calibration runs the weights only: FP32 activations, as the reference GPTQ and QuantEase code.
  apply_linears(fp32, m, quant, mode, {}, calibration);
  m.hooks = with_act_quant({}, acts);
  return m;
}

}  // namespace fq::llm
