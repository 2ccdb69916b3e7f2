#include "model/llm/quarot.h"

#include "model/core/error.h"

#include <fmt/ranges.h>

namespace fq::llm {
namespace {

std::vector<double> to_double(const std::vector<float>& w) { return {w.begin(), w.end()}; }

std::vector<float> to_float(const std::vector<double>& w) {
  std::vector<float> out(w.size());
  for (size_t i = 0; i < w.size(); ++i) out[i] = static_cast<float>(w[i]);
  return out;
}

// W [rows, cols] ← W·diag(alpha): an RMSNorm scale moved into the linear it feeds (§4.1 step 0).
void fold_norm(std::vector<double>& w, int cols, const std::vector<float>& alpha) {
  for (size_t i = 0; i < w.size(); ++i) w[i] *= static_cast<double>(alpha[i % static_cast<size_t>(cols)]);
}

// Each row of W [rows, cols] ← row·(I ⊗ T): input-side fusion of a per-block transform.
void fuse_input_blockwise(const OrthogonalTransform& t, std::vector<double>& w) {
  const auto n = static_cast<size_t>(t.size());
  for (size_t i = 0; i < w.size(); i += n) t.apply(std::span<double>(w).subspan(i, n));
}

// Each row of W [rows, cols] ← row·(T ⊗ I_stride).
void fuse_input_strided(const OrthogonalTransform& t, int stride, std::vector<double>& w, int cols) {
  const auto n = static_cast<size_t>(t.size());
  std::vector<double> tmp(n);
  for (size_t row = 0; row < w.size(); row += static_cast<size_t>(cols)) {
    for (size_t j = 0; j < static_cast<size_t>(stride); ++j) {
      for (size_t a = 0; a < n; ++a) tmp[a] = w[row + a * static_cast<size_t>(stride) + j];
      t.apply(std::span<double>(tmp));
      for (size_t a = 0; a < n; ++a) w[row + a * static_cast<size_t>(stride) + j] = tmp[a];
    }
  }
}

// W [rows, cols] ← (I ⊗ T)ᵀ·W: output-side fusion of a per-block transform (each column, viewed
// as a row vector, is multiplied by T block by block).
void fuse_output_blockwise(const OrthogonalTransform& t, std::vector<double>& w, int rows, int cols) {
  const auto n = static_cast<size_t>(t.size());
  std::vector<double> column(static_cast<size_t>(rows));
  for (size_t c = 0; c < static_cast<size_t>(cols); ++c) {
    for (size_t r = 0; r < column.size(); ++r) column[r] = w[r * static_cast<size_t>(cols) + c];
    for (size_t b = 0; b < column.size(); b += n) t.apply(std::span<double>(column).subspan(b, n));
    for (size_t r = 0; r < column.size(); ++r) w[r * static_cast<size_t>(cols) + c] = column[r];
  }
}

void check_size(int n, const char* what) {
  if (!hadamard_size_supported(n)) {
    fail("quarot: {} = {} is not a supported Hadamard size (K·2^k with K in {})", what, n,
         fmt::join(kHadamardFactors, ", "));
  }
}

}  // namespace

void apply_blockwise(const OrthogonalTransform& t, std::span<float> x) {
  const auto n = static_cast<size_t>(t.size());
  if (x.size() % n != 0) fail("apply_blockwise: length {} is not a multiple of {}", x.size(), n);
  for (size_t i = 0; i < x.size(); i += n) t.apply(x.subspan(i, n));
}

void apply_strided(const OrthogonalTransform& t, int stride, std::span<float> x) {
  const auto n = static_cast<size_t>(t.size());
  const auto s = static_cast<size_t>(stride);
  if (x.size() != n * s) fail("apply_strided: length {} is not {} x {}", x.size(), n, s);
  std::vector<double> tmp(n);
  for (size_t j = 0; j < s; ++j) {
    for (size_t a = 0; a < n; ++a) tmp[a] = x[a * s + j];
    t.apply(std::span<double>(tmp));
    for (size_t a = 0; a < n; ++a) x[a * s + j] = static_cast<float>(tmp[a]);
  }
}

RotatedLlama rotate_llama(const LlamaWeights& weights, uint64_t seed) {
  const LlamaConfig& c = weights.config;
  check_size(c.dim, "dim");
  check_size(c.hidden_dim, "hidden_dim");
  check_size(c.n_heads, "n_heads");
  check_size(c.head_size(), "head_size");
  auto t = std::make_shared<const QuarotTransforms>(QuarotTransforms{
      RandomizedHadamard(c.dim, seed), HadamardTransform(c.hidden_dim), HadamardTransform(c.n_heads),
      HadamardTransform(c.head_size())});

  RotatedLlama out{weights, t, {}};
  LlamaWeights& r = out.weights;
  const auto input_side = [&](std::vector<float>& w, int cols, const std::vector<float>* norm) {
    auto d = to_double(w);
    if (norm) fold_norm(d, cols, *norm);
    t->global.fuse_input_side(d);
    w = to_float(d);
  };
  input_side(r.token_embedding, c.dim, nullptr);
  input_side(r.classifier, c.dim, &weights.rms_final);
  for (auto& l : r.layers) {
    const auto rms_att = l.rms_att, rms_ffn = l.rms_ffn;
    input_side(l.wq, c.dim, &rms_att);
    input_side(l.wk, c.dim, &rms_att);
    {
      auto d = to_double(l.wv);
      fold_norm(d, c.dim, rms_att);
      t->global.fuse_input_side(d);
      fuse_output_blockwise(t->head, d, c.kv_dim(), c.dim);  // the V cache is stored rotated per head
      l.wv = to_float(d);
    }
    {
      auto d = to_double(l.wo);
      t->global.fuse_output_side(d, c.dim);
      fuse_input_blockwise(t->head, d);                    // undoes the per-head V rotation
      fuse_input_strided(t->heads, c.head_size(), d, c.dim);  // pairs the online Hadamard heads
      l.wo = to_float(d);
    }
    input_side(l.w1, c.dim, &rms_ffn);
    input_side(l.w3, c.dim, &rms_ffn);
    {
      auto d = to_double(l.w2);
      t->global.fuse_output_side(d, c.hidden_dim);
      t->down.fuse_input_side(d);  // pairs the online Hadamard before down_proj
      l.w2 = to_float(d);
    }
    std::fill(l.rms_att.begin(), l.rms_att.end(), 1.0f);
    std::fill(l.rms_ffn.begin(), l.rms_ffn.end(), 1.0f);
  }
  std::fill(r.rms_final.begin(), r.rms_final.end(), 1.0f);

  const int head_size = c.head_size();
  out.hooks.pre_linear = [t, head_size](int, Linear which, std::span<float> x) {
    if (which == Linear::kW2) t->down.apply(x);
    if (which == Linear::kWo) apply_strided(t->heads, head_size, x);
  };
  out.hooks.post_rope = [t](int, int, std::span<float> q, std::span<float> k, std::span<float>) {
    apply_blockwise(t->head, q);
    apply_blockwise(t->head, k);
  };
  return out;
}

}  // namespace fq::llm
