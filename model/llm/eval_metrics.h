// Language-model evaluation metrics: negative log-likelihood, perplexity, KL divergence, top-1
// agreement. Contract: all arithmetic is in double (log-softmax with the maximum subtracted, sums
// in ascending index order); model-level functions evaluate sequences in parallel but sum their
// per-sequence results in sequence order, so every number is independent of the thread count.
// Logits arrays are [rows, vocab] row-major floats.
#pragma once

#include "model/llm/llama.h"

#include <span>
#include <vector>

namespace fq::llm {

// log softmax of one logits row, in double.
std::vector<double> log_softmax(std::span<const float> logits);

// Sum over t = 0 .. T-2 of -log P(tokens[t+1] | logits row t); logits is [T, vocab].
double sum_nll(std::span<const float> logits, std::span<const int> tokens, int vocab);

// Mean over rows of KL(P || Q) = Σ_i p_i (log p_i - log q_i), P = softmax(p_logits) (the FP32
// reference), Q = softmax(q_logits) (the model under test). Exactly 0 for identical arrays.
double mean_kl(std::span<const float> p_logits, std::span<const float> q_logits, int vocab);

// Fraction of rows whose first arg-max is the same in both arrays.
double top1_agreement(std::span<const float> a_logits, std::span<const float> b_logits, int vocab);

// exp(mean NLL of token t+1 given tokens 0..t) over all predicted tokens of all sequences (each
// sequence is fed from position 0, so it should start with BOS). Every sequence needs >= 2 tokens.
double perplexity(const LlamaWeights& weights, const std::vector<std::vector<int>>& sequences, const Hooks& hooks = {},
                  int threads = 0);

struct ModelComparison {
  double perplexity_ref = 0, perplexity_test = 0;
  double mean_kl = 0;         // KL(P_ref || P_test) averaged over the predicted positions
  double top1_agreement = 0;  // over the same positions
  long positions = 0;         // predicted tokens: every position but the last of each sequence
};

// Teacher-forced evaluation of `test` (weights + hooks, e.g. quantized) against the FP32 `ref`.
ModelComparison compare_models(const LlamaWeights& ref, const LlamaWeights& test,
                               const std::vector<std::vector<int>>& sequences, const Hooks& test_hooks = {},
                               int threads = 0);

}  // namespace fq::llm
