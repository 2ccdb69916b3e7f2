// QuaRot's computational invariance on a LLaMA model (quantizers.md §4.1, §4.3): norms folded
// into the linears, a randomized Hadamard rotation Q of the residual stream fused into the
// weights, an online Hadamard before down_proj, V/O head rotations with an online "Hadamard heads"
// before o_proj, and an online per-head Hadamard on Q and K after RoPE.
// Contract: rotate_llama() changes no function: forward_sequence(rotated.weights, tokens,
// rotated.hooks) equals forward_sequence(original, tokens) up to float rounding (the fusion is
// done in double and rounded once per weight). Quantizing the rotated model (weights, activations
// after the online transforms, the KV cache after the Q/K rotation) is left to the caller, which
// composes its quantizer hooks after `hooks` (see quant_model.h).
#pragma once

#include "model/llm/llama.h"
#include "model/quant/hadamard.h"

#include <memory>

namespace fq::llm {

// The online transforms of a rotated model, shared by its hooks.
struct QuarotTransforms {
  RandomizedHadamard global;     // Q, size dim
  HadamardTransform down;        // before w2, size hidden_dim
  HadamardTransform heads;       // length n_heads at stride head_size, before wo
  HadamardTransform head;        // per head, size head_size (V/O offline, Q/K online)
};

struct RotatedLlama {
  LlamaWeights weights;  // rotated, norms folded (every RMSNorm weight is 1)
  std::shared_ptr<const QuarotTransforms> transforms;
  Hooks hooks;  // pre_linear: online Hadamards before w2 and wo; post_rope: per-head Q/K rotation
};

// Throws fq::Error (naming the size) if dim, hidden_dim, n_heads or head_size is not a supported
// Hadamard size (hadamard.h), e.g. 64, 172, 8 and 8 for stories260K.
RotatedLlama rotate_llama(const LlamaWeights& weights, uint64_t seed);

// x (length n_blocks · block) ← x·(I ⊗ T): T applied to each consecutive block.
void apply_blockwise(const OrthogonalTransform& t, std::span<float> x);
// x (length n · stride) ← x·(T ⊗ I_stride): T applied along the n elements at stride `stride`.
void apply_strided(const OrthogonalTransform& t, int stride, std::span<float> x);

}  // namespace fq::llm
