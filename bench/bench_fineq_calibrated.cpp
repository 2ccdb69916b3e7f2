// bench_fineq_calibrated: speed of the calibrated FineQ-R quantizers (fineq-gptq, fineq-quantease,
// both scale modes) against plain FineQ-R, in weights per second, on a seeded Laplace W and AR(1)
// correlated calibration inputs (the Hessian is built once and not counted).
// Usage: bench_fineq_calibrated [ROWS] [COLS] [TOKENS]   (default 256 2048 2048)
#include "model/ckpt/synthetic.h"
#include "model/core/parallel.h"
#include "model/golden/act_quant.h"
#include "model/quant/fineq_calibrated.h"
#include "model/quant/gptq.h"
#include "model/quant/i_quantizer.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
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
  const int rows = argc > 1 ? std::atoi(argv[1]) : 256;
  const int cols = argc > 2 ? std::atoi(argv[2]) : 2048;
  const int tokens = argc > 3 ? std::atoi(argv[3]) : 2048;
  fmt::print("bench_fineq_calibrated: W {} x {}, {} calibration tokens, {} threads\n", rows, cols, tokens,
             fq::default_threads());
  const auto w = fq::synthetic_weights({"bench", rows, cols}, 1);
  auto x = fq::synthetic_activations(tokens, cols, 2);
  for (int t = 0; t < tokens; ++t) {
    for (int k = 1; k < cols; ++k) {
      const size_t i = static_cast<size_t>(t) * static_cast<size_t>(cols) + static_cast<size_t>(k);
      x[i] = 0.8f * x[i - 1] + 0.2f * x[i];
    }
  }
  const auto h = fq::hessian_from_activations(x, tokens, cols);
  const double n = static_cast<double>(rows) * cols;
  const auto report = [&](const std::string& what, double t, double objective, double plain) {
    fmt::print("  {:<36} {:7.2f} s  {:8.3f} M weights/s  output error {:.4g} ({:.3f} of plain)\n", what, t, n / t / 1e6,
               objective, objective / plain);
  };
  {
    fq::Params p("bench");
    const auto q = fq::make_quantizer("fineq", p);
    const double t = seconds([&] { q->encode(w, rows, cols); });
    fmt::print("  {:<36} {:7.2f} s  {:8.3f} M weights/s\n", "fineq (plain, ratio)", t, n / t / 1e6);
  }
  for (const auto scale : {fq::FineqScale::kWeights, fq::FineqScale::kOutput}) {
    const char* s = scale == fq::FineqScale::kOutput ? "output" : "weights";
    fq::FineqGptqOptions opt;
    opt.scale = scale;
    fq::FineqCalibratedResult r;
    const double tg = seconds([&] { r = fq::fineq_gptq_quantize(w, rows, cols, h, opt); });
    report(fmt::format("fineq-gptq ratio, scale {}", s), tg, r.objective, r.objective_plain);
    fq::FineqCdOptions cd;
    cd.start = opt;
    const double tc = seconds([&] { r = fq::fineq_quantease_quantize(w, rows, cols, h, cd); });
    report(fmt::format("fineq-quantease ratio, scale {}", s), tc, r.objective, r.objective_plain);
    fmt::print("  {:<36} ({} sweeps at most, {} cluster updates)\n", "", r.sweeps_run, r.clusters_changed);
  }
  return 0;
}
