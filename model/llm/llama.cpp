#include "model/llm/llama.h"

#include "model/core/error.h"
#include "model/core/parallel.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace fq::llm {
namespace {

constexpr Linear kLayerLinears[] = {Linear::kWq, Linear::kWk, Linear::kWv, Linear::kWo,
                                    Linear::kW1, Linear::kW2, Linear::kW3};

// out[i] = Σ_j w[i, j] · in[j], a float accumulation over ascending j as run.c's matmul. Four rows
// are interleaved only for instruction-level parallelism; each row keeps its own order.
void matmul(const float* w, const float* in, float* out, int rows, int cols) {
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float* w0 = w + static_cast<size_t>(i) * cols;
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int j = 0; j < cols; ++j) {
      a0 += w0[j] * in[j];
      a1 += w1[j] * in[j];
      a2 += w2[j] * in[j];
      a3 += w3[j] * in[j];
    }
    out[i] = a0;
    out[i + 1] = a1;
    out[i + 2] = a2;
    out[i + 3] = a3;
  }
  for (; i < rows; ++i) {
    const float* wr = w + static_cast<size_t>(i) * cols;
    float a = 0.0f;
    for (int j = 0; j < cols; ++j) a += wr[j] * in[j];
    out[i] = a;
  }
}

// run.c's rmsnorm; `out` may alias `in`.
void rmsnorm(float* out, const float* in, const float* weight, int size) {
  float ss = 0.0f;
  for (int j = 0; j < size; ++j) ss += in[j] * in[j];
  ss /= static_cast<float>(size);
  ss += 1e-5f;
  ss = 1.0f / std::sqrt(ss);
  for (int j = 0; j < size; ++j) out[j] = weight[j] * (ss * in[j]);
}

// run.c's softmax in float (attention scores only; metrics use double).
void softmax(float* x, int size) {
  float max_val = x[0];
  for (int i = 1; i < size; ++i) max_val = std::max(max_val, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < size; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < size; ++i) x[i] /= sum;
}

}  // namespace

int first_argmax(std::span<const float> v) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(v.size()); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

const char* linear_name(Linear which) {
  switch (which) {
    case Linear::kWq: return "wq";
    case Linear::kWk: return "wk";
    case Linear::kWv: return "wv";
    case Linear::kWo: return "wo";
    case Linear::kW1: return "w1";
    case Linear::kW2: return "w2";
    case Linear::kW3: return "w3";
    case Linear::kCls: return "output";
  }
  return "?";
}

std::string tensor_name(int layer, Linear which) {
  if (which == Linear::kCls) return linear_name(which);
  return fmt::format("layers.{}.{}", layer, linear_name(which));
}

std::optional<std::pair<int, Linear>> parse_tensor_name(const std::string& name) {
  if (name == "output") return std::pair{-1, Linear::kCls};
  constexpr std::string_view prefix = "layers.";
  if (name.rfind(prefix, 0) != 0) return std::nullopt;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 6) return std::nullopt;
  int layer = 0;
  for (size_t i = prefix.size(); i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    layer = layer * 10 + (name[i] - '0');
  }
  const std::string suffix = name.substr(dot + 1);
  for (const Linear which : kLayerLinears) {
    if (suffix == linear_name(which)) return std::pair{layer, which};
  }
  return std::nullopt;
}

int LlamaConfig::rows(Linear which) const {
  switch (which) {
    case Linear::kWq:
    case Linear::kWo:
    case Linear::kW2: return dim;
    case Linear::kWk:
    case Linear::kWv: return kv_dim();
    case Linear::kW1:
    case Linear::kW3: return hidden_dim;
    case Linear::kCls: return vocab_size;
  }
  return 0;
}

int LlamaConfig::cols(Linear which) const { return which == Linear::kW2 ? hidden_dim : dim; }

