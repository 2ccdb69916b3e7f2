// bench_accuracy: speed of the calibrated quantizers (Hessian, GPTQ, QuantEase plain and with
// outliers, and on the first 64 rows the calibrated FineQ-R ones) on a LLaMA-7B-sized slice, and of
// the golden LLaMA inference on stories260K.
// Usage: bench_accuracy [ROWS] [COLS] [TOKENS] [MODELS_DIR]   (default 768 2048 2048 ../shared/models)
#include "model/ckpt/checkpoint.h"
#include "model/core/parallel.h"
#include "model/golden/act_quant.h"
#include "model/llm/eval_metrics.h"
#include "model/llm/quant_model.h"
#include "model/quant/fineq_calibrated.h"
#include "model/quant/gptq.h"
#include "model/quant/quantease.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

namespace {

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int rows = argc > 1 ? std::atoi(argv[1]) : 768;
  const int cols = argc > 2 ? std::atoi(argv[2]) : 2048;
  const int tokens = argc > 3 ? std::atoi(argv[3]) : 2048;
  const std::filesystem::path models = argc > 4 ? argv[4] : "../shared/models";
  fmt::print("bench_accuracy: W {} x {}, {} calibration tokens, {} threads\n", rows, cols, tokens,
             fq::default_threads());

  const auto w = fq::synthetic_activations(rows, cols, 1);
  // Correlated inputs (an AR(1) walk along K), so the Hessian is far from diagonal.
  auto x = fq::synthetic_activations(tokens, cols, 2);
  for (int t = 0; t < tokens; ++t) {
    for (int k = 1; k < cols; ++k) {
      const size_t i = static_cast<size_t>(t) * static_cast<size_t>(cols) + static_cast<size_t>(k);
      x[i] = 0.8f * x[i - 1] + 0.2f * x[i];
    }
  }
  std::vector<double> h;
  fmt::print("  hessian (2/n) XᵀX              {:7.2f} s\n", seconds([&] { h = fq::hessian_from_activations(x, tokens, cols); }));
  for (const bool clip : {false, true}) {
    fq::GptqOptions opt;
    opt.clip_search = clip;
    fmt::print("  gptq INT4, clip search {:<3}      {:7.2f} s\n", clip ? "on" : "off",
               seconds([&] { fq::gptq_quantize(w, rows, cols, h, opt); }));
  }
  auto sigma = h;
  for (double& s : sigma) s *= tokens / 2.0;
  for (const double outliers : {0.0, 0.01}) {
    fq::QuantEaseOptions opt;
    opt.bits = 3;
    opt.outlier_fraction = outliers;
    int sweeps = 0;
    const double t = seconds([&] { sweeps = fq::quantease_quantize(w, rows, cols, sigma, opt).sweeps_run; });
    fmt::print("  quantease INT3, {:>4.0f}% outliers   {:7.2f} s ({} sweeps run)\n", 100 * outliers, t, sweeps);
  }
  // Calibrated FineQ-R (ratio) on the first 64 rows: the O(K³) factor of H (fineq-gptq, and
  // fineq-quantease's default init) is part of each time, as in a real layer.
  const int frows = std::min(rows, 64);
  const auto wf = std::span<const float>(w).first(static_cast<size_t>(frows) * static_cast<size_t>(cols));
  const double nf = static_cast<double>(frows) * cols;
  for (const auto scale : {fq::FineqScale::kWeights, fq::FineqScale::kOutput}) {
    fq::FineqCdOptions opt;
    opt.start.scale = scale;
    const char* name = scale == fq::FineqScale::kOutput ? "output" : "weights";
    fq::FineqCalibratedResult r;
    double t = seconds([&] { r = fq::fineq_gptq_quantize(wf, frows, cols, h, opt.start); });
    fmt::print("  fineq-gptq, scale {:<7}, {} rows   {:7.2f} s ({:.3f} M weights/s, output error {:.3f} of plain fineq)\n",
               name, frows, t, nf / t / 1e6, r.objective / r.objective_plain);
    t = seconds([&] { r = fq::fineq_quantease_quantize(wf, frows, cols, h, opt); });
    fmt::print("  fineq-quantease, scale {:<7}      {:7.2f} s ({:.3f} M weights/s, output error {:.3f} of plain fineq, "
               "{} sweeps)\n",
               name, t, nf / t / 1e6, r.objective / r.objective_plain, r.sweeps_run);
  }

  const auto path = models / "tinyllamas" / "stories260K.bin";
  if (!std::filesystem::exists(path)) {
    fmt::print("  {} not found: inference figures skipped\n", path.string());
    return 0;
  }
  const auto ckpt = fq::open_checkpoint(path);
  const auto model = fq::llm::load_llama(*ckpt);
  std::vector<std::vector<int>> seqs;
  const double t_sample = seconds([&] { seqs = fq::llm::sample_sequences(model, 32, 256, 1); });
  fmt::print("  stories260K: sample 32 x 256 tokens  {:7.2f} s ({:.0f} tokens/s)\n", t_sample, 32 * 256 / t_sample);
  const double t_ppl = seconds([&] { fq::llm::perplexity(model, seqs); });
  fmt::print("  stories260K: perplexity, same        {:7.2f} s ({:.0f} tokens/s)\n", t_ppl, 32 * 256 / t_ppl);
  // Sensitivity of the model itself: every decoder weight times (1 + 0.01·n), n an Irwin-Hall
  // normal (sum of 12 uniforms - 6) from splitmix64 (docs/accuracy.md "This model is fragile").
  {
    auto noisy = model;
    uint64_t state = 99;
    for (auto& l : noisy.layers) {
      for (auto* tensor : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3}) {
        for (float& v : *tensor) {
          double n = -6.0;
          for (int j = 0; j < 12; ++j) n += static_cast<double>(fq::splitmix64_next(state) >> 11) * 0x1p-53;
          v = static_cast<float>(v * (1.0 + 0.01 * n));
        }
      }
    }
    const auto c = fq::llm::compare_models(model, noisy, seqs);
    fmt::print("  stories260K: 1 % weight noise        perplexity {:.2f} -> {:.2f} ({:+.1f} %), KL {:.3f}, top-1 {:.3f}\n",
               c.perplexity_ref, c.perplexity_test, 100 * (c.perplexity_test / c.perplexity_ref - 1), c.mean_kl,
               c.top1_agreement);
  }
  fq::Params p("bench");
  p.set("weights", "rtn");
  fq::llm::QuantizedModel q;
  const double t_q = seconds([&] { q = fq::llm::quantize_model(model, "quarot", p, {}); });
  const double t_cmp = seconds([&] { fq::llm::compare_models(model, q.weights, seqs, q.hooks); });
  fmt::print("  stories260K: quarot w4a4kv4 (rtn)    {:7.2f} s to build, {:.2f} s to compare with FP32\n", t_q, t_cmp);
  return 0;
}
