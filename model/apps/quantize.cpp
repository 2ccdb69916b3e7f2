// quantize: FP32 weights (a llama2.c or safetensors checkpoint, or a synthetic LLaMA-2 layer) to a
// .q file with the chosen quantizer, printing error metrics per tensor as it goes.
#include "model/ckpt/checkpoint.h"
#include "model/ckpt/synthetic.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/llm/llama.h"
#include "model/llm/quant_model.h"
#include "model/llm/quarot.h"
#include "model/llm/text_corpus.h"
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

Methods and their options (defaults in brackets):
  fineq      --policy [ratio]|mse  --threshold [4]  --group [0] (0: per row)
  rtn        --bits 2|3|[4]|8  --group [0]  --clip [none]|mse  --norm [2.4]  --rounding [half_away]|rne
  gptq       --bits 2|3|[4]|8  --group [0]  --block [128]  --damp [0.01]  --act_order [0]  --clip none|[mse]
             --norm [2.4]  --rounding half_away|[rne]
  quantease  --bits 2|3|[4]|8  --sweeps [30]  --act_order [0]  --relaxed [0]  --rounding half_away|[rne]
  fineq-gptq       --policy [ratio]|mse  --threshold [4]  --scale weights|[output]  --block [126]  --damp [0.01]
  fineq-quantease  --policy [ratio]|mse  --threshold [4]  --scale weights|[output]  --init fineq|[gptq]
                   --sweeps [20]  --block [126]  --damp [0.01] (block and damp: init gptq only)
  quarot     --weights rtn|[gptq]  --w_bits 2|3|[4]|8  --rotation_seed [0]
  bfp        --bits 8|[6]|4  --block [16]  --rounding half_away|[rne]
  mxint8, mxfp4   --rounding [half_away]|rne
gptq, quantease, fineq-gptq, fineq-quantease and quarot need a llama2.c checkpoint: the calibrated
methods calibrate on the inputs of each linear while the FP32 model runs real text, the last
--calibration N chunks [128] of --text FILE encoded with --tokenizer T.bin (docs/accuracy.md's
protocol; evaluate uses the first chunks of the same file), or without --text --calibration N
sequences [16] of --calibration-length L tokens [256, at most seq_len] sampled from the model
(--seed S [1]); every layer calibrates on FP32 inputs at once (evaluate's --calib sequential, its
default, feeds each layer the already-quantized model's inputs). gptq and quantease store symmetric INTb codes with FP16 scales (grids fixed
before the optimisation; see docs/quantization.md); fineq-gptq and fineq-quantease store plain
FineQ-R codes (one FP16 scale per row) chosen against the calibration inputs, which every FineQ
preset runs unchanged. quarot stores the decoder linears of the rotated model (norms folded,
randomized Hadamard, online-Hadamard pairs fused), INT4 by RTN (clip search, rne) or GPTQ: they
compute the original layer only together with
the online Hadamard transforms. bfp, mxint8 and mxfp4 store block formats, which no accelerator
preset runs (evaluate measures their accuracy).
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
  std::optional<fq::llm::LlamaWeights> rotated;  // quarot: the weights to quantize
  // Calibration inputs per decoder linear, for quantizers that need them.
  std::vector<std::map<fq::llm::Linear, std::vector<float>>> inputs;
};