const std::vector<float>& LlamaWeights::linear(int layer, Linear which) const {
  if (which == Linear::kCls) return classifier;
  if (layer < 0 || layer >= static_cast<int>(layers.size())) {
    fail("linear {}: layer {} is outside [0, {})", linear_name(which), layer, layers.size());
  }
  const LlamaLayerWeights& l = layers[static_cast<size_t>(layer)];
  switch (which) {
    case Linear::kWq: return l.wq;
    case Linear::kWk: return l.wk;
    case Linear::kWv: return l.wv;
    case Linear::kWo: return l.wo;
    case Linear::kW1: return l.w1;
    case Linear::kW2: return l.w2;
    case Linear::kW3: return l.w3;
    case Linear::kCls: break;
  }
  return classifier;
}

std::vector<float>& LlamaWeights::linear(int layer, Linear which) {
  return const_cast<std::vector<float>&>(std::as_const(*this).linear(layer, which));
}

LlamaWeights load_llama(const ICheckpoint& ckpt) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const TensorInfo& t : ckpt.tensors()) shapes[t.name] = t.shape;
  const std::string& path = ckpt.path();
  auto shape_of = [&](const std::string& name) -> const std::vector<int64_t>& {
    const auto it = shapes.find(name);
    if (it == shapes.end()) fail("{}: not a llama2.c LLaMA checkpoint: no tensor '{}'", path, name);
    return it->second;
  };
  auto dim_of = [&](const std::string& name, size_t axis) {
    const auto& s = shape_of(name);
    if (s.size() <= axis) fail("{}: tensor '{}' has {} dimensions, expected more than {}", path, name, s.size(), axis);
    return static_cast<int>(s[axis]);
  };

  LlamaConfig c;
  c.vocab_size = dim_of("tok_embeddings", 0);
  c.dim = dim_of("tok_embeddings", 1);
  while (shapes.count(fmt::format("layers.{}.attention_norm", c.n_layers))) ++c.n_layers;
  if (c.n_layers == 0) fail("{}: not a llama2.c LLaMA checkpoint: no tensor 'layers.0.attention_norm'", path);
  // llama2.c stores the RoPE table [seq_len, head_size / 2]; run.c recomputes it but its shape is
  // the only record of seq_len and head_size.
  c.seq_len = dim_of("freq_cis_real", 0);
  const int head_size = 2 * dim_of("freq_cis_real", 1);
  if (head_size <= 0 || c.dim % head_size != 0) {
    fail("{}: freq_cis_real implies head size {}, which does not divide dim {}", path, head_size, c.dim);
  }
  c.n_heads = c.dim / head_size;
  const int kv_dim = dim_of("layers.0.wk", 0);
  if (kv_dim <= 0 || kv_dim % head_size != 0 || c.n_heads % (kv_dim / head_size) != 0) {
    fail("{}: layers.0.wk has {} rows, not a divisor of {} heads of size {}", path, kv_dim, c.n_heads, head_size);
  }
  c.n_kv_heads = kv_dim / head_size;
  c.hidden_dim = dim_of("layers.0.w1", 0);
  c.shared_classifier = shapes.count("output") == 0;

  auto load = [&](const std::string& name, std::vector<int64_t> expected) {
    if (shape_of(name) != expected) {
      fail("{}: tensor '{}' has shape [{}], expected [{}]", path, name, fmt::join(shape_of(name), ", "),
           fmt::join(expected, ", "));
    }
    std::vector<float> v = ckpt.load(name);
    if (const auto bad = find_non_finite(v)) fail("{}: tensor '{}' element {} is not finite", path, name, *bad);
    return v;
  };
  const int64_t D = c.dim, V = c.vocab_size;
  LlamaWeights w;
  w.config = c;
  w.token_embedding = load("tok_embeddings", {V, D});
  for (int l = 0; l < c.n_layers; ++l) {
    LlamaLayerWeights lw;
    lw.rms_att = load(fmt::format("layers.{}.attention_norm", l), {D});
    lw.rms_ffn = load(fmt::format("layers.{}.ffn_norm", l), {D});
    w.layers.push_back(std::move(lw));
    for (const Linear which : kLayerLinears) {
      w.linear(l, which) = load(tensor_name(l, which), {c.rows(which), c.cols(which)});
    }
  }
  w.rms_final = load("norm", {D});
  w.classifier = c.shared_classifier ? w.token_embedding : load("output", {V, D});
  return w;
}

