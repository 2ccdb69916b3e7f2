// quantize: FP32 weights (a llama2.c or safetensors checkpoint, or a synthetic LLaMA-2 layer) to a
// .q file with the chosen quantizer, printing error metrics per tensor as it goes.
#include "model/ckpt/checkpoint.h"
#include "model/ckpt/synthetic.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/qfile/qfile.h"
#include "model/quant/i_quantizer.h"
#include "model/quant/metrics.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr const char* kUsage = R"(usage: quantize --checkpoint PATH [--tensors PATTERNS] --method NAME [options] --out FILE.q
       quantize --synthetic llama2-7b|llama2-13b|gemm:N=..,K=.. [--seed S] --method NAME [options] --out FILE.q

Quantizes the linear layers of a checkpoint (llama2.c .bin or safetensors F32/F16/BF16; tensors
named layers.<l>.<wq|wk|wv|wo|w1|w2|w3> for llama2.c; PATTERNS is a comma-separated list of globs,
default: every linear layer) or a seeded synthetic LLaMA-2 decoder layer, and writes them to FILE.q.

Methods and their options:
  fineq  --policy ratio|mse (default ratio)  --threshold T (default 4)  --group G (0: per row)
  rtn    --bits 2|3|4|8 (default 4)  --group G  --clip none|mse  --norm P (default 2.4)
         --rounding half_away|rne (default half_away)
Other options: --threads N (default: all cores).
)";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Fraction of FineQ-R clusters stored as outlier clusters (idx != 0), for the report.
double outlier_fraction(const fq::EncodedMatrix& m) {
  if (m.format != fq::HwFormat::kFineqR || m.codes.empty()) return 0.0;
  size_t outliers = 0;
  for (const uint8_t b : m.codes) outliers += (b >> 6) != 0 ? 1 : 0;
  return static_cast<double>(outliers) / static_cast<double>(m.codes.size());
}

struct Source {
  std::unique_ptr<fq::ICheckpoint> checkpoint;
  std::vector<fq::SyntheticTensorSpec> synthetic;
  uint64_t seed = 0;
  std::string origin;
};

int run(int argc, char** argv) {
  fq::CommandLine cl("quantize", argc, argv, {"help"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const auto checkpoint = cl.value("checkpoint");
  const auto synthetic = cl.value("synthetic");
  const auto patterns = cl.value("tensors");
  const auto seed_text = cl.value("seed");
  const auto threads = cl.value("threads");
  const std::string method = cl.required("method");
  const std::string out = cl.required("out");
  fq::Params options(fmt::format("quantize --method {}", method));
  for (const auto& [key, value] : cl.take_rest()) options.set(key, value);
  cl.finish();
  if (checkpoint.has_value() == synthetic.has_value()) {
    fq::fail("give exactly one of --checkpoint and --synthetic (see --help)");
  }
  if (patterns && !checkpoint) fq::fail("--tensors selects checkpoint tensors; it needs --checkpoint");
  if (seed_text && !synthetic) fq::fail("--seed applies to --synthetic only");

  fq::Params numbers("quantize");
  if (seed_text) numbers.set("seed", *seed_text);
  if (threads) numbers.set("threads", *threads);
  const auto seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  if (threads) setenv("FQ_THREADS", std::to_string(numbers.get_int("threads", 1, 1, 1024)).c_str(), 1);

  // Options are checked before any weight is read, so a typo fails at once.
  const auto quantizer = fq::make_quantizer(method, options);

  const auto t0 = std::chrono::steady_clock::now();
  Source src;
  std::vector<std::string> names;
  if (checkpoint) {
    src.checkpoint = fq::open_checkpoint(*checkpoint);
    src.origin = *checkpoint;
    names = fq::select_tensors(*src.checkpoint, patterns.value_or(""));
  } else {
    src.synthetic = fq::synthetic_layer(*synthetic);
    src.seed = seed;
    src.origin = fmt::format("synthetic {} seed {}", *synthetic, seed);
    for (const auto& s : src.synthetic) names.push_back(s.name);
  }

  std::string described;
  for (const auto& [k, v] : quantizer->describe()) described += fmt::format("{}{}={}", described.empty() ? "" : " ", k, v);
  fmt::print("quantize {} -> {}: {} tensors, method {} ({})\n", src.origin, out, names.size(), quantizer->name(),
             described);
  fmt::print("{:<18} {:>13} {:>11} {:>9} {:>9} {:>10} {:>8} {:>8} {:>7}\n", "tensor", "shape [N x K]", "mse",
             "sqnr_dB", "minrow_dB", "max|err|", "bits/w", "outlier", "sec");
  std::fflush(stdout);

  fq::QFileWriter writer(out);
  int64_t total_weights = 0;
  double total_bits = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto t1 = std::chrono::steady_clock::now();
    const std::string& name = names[i];
    int rows = 0, cols = 0;
    std::vector<float> w;
    if (src.checkpoint) {
      const fq::TensorInfo* info = nullptr;
      for (const auto& t : src.checkpoint->tensors()) {
        if (t.name == name) info = &t;
      }
      if (info == nullptr || info->shape.size() != 2) {
        fq::fail("{}: tensor '{}' is not a 2-D weight matrix", src.origin, name);
      }
      if (info->shape[0] > INT32_MAX || info->shape[1] > INT32_MAX) {
        fq::fail("{}: tensor '{}' is too large", src.origin, name);
      }
      rows = static_cast<int>(info->shape[0]);
      cols = static_cast<int>(info->shape[1]);
      w = src.checkpoint->load(name);
    } else {
      rows = src.synthetic[i].rows;
      cols = src.synthetic[i].cols;
      w = fq::synthetic_weights(src.synthetic[i], src.seed);
    }
    fq::QTensor t;
    t.name = name;
    t.method = quantizer->name();
    t.params = quantizer->describe();
    try {
      t.matrix = quantizer->encode(w, rows, cols);
    } catch (const fq::Error& e) {
      fq::fail("{}: tensor '{}': {}", src.origin, name, e.what());
    }
    const auto metrics = fq::error_metrics(w, t.matrix);
    w = {};
    writer.add(t);
    total_weights += int64_t{rows} * cols;
    total_bits += metrics.bits_per_weight * static_cast<double>(int64_t{rows} * cols);
    fmt::print("{:<18} {:>13} {:>11.4e} {:>9.2f} {:>9.2f} {:>10.4g} {:>8.4f} {:>7.2f}% {:>7.2f}\n", name,
               fmt::format("{} x {}", rows, cols), metrics.mse, metrics.sqnr_db, metrics.min_row_sqnr_db,
               metrics.max_abs_err, metrics.bits_per_weight, 100.0 * outlier_fraction(t.matrix), seconds_since(t1));
    std::fflush(stdout);
  }
  writer.finish();
  const double secs = seconds_since(t0);
  fmt::print("wrote {}: {} weights, {:.4f} bits per weight, {:.2f} s ({:.1f} M weights/s end to end)\n", out,
             total_weights, total_bits / static_cast<double>(total_weights), secs,
             static_cast<double>(total_weights) / secs / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("quantize", argc, argv, run); }
