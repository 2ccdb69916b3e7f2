#include "model/llm/eval_metrics.h"

#include "model/core/error.h"
#include "model/core/parallel.h"

#include <algorithm>
#include <cmath>

namespace fq::llm {
namespace {

size_t checked_rows(std::span<const float> logits, int vocab, const char* who) {
  if (vocab <= 0 || logits.size() % static_cast<size_t>(vocab) != 0) {
    fail("{}: {} logits are not a whole number of rows of vocab {}", who, logits.size(), vocab);
  }
  return logits.size() / static_cast<size_t>(vocab);
}

std::span<const float> row(std::span<const float> logits, size_t r, int vocab) {
  return logits.subspan(r * static_cast<size_t>(vocab), static_cast<size_t>(vocab));
}

// KL(P || Q) of one row from its log-probabilities.
double row_kl(const std::vector<double>& lp, const std::vector<double>& lq) {
  double kl = 0.0;
  for (size_t i = 0; i < lp.size(); ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  return kl;
}

double sum_kl(std::span<const float> p_logits, std::span<const float> q_logits, int vocab) {
  const size_t rows = checked_rows(p_logits, vocab, "mean_kl");
  if (q_logits.size() != p_logits.size()) fail("mean_kl: {} vs {} logits", p_logits.size(), q_logits.size());
  double total = 0.0;
  for (size_t r = 0; r < rows; ++r) {
    total += row_kl(log_softmax(row(p_logits, r, vocab)), log_softmax(row(q_logits, r, vocab)));
  }
  return total;
}

long count_top1(std::span<const float> a_logits, std::span<const float> b_logits, int vocab) {
  const size_t rows = checked_rows(a_logits, vocab, "top1_agreement");
  if (b_logits.size() != a_logits.size()) fail("top1_agreement: {} vs {} logits", a_logits.size(), b_logits.size());
  long same = 0;
  for (size_t r = 0; r < rows; ++r) same += first_argmax(row(a_logits, r, vocab)) == first_argmax(row(b_logits, r, vocab));
  return same;
}

void check_sequences(const LlamaWeights& w, const std::vector<std::vector<int>>& sequences, const char* who) {
  if (sequences.empty()) fail("{}: no sequences", who);
  for (size_t s = 0; s < sequences.size(); ++s) {
    const size_t n = sequences[s].size();
    if (n < 2 || n > static_cast<size_t>(w.config.seq_len)) {
      fail("{}: sequence {} has {} tokens; need 2 .. seq_len {}", who, s, n, w.config.seq_len);
    }
  }
}

}  // namespace

std::vector<double> log_softmax(std::span<const float> logits) {
  if (logits.empty()) fail("log_softmax: empty logits");
  const double max_l = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (const float l : logits) sum += std::exp(static_cast<double>(l) - max_l);
  const double log_z = max_l + std::log(sum);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<double>(logits[i]) - log_z;
  return out;
}

double sum_nll(std::span<const float> logits, std::span<const int> tokens, int vocab) {
  const size_t rows = checked_rows(logits, vocab, "sum_nll");
  if (rows != tokens.size()) fail("sum_nll: {} logits rows for {} tokens", rows, tokens.size());
  double total = 0.0;
  for (size_t t = 0; t + 1 < rows; ++t) {
    const int next = tokens[t + 1];
    if (next < 0 || next >= vocab) fail("sum_nll: token {} at {} is outside [0, {})", next, t + 1, vocab);
    total -= log_softmax(row(logits, t, vocab))[static_cast<size_t>(next)];
  }
  return total;
}

double mean_kl(std::span<const float> p_logits, std::span<const float> q_logits, int vocab) {
  const size_t rows = checked_rows(p_logits, vocab, "mean_kl");
  if (rows == 0) fail("mean_kl: no rows");
  return sum_kl(p_logits, q_logits, vocab) / static_cast<double>(rows);
}

double top1_agreement(std::span<const float> a_logits, std::span<const float> b_logits, int vocab) {
  const size_t rows = checked_rows(a_logits, vocab, "top1_agreement");
  if (rows == 0) fail("top1_agreement: no rows");
  return static_cast<double>(count_top1(a_logits, b_logits, vocab)) / static_cast<double>(rows);
}

double perplexity(const LlamaWeights& weights, const std::vector<std::vector<int>>& sequences, const Hooks& hooks,
                  int threads) {
  check_sequences(weights, sequences, "perplexity");
  std::vector<double> nll(sequences.size());
  parallel_for(
      static_cast<int64_t>(sequences.size()),
      [&](int64_t begin, int64_t end) {
        for (int64_t s = begin; s < end; ++s) {
          const auto& seq = sequences[static_cast<size_t>(s)];
          nll[static_cast<size_t>(s)] = sum_nll(forward_sequence(weights, seq, hooks), seq, weights.config.vocab_size);
        }
      },
      threads);
  double total = 0.0;
  long predicted = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    total += nll[s];
    predicted += static_cast<long>(sequences[s].size()) - 1;
  }
  return std::exp(total / static_cast<double>(predicted));
}

ModelComparison compare_models(const LlamaWeights& ref, const LlamaWeights& test,
                               const std::vector<std::vector<int>>& sequences, const Hooks& test_hooks, int threads) {
  check_sequences(ref, sequences, "compare_models");
  const int vocab = ref.config.vocab_size;
  if (test.config.vocab_size != vocab) fail("compare_models: vocab {} vs {}", vocab, test.config.vocab_size);
  struct PerSequence {
    double nll_ref = 0, nll_test = 0, kl = 0;
    long top1 = 0;
  };
  std::vector<PerSequence> per(sequences.size());
  parallel_for(
      static_cast<int64_t>(sequences.size()),
      [&](int64_t begin, int64_t end) {
        for (int64_t s = begin; s < end; ++s) {
          const auto& seq = sequences[static_cast<size_t>(s)];
          const auto a = forward_sequence(ref, seq);
          const auto b = forward_sequence(test, seq, test_hooks);
          // One log-softmax per row and model serves NLL, KL and top-1 (the same values sum_nll()
          // and mean_kl() compute, summed in the same order).
          PerSequence& p = per[static_cast<size_t>(s)];
          // The predicted positions (every row but the last) serve perplexity, KL and top-1 alike.
          for (size_t t = 0; t + 1 < seq.size(); ++t) {
            const auto ra = row(a, t, vocab), rb = row(b, t, vocab);
            const auto lp = log_softmax(ra), lq = log_softmax(rb);
            const int next = seq[t + 1];
            if (next < 0 || next >= vocab) fail("compare_models: token {} is outside [0, {})", next, vocab);
            p.nll_ref -= lp[static_cast<size_t>(next)];
            p.nll_test -= lq[static_cast<size_t>(next)];
            p.kl += row_kl(lp, lq);
            p.top1 += first_argmax(ra) == first_argmax(rb);
          }
        }
      },
      threads);
  ModelComparison out;
  double nll_ref = 0, nll_test = 0, kl = 0;
  long top1 = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    nll_ref += per[s].nll_ref;
    nll_test += per[s].nll_test;
    kl += per[s].kl;
    top1 += per[s].top1;
    out.positions += static_cast<long>(sequences[s].size()) - 1;
  }
  out.perplexity_ref = std::exp(nll_ref / static_cast<double>(out.positions));
  out.perplexity_test = std::exp(nll_test / static_cast<double>(out.positions));
  out.mean_kl = kl / static_cast<double>(out.positions);
  out.top1_agreement = static_cast<double>(top1) / static_cast<double>(out.positions);
  return out;
}

}  // namespace fq::llm