LlamaRunner::LlamaRunner(const LlamaWeights& weights, Hooks hooks) : m_w(weights), m_hooks(std::move(hooks)) {
  const LlamaConfig& c = m_w.config;
  const auto u = [](int n) { return static_cast<size_t>(n); };
  if (c.dim <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 || c.dim % c.n_heads != 0 || c.head_size() % 2 != 0 ||
      c.n_heads % c.n_kv_heads != 0 || c.hidden_dim <= 0 || c.vocab_size <= 0 || c.seq_len <= 0 ||
      static_cast<int>(m_w.layers.size()) != c.n_layers) {
    fail("LlamaRunner: inconsistent config (dim {}, n_heads {}, n_kv_heads {}, {} of {} layers)", c.dim, c.n_heads,
         c.n_kv_heads, m_w.layers.size(), c.n_layers);
  }
  const auto check = [&](const std::vector<float>& v, int rows, int cols, const std::string& name) {
    if (v.size() != u(rows) * u(cols)) fail("LlamaRunner: {} has {} values, expected {} x {}", name, v.size(), rows, cols);
  };
  check(m_w.token_embedding, c.vocab_size, c.dim, "token_embedding");
  check(m_w.rms_final, 1, c.dim, "rms_final");
  check(m_w.classifier, c.vocab_size, c.dim, "classifier");
  for (int l = 0; l < c.n_layers; ++l) {
    check(m_w.layers[u(l)].rms_att, 1, c.dim, fmt::format("layers.{}.rms_att", l));
    check(m_w.layers[u(l)].rms_ffn, 1, c.dim, fmt::format("layers.{}.rms_ffn", l));
    for (const Linear which : kLayerLinears) check(m_w.linear(l, which), c.rows(which), c.cols(which), tensor_name(l, which));
  }
  reserve_rows(1);
  m_key_cache.resize(u(c.n_layers) * u(c.seq_len) * u(c.kv_dim()));
  m_value_cache.resize(m_key_cache.size());
  // The same float expressions as run.c's on-the-fly RoPE, tabulated once per position.
  const int hs = c.head_size();
  m_cos.resize(u(c.seq_len) * u(hs / 2));
  m_sin.resize(m_cos.size());
  for (int pos = 0; pos < c.seq_len; ++pos) {
    for (int i = 0; i < hs; i += 2) {
      const float freq = 1.0f / std::pow(10000.0f, static_cast<float>(i) / static_cast<float>(hs));
      const float val = static_cast<float>(pos) * freq;
      m_cos[u(pos * (hs / 2) + i / 2)] = std::cos(val);
      m_sin[u(pos * (hs / 2) + i / 2)] = std::sin(val);
    }
  }
}

void LlamaRunner::reset() { m_cached = 0; }

void LlamaRunner::reserve_rows(int rows) {
  if (rows <= m_rows) return;
  const LlamaConfig& c = m_w.config;
  const auto n = [rows](int width) { return static_cast<size_t>(rows) * static_cast<size_t>(width); };
  m_x.resize(n(c.dim));
  m_xb.resize(n(c.dim));
  m_xb2.resize(n(c.dim));
  m_hb.resize(n(c.hidden_dim));
  m_hb2.resize(n(c.hidden_dim));
  m_q.resize(n(c.dim));
  m_k.resize(n(c.kv_dim()));
  m_v.resize(n(c.kv_dim()));
  m_att.resize(static_cast<size_t>(c.seq_len));
  m_logits.resize(n(c.vocab_size));
  m_scratch.resize(n(std::max(c.dim, c.hidden_dim)));
  m_rows = rows;
}

