// Golden FP32 inference of the LLaMA architecture of llama2.c checkpoints, with activation hooks.
// Contract: LlamaRunner::forward() computes what karpathy/llama2.c run.c's transformer() computes
// (RMSNorm eps 1e-5, RoPE on adjacent dimension pairs with theta 10000 over head_size, grouped-
// query attention with a KV cache, SwiGLU FFN, tied or untied classifier), with the same float
// operations in the same order: every dot product is a plain float accumulation over the input
// index in ascending order, one accumulator per output (as run.c's matmul), and RoPE angles use
// powf/cosf/sinf exactly as run.c. No reduction depends on a thread count, so results are
// deterministic; with the same libm and no FMA contraction (ISO C++ mode turns contraction off)
// the logits equal run.c's bit for bit. Checked against run.c by tests/unit/160_llama_inference.cpp
// (greedy ids from BOS and logits at several positions, produced by compiling run.c of commit
// bd182289 with gcc -O2 and a driver that prints ids instead of text).
// Errors (not a llama2.c checkpoint, bad token or position) are fq::Error.
#pragma once

#include "model/ckpt/checkpoint.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace fq::llm {

// The linear layers of one decoder layer, plus the classifier. Weights are [rows = out, cols = in]
// row-major and y = x·Wᵀ.
enum class Linear { kWq, kWk, kWv, kWo, kW1, kW2, kW3, kCls };

inline constexpr int kBosToken = 1;  // llama2.c / sentencepiece BOS; generation starts from it

// "wq", "wk", "wv", "wo", "w1", "w2", "w3" (the llama2.c tensor suffixes) and "output" (the name of
// an untied classifier in llama2.c checkpoints).
const char* linear_name(Linear which);
// "layers.<layer>.wq" etc.; "output" for kCls (layer ignored).
std::string tensor_name(int layer, Linear which);
// Inverse of tensor_name(): {layer, which}, layer -1 for "output"; nullopt for other names.
std::optional<std::pair<int, Linear>> parse_tensor_name(const std::string& name);

struct LlamaConfig {
  int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;  // the checkpoint ties the classifier to the token embedding

  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return head_size() * n_kv_heads; }
  int rows(Linear which) const;  // output features
  int cols(Linear which) const;  // input features
};

struct LlamaLayerWeights {
  std::vector<float> rms_att, rms_ffn;  // [dim]
  std::vector<float> wq, wk, wv, wo;    // [dim, dim], [kv_dim, dim], [kv_dim, dim], [dim, dim]
  std::vector<float> w1, w2, w3;        // [hidden, dim], [dim, hidden], [hidden, dim]
};

struct LlamaWeights {
  LlamaConfig config;
  std::vector<float> token_embedding;  // [vocab, dim]
  std::vector<LlamaLayerWeights> layers;
  std::vector<float> rms_final;  // [dim]
  // [vocab, dim]; always its own copy, also when tied, so that replacing it (e.g. by quantized
  // values) leaves the embedding table alone.
  std::vector<float> classifier;

  // layer is ignored for kCls; throws fq::Error for a layer out of range.
  std::vector<float>& linear(int layer, Linear which);
  const std::vector<float>& linear(int layer, Linear which) const;
  int rows(Linear which) const { return config.rows(which); }
  int cols(Linear which) const { return config.cols(which); }
};

// Reads a llama2.c checkpoint (the tensor names and shapes model/ckpt/checkpoint.cpp exposes);
// anything else, or a non-finite weight, is an fq::Error naming the file.
LlamaWeights load_llama(const ICheckpoint& ckpt);

// Optional callbacks that may modify activations in place; an empty std::function is skipped.
// Per token the order is, for each layer l = 0 .. n_layers-1:
//   pre_linear(l, kWq), pre_linear(l, kWk), pre_linear(l, kWv), post_rope(l, pos, q, k, v),
//   pre_linear(l, kWo), pre_linear(l, kW1), pre_linear(l, kW3), pre_linear(l, kW2);
// then pre_linear(-1, kCls): 7·n_layers + 1 pre_linear calls and n_layers post_rope calls.
// pre_linear receives the input row of that linear (after RMSNorm for wq/wk/wv/w1/w3/cls; the
// attention output for wo; silu(w1·x)·(w3·x) for w2). Each linear gets its own copy, so a change
// made for wq does not reach wk. post_rope receives q [n_heads·head_size] and k, v
// [n_kv_heads·head_size] of this token after RoPE; k and v enter the KV cache after the call.
// Functions that run several sequences in parallel call the hooks from several threads.
// `linear`, when set, may replace the FP32 matmul of a linear: it receives the inputs of the
// `rows` tokens of one forward_batch() call, x [rows, cols(which)] (after pre_linear), and either
// writes out [rows, rows(which)] and returns true, or returns false to leave the linear to the FP32
// matmul. It is how an integer datapath (model/llm/int_path.h) or an accelerator takes the linears.
struct Hooks {
  std::function<void(int layer, Linear which, std::span<float> x)> pre_linear;
  std::function<void(int layer, int pos, std::span<float> q, std::span<float> k, std::span<float> v)> post_rope;
  std::function<bool(int layer, Linear which, int rows, std::span<const float> x, std::span<float> out)> linear;
};