// quarot options: the rotation and the weight quantizer it wraps.
struct Quarot {
  std::string weights;
  int bits = 4;
  uint64_t seed = 0;
};

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const auto checkpoint = cl.value("checkpoint");
  const auto synthetic = cl.value("synthetic");
  const auto patterns = cl.value("tensors");
  const auto seed_text = cl.value("seed");
  const auto threads = cl.value("threads");
  const auto calib_count = cl.value("calibration");
  const auto calib_length = cl.value("calibration-length");
  const auto tok_path = cl.value("tokenizer");
  const auto text_path = cl.value("text");
  const std::string method = cl.required("method");
  const std::string out = cl.required("out");
  fq::Params options(fmt::format("quantize --method {}", method));
  for (const auto& [key, value] : cl.take_rest()) options.set(key, value);
  cl.finish();
  if (checkpoint.has_value() == synthetic.has_value()) {
    fq::fail("give exactly one of --checkpoint and --synthetic (see --help)");
  }
  if (patterns && !checkpoint) fq::fail("--tensors selects checkpoint tensors; it needs --checkpoint");

  fq::Params numbers;
  if (seed_text) numbers.set("seed", *seed_text);
  if (threads) numbers.set("threads", *threads);
  if (calib_count) numbers.set("calibration", *calib_count);
  if (calib_length) numbers.set("calibration-length", *calib_length);
  const auto seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  if (threads) setenv("FQ_THREADS", std::to_string(numbers.get_int("threads", 1, 1, 1024)).c_str(), 1);

  // Options are checked before any weight is read, so a typo fails at once.
  std::optional<Quarot> quarot;
  std::unique_ptr<fq::IQuantizer> quantizer;
  if (method == "quarot") {
    quarot = Quarot{options.get_choice("weights", "gptq", {"rtn", "gptq"}),
                    static_cast<int>(options.get_int("w_bits", 4, 2, 8)),
                    static_cast<uint64_t>(options.get_int("rotation_seed", 0, 0, INT64_MAX))};
    options.check_all_used();
    fq::Params inner(fmt::format("quantize --method quarot --weights {}", quarot->weights));
    inner.set("bits", std::to_string(quarot->bits));
    if (quarot->weights == "rtn") {
      inner.set("clip", "mse");
      inner.set("rounding", "rne");
    }
    quantizer = fq::make_quantizer(quarot->weights, inner);
  } else {
    quantizer = fq::make_quantizer(method, options);
  }
  const bool calibrate = quantizer->needs_calibration();
  if ((calibrate || quarot) && !checkpoint) {
    fq::fail("--method {} needs a llama2.c checkpoint (--checkpoint): {}", method,
             quarot ? "it rotates the whole model" : "it calibrates on the inputs of each linear layer");
  }
  if ((calib_count || calib_length || text_path || tok_path) && !calibrate) {
    fq::fail("--calibration, --text and --tokenizer apply to gptq, quantease, fineq-gptq, fineq-quantease and "
             "quarot with gptq");
  }
  if (text_path.has_value() != tok_path.has_value()) fq::fail("--text and --tokenizer go together (see --help)");
  if (text_path && (calib_length || seed_text)) {
    fq::fail("--calibration-length and --seed apply to model-sampled calibration, not to --text");
  }
  if (seed_text && !synthetic && !calibrate) fq::fail("--seed applies to --synthetic and to calibration only");

  const auto t0 = std::chrono::steady_clock::now();
  Source src;
  std::vector<std::string> names;
  if (checkpoint) {
    src.checkpoint = fq::open_checkpoint(*checkpoint);
    src.origin = *checkpoint;
    names = fq::select_tensors(*src.checkpoint, patterns.value_or(""));
    if (calibrate || quarot) {
      for (const auto& name : names) {
        const auto id = fq::llm::parse_tensor_name(name);
        if (!id || id->first < 0) fq::fail("{}: tensor '{}' is not a decoder linear (layers.<l>.<wq..w3>): {} "
                                           "quantizes those only", src.origin, name, method);
      }
      auto fp32 = fq::llm::load_llama(*src.checkpoint);
      fq::llm::Hooks online;
      if (quarot) {
        auto rot = fq::llm::rotate_llama(fp32, quarot->seed);
        src.rotated = std::move(rot.weights);
        online = rot.hooks;
      }
      if (calibrate) {
        std::vector<std::vector<int>> sequences;
        if (text_path) {
          const auto tok = fq::llm::Tokenizer::load(*tok_path);
          if (tok.vocab_size() != fp32.config.vocab_size) {
            fq::fail("{}: {} tokens, but the model {} has a vocabulary of {}", *tok_path, tok.vocab_size(),
                     *checkpoint, fp32.config.vocab_size);
          }
          const auto corpus = fq::llm::TextCorpus::load(*text_path);
          const int count = static_cast<int>(numbers.get_int("calibration", 128, 1, 1 << 30));
          const auto range = fq::llm::calibration_range(corpus, 0, count);
          sequences = fq::llm::encode_chunks(tok, corpus, range, fp32.config.seq_len);
          size_t tokens = 0;
          for (const auto& s : sequences) tokens += s.size();
          fmt::print("calibrating on {} of {} ({} tokens)\n", range.describe(), *text_path, tokens);
        } else {
          const int count = static_cast<int>(numbers.get_int("calibration", 16, 1, 100000));
          const int length = static_cast<int>(
              numbers.get_int("calibration-length", std::min(256, fp32.config.seq_len), 2, fp32.config.seq_len));
          sequences = fq::llm::sample_sequences(fp32, count, length, seed);
          fmt::print("calibrating on {} sequences x {} tokens sampled from the FP32 model (seed {})\n", count, length,
                     seed);
        }
        src.inputs = fq::llm::capture_linear_inputs(src.rotated ? *src.rotated : fp32, online, sequences);
      }
    }
  } else {
    src.synthetic = fq::synthetic_layer(*synthetic);
    src.seed = seed;
    src.origin = fmt::format("synthetic {} seed {}", *synthetic, seed);
    for (const auto& s : src.synthetic) names.push_back(s.name);
  }

  auto params = quantizer->describe();
  if (quarot) {
    params["weights"] = quarot->weights;
    params["rotation"] = "randomized_hadamard";
    params["rotation_seed"] = std::to_string(quarot->seed);
  }
  const std::string method_name = quarot ? "quarot" : quantizer->name();
  std::string described;
  for (const auto& [k, v] : params) described += fmt::format("{}{}={}", described.empty() ? "" : " ", k, v);
  fmt::print("quantize {} -> {}: {} tensors, method {} ({})\n", src.origin, out, names.size(), method_name,
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
      if (src.rotated) {
        const auto id = *fq::llm::parse_tensor_name(name);
        w = src.rotated->linear(id.first, id.second);
      } else {
        w = src.checkpoint->load(name);
      }
    } else {
      rows = src.synthetic[i].rows;
      cols = src.synthetic[i].cols;
      w = fq::synthetic_weights(src.synthetic[i], src.seed);
    }
    fq::QTensor t;
    t.name = name;
    t.method = method_name;
    t.params = params;
    try {
      if (calibrate) {
        const auto id = *fq::llm::parse_tensor_name(name);
        const auto& x = src.inputs[static_cast<size_t>(id.first)].at(id.second);
        t.matrix = quantizer->encode_calibrated(w, rows, cols, {x, static_cast<int>(x.size() / static_cast<size_t>(cols))});
      } else {
        t.matrix = quantizer->encode(w, rows, cols);
      }
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