void LlamaRunner::linear(int layer, Linear which, const std::vector<float>& w, int rows, std::span<const float> in,
                         std::span<float> out) {
  const int n_out = m_w.config.rows(which), cols = m_w.config.cols(which);
  const auto row_in = static_cast<size_t>(cols), row_out = static_cast<size_t>(n_out);
  std::span<const float> x = in.first(static_cast<size_t>(rows) * row_in);
  if (m_hooks.pre_linear) {
    const std::span<float> copy(m_scratch.data(), x.size());
    std::copy(x.begin(), x.end(), copy.begin());
    for (int t = 0; t < rows; ++t) m_hooks.pre_linear(layer, which, copy.subspan(static_cast<size_t>(t) * row_in, row_in));
    x = copy;
  }
  const std::span<float> y = out.first(static_cast<size_t>(rows) * row_out);
  if (m_hooks.linear && m_hooks.linear(layer, which, rows, x, y)) return;
  for (int t = 0; t < rows; ++t) {
    matmul(w.data(), x.data() + static_cast<size_t>(t) * row_in, y.data() + static_cast<size_t>(t) * row_out, n_out,
           cols);
  }
}

std::span<const float> LlamaRunner::forward(int token, int pos) { return forward_batch({&token, 1}, pos); }

std::span<const float> LlamaRunner::forward_batch(std::span<const int> tokens, int pos0) {
  const LlamaConfig& c = m_w.config;
  const int rows = static_cast<int>(tokens.size());
  if (rows < 1) fail("llama forward: no tokens");
  for (const int token : tokens) {
    if (token < 0 || token >= c.vocab_size) fail("llama forward: token id {} is outside [0, {})", token, c.vocab_size);
  }
  if (pos0 < 0 || pos0 > c.seq_len - rows) {
    fail("llama forward: positions {}..{} are outside [0, seq_len {})", pos0, pos0 + rows - 1, c.seq_len);
  }
  if (pos0 > m_cached) fail("llama forward: position {} needs positions 0..{} cached, but {} are", pos0, pos0 - 1, m_cached);
  reserve_rows(rows);

  const int dim = c.dim, kv_dim = c.kv_dim(), hs = c.head_size(), hidden = c.hidden_dim;
  const int kv_mul = c.n_heads / c.n_kv_heads;
  const auto u = [](int n) { return static_cast<size_t>(n); };
  for (int t = 0; t < rows; ++t) {
    std::copy_n(m_w.token_embedding.begin() + static_cast<std::ptrdiff_t>(u(tokens[u(t)]) * u(dim)), dim,
                m_x.begin() + static_cast<std::ptrdiff_t>(u(t) * u(dim)));
  }
  const float sqrt_hs = std::sqrt(static_cast<float>(hs));

  for (int l = 0; l < c.n_layers; ++l) {
    const LlamaLayerWeights& lw = m_w.layers[u(l)];
    for (int t = 0; t < rows; ++t) rmsnorm(&m_xb[u(t * dim)], &m_x[u(t * dim)], lw.rms_att.data(), dim);
    linear(l, Linear::kWq, lw.wq, rows, m_xb, m_q);
    linear(l, Linear::kWk, lw.wk, rows, m_xb, m_k);
    linear(l, Linear::kWv, lw.wv, rows, m_xb, m_v);

    const size_t loff = u(l) * u(c.seq_len) * u(kv_dim);
    for (int t = 0; t < rows; ++t) {
      const int pos = pos0 + t;
      const float* cos_row = m_cos.data() + u(pos) * u(hs / 2);
      const float* sin_row = m_sin.data() + u(pos) * u(hs / 2);
      const std::span<float> q(&m_q[u(t * dim)], u(dim));
      const std::span<float> k(&m_k[u(t * kv_dim)], u(kv_dim));
      const std::span<float> v(&m_v[u(t * kv_dim)], u(kv_dim));
      // RoPE: rotate each adjacent pair (i, i+1) of q and k by the angle of dimension i mod head_size.
      for (int i = 0; i < dim; i += 2) {
        const float fcr = cos_row[(i % hs) / 2], fci = sin_row[(i % hs) / 2];
        const int vectors = i < kv_dim ? 2 : 1;
        for (int vi = 0; vi < vectors; ++vi) {
          float* vec = vi == 0 ? q.data() : k.data();
          const float v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      if (m_hooks.post_rope) m_hooks.post_rope(l, pos, q, k, v);
      std::copy(k.begin(), k.end(), m_key_cache.begin() + static_cast<std::ptrdiff_t>(loff + u(pos) * u(kv_dim)));
      std::copy(v.begin(), v.end(), m_value_cache.begin() + static_cast<std::ptrdiff_t>(loff + u(pos) * u(kv_dim)));
    }

    // Causal attention: token t sees positions 0 .. pos0 + t, all cached by now.
    for (int t = 0; t < rows; ++t) {
      const int pos = pos0 + t;
      for (int h = 0; h < c.n_heads; ++h) {
        const float* q = &m_q[u(t * dim + h * hs)];
        const size_t kv_off = loff + u(h / kv_mul) * u(hs);
        float* att = m_att.data();
        for (int p = 0; p <= pos; ++p) {
          const float* k = m_key_cache.data() + kv_off + u(p) * u(kv_dim);
          float score = 0.0f;
          for (int i = 0; i < hs; ++i) score += q[i] * k[i];
          att[p] = score / sqrt_hs;
        }
        softmax(att, pos + 1);
        float* xb = &m_xb[u(t * dim + h * hs)];
        std::fill_n(xb, hs, 0.0f);
        for (int p = 0; p <= pos; ++p) {
          const float* v = m_value_cache.data() + kv_off + u(p) * u(kv_dim);
          const float a = att[p];
          for (int i = 0; i < hs; ++i) xb[i] += a * v[i];
        }
      }
    }
    linear(l, Linear::kWo, lw.wo, rows, m_xb, m_xb2);
    for (size_t i = 0; i < u(rows * dim); ++i) m_x[i] += m_xb2[i];

    for (int t = 0; t < rows; ++t) rmsnorm(&m_xb[u(t * dim)], &m_x[u(t * dim)], lw.rms_ffn.data(), dim);
    linear(l, Linear::kW1, lw.w1, rows, m_xb, m_hb);
    linear(l, Linear::kW3, lw.w3, rows, m_xb, m_hb2);
    for (size_t i = 0; i < u(rows * hidden); ++i) {
      float& a = m_hb[i];
      a = a * (1.0f / (1.0f + std::exp(-a)));  // SiLU
      a = a * m_hb2[i];
    }
    linear(l, Linear::kW2, lw.w2, rows, m_hb, m_xb);
    for (size_t i = 0; i < u(rows * dim); ++i) m_x[i] += m_xb[i];
  }
  for (int t = 0; t < rows; ++t) rmsnorm(&m_x[u(t * dim)], &m_x[u(t * dim)], m_w.rms_final.data(), dim);
  linear(-1, Linear::kCls, m_w.classifier, rows, m_x, m_logits);
  m_cached = pos0 + rows;
  return std::span<const float>(m_logits).first(u(rows) * u(c.vocab_size));
}

std::vector<float> forward_sequence(const LlamaWeights& weights, std::span<const int> tokens, const Hooks& hooks) {
  const int vocab = weights.config.vocab_size;
  if (static_cast<int64_t>(tokens.size()) > weights.config.seq_len) {
    fail("forward_sequence: {} tokens exceed seq_len {}", tokens.size(), weights.config.seq_len);
  }
  LlamaRunner runner(weights, hooks);
  std::vector<float> out(tokens.size() * static_cast<size_t>(vocab));
  for (size_t t = 0; t < tokens.size(); ++t) {
    const auto logits = runner.forward(tokens[t], static_cast<int>(t));
    std::copy(logits.begin(), logits.end(), out.begin() + static_cast<std::ptrdiff_t>(t * static_cast<size_t>(vocab)));
  }
  return out;
}

std::vector<int> generate_greedy(const LlamaWeights& weights, int first_token, int steps) {
  if (steps < 0 || steps > weights.config.seq_len) {
    fail("generate_greedy: {} steps is outside [0, seq_len {}]", steps, weights.config.seq_len);
  }
  LlamaRunner runner(weights);
  std::vector<int> out;
  int token = first_token;
  for (int pos = 0; pos < steps; ++pos) {
    token = first_argmax(runner.forward(token, pos));
    out.push_back(token);
  }
  return out;
}

std::vector<int> continue_greedy(const LlamaWeights& weights, std::span<const int> prompt, int steps,
                                 const Hooks& hooks) {
  if (prompt.empty()) fail("continue_greedy: the prompt is empty (it starts with BOS)");
  if (steps < 0) fail("continue_greedy: {} steps is negative", steps);
  const int seq_len = weights.config.seq_len;
  if (static_cast<int64_t>(prompt.size()) > seq_len) {
    fail("continue_greedy: the prompt has {} tokens, more than seq_len {}", prompt.size(), seq_len);
  }
  LlamaRunner runner(weights, hooks);
  std::span<const float> logits;
  int pos = 0;
  for (const int t : prompt) logits = runner.forward(t, pos++);
  std::vector<int> out;
  while (static_cast<int>(out.size()) < steps) {
    const int next = first_argmax(logits);
    if (next == kBosToken) break;
    out.push_back(next);
    if (pos >= seq_len) break;
    logits = runner.forward(next, pos++);
  }
  return out;
}

std::vector<std::vector<int>> sample_sequences(const LlamaWeights& weights, int count, int length, uint64_t seed,
                                               double temperature, int threads) {
  if (count < 0) fail("sample_sequences: count {} is negative", count);
  if (length < 1 || length > weights.config.seq_len) {
    fail("sample_sequences: length {} is outside [1, seq_len {}]", length, weights.config.seq_len);
  }
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
    fail("sample_sequences: temperature {} must be finite and >= 0", temperature);
  }
  std::vector<std::vector<int>> out(static_cast<size_t>(count));
  parallel_for(
      count,
      [&](int64_t begin, int64_t end) {
        LlamaRunner runner(weights);
        std::vector<double> e(static_cast<size_t>(weights.config.vocab_size));
        for (int64_t s = begin; s < end; ++s) {
          std::mt19937_64 rng(seed + static_cast<uint64_t>(s));
          runner.reset();
          std::vector<int>& seq = out[static_cast<size_t>(s)];
          seq.assign(1, kBosToken);
          for (int pos = 0; pos + 1 < length; ++pos) {
            const auto logits = runner.forward(seq.back(), pos);
            if (temperature == 0.0) {
              seq.push_back(first_argmax(logits));
              continue;
            }
            const double max_l = *std::max_element(logits.begin(), logits.end());
            double sum = 0.0;
            for (size_t i = 0; i < e.size(); ++i) {
              e[i] = std::exp((static_cast<double>(logits[i]) - max_l) / temperature);
              sum += e[i];
            }
            const double target = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
            // Rounding can leave the cumulative sum just below target: fall back to the last token
            // with non-zero weight.
            int pick = -1, last_nonzero = 0;
            double cdf = 0.0;
            for (size_t i = 0; i < e.size(); ++i) {
              cdf += e[i];
              if (e[i] > 0.0) last_nonzero = static_cast<int>(i);
              if (target < cdf) {
                pick = static_cast<int>(i);
                break;
              }
            }
            seq.push_back(pick >= 0 ? pick : last_nonzero);
          }
        }
      },
      threads);
  return out;
}

}  // namespace fq::llm