// One sequence's inference state (KV cache). The weights must outlive the runner; the constructor
// checks every tensor's size against the config (fq::Error otherwise).
class LlamaRunner {
 public:
  explicit LlamaRunner(const LlamaWeights& weights, Hooks hooks = {});
  LlamaRunner(LlamaWeights&&, Hooks = {}) = delete;  // would dangle

  // Forgets the cached positions.
  void reset();
  // Logits [vocab] of the token after `token` at position `pos`. Positions 0 .. pos-1 must be cached
  // (pos <= the number of cached positions; an earlier pos rewinds); token in [0, vocab),
  // pos < seq_len. The span stays valid until the next call.
  std::span<const float> forward(int token, int pos);
  // Logits [T, vocab] of tokens[0 .. T-1] at positions pos0 .. pos0+T-1 (a prefill): the same
  // float operations per token as T calls of forward(), so the same logits bit for bit, but each
  // linear sees all T input rows at once (hooks are called layer by layer: for each linear, token
  // by token). Needs pos0 <= cached_positions() and pos0 + T <= seq_len.
  std::span<const float> forward_batch(std::span<const int> tokens, int pos0);
  int cached_positions() const { return m_cached; }
  const LlamaWeights& weights() const { return m_w; }

 private:
  void linear(int layer, Linear which, const std::vector<float>& w, int rows, std::span<const float> in,
              std::span<float> out);
  void reserve_rows(int rows);

  const LlamaWeights& m_w;
  Hooks m_hooks;
  int m_cached = 0;
  int m_rows = 0;  // token rows the buffers below hold
  std::vector<float> m_x, m_xb, m_xb2, m_hb, m_hb2, m_q, m_k, m_v, m_att, m_logits, m_scratch;  // [rows, ...]
  std::vector<float> m_key_cache, m_value_cache;  // [layer, seq_len, kv_dim]
  std::vector<float> m_cos, m_sin;                // [seq_len, head_size / 2], as run.c computes them
};

// Logits [T, vocab] for tokens[0 .. T-1] at positions 0 .. T-1 (teacher forcing); T <= seq_len.
std::vector<float> forward_sequence(const LlamaWeights& weights, std::span<const int> tokens, const Hooks& hooks = {});

// Greedy decoding as run.c with temperature 0: `steps` ids, each the first arg-max of the logits
// after the previous one, starting from first_token at position 0. It does not stop at BOS (run.c
// does); first_token is not part of the result. steps <= seq_len.
std::vector<int> generate_greedy(const LlamaWeights& weights, int first_token = kBosToken, int steps = 64);

// Greedy continuation of `prompt` (which starts with BOS, as encode(text, bos) gives it): the
// prompt is fed at positions 0 .. P-1, then up to `steps` ids follow, each the first arg-max of the
// logits after the previous one. Like run.c, generation stops early when BOS comes next (the id is
// not returned); it also stops at seq_len. The result holds the generated ids only. Hooks apply
// (a quantized model's activation quantizers).
std::vector<int> continue_greedy(const LlamaWeights& weights, std::span<const int> prompt, int steps,
                                 const Hooks& hooks = {});

// The first arg-max of a logits row: run.c's greedy pick.
int first_argmax(std::span<const float> logits);

// `count` sequences of `length` tokens: element 0 is BOS, element i+1 is drawn from
// softmax(logits(i) / temperature) without stopping at BOS/EOS. Sequence s draws from its own
// std::mt19937_64 seeded with seed + s; one draw is u = (raw 64 bits >> 11) · 2^-53 in [0, 1), and
// the token is the first i with u · Σ e_j < Σ_{j<=i} e_j, e_j = exp((l_j - max l) / temperature) in
// double. temperature 0 means greedy. Sequences run in parallel (fq::parallel_for); the result does
// not depend on the thread count. length <= seq_len.
std::vector<std::vector<int>> sample_sequences(const LlamaWeights& weights, int count, int length, uint64_t seed,
                                               double temperature = 1.0, int threads = 0);

}  // namespace fq::llm
