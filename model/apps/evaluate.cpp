// evaluate: accuracy of quantization methods on a real llama2.c model: perplexity and KL divergence
// to FP32 on real text (or on token sequences sampled from the FP32 model), per-layer weight SQNR,
// and greedy continuations of a prompt as text (docs/accuracy.md).
#include "model/ckpt/checkpoint.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/llm/eval_metrics.h"
#include "model/llm/quant_model.h"
#include "model/llm/text_corpus.h"
#include "model/llm/tokenizer.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace {

constexpr const char* kUsage = R"(usage: evaluate --checkpoint PATH (--method NAME [options] | --all)
                --tokenizer T.bin --text FILE [--chunks N] [--calibration C]
                [--threads N] [--out PREFIX] [--json OUT.json]
       evaluate --checkpoint PATH (--method NAME [options] | --all) [--sequences N] [--length L]
                [--calibration N] [--seed S] [--threads N] [--out PREFIX] [--json OUT.json]
       evaluate --checkpoint PATH --tokenizer T.bin --prompt TEXT --generate N
                [--method NAME [options]] [--text FILE [--calibration C]]

Runs the FP32 model and the model with METHOD applied to its decoder linears (weights, and the
activations and KV cache where the method quantizes them) and prints perplexity, KL(FP32 || Q) and
top-1 agreement on the same predicted positions, bits per weight and weight SQNR. --all evaluates
the table of docs/accuracy.md.

With --text (real text; the protocol of docs/accuracy.md): the text is split at blank lines, each of
the first N chunks (--chunks, default 200) is encoded with BOS, truncated to the model's seq_len and
run from position 0 with a fresh KV cache. gptq, quantease, quarot and the calibrated FineQ
variants calibrate on the last C chunks of the same file (--calibration, default 128), disjoint
from the evaluation chunks; the output names both ranges.
Without --text: N sequences of L tokens sampled from the FP32 model (seeded; --sequences 32
--length 256 --calibration 16 --seed 1), the protocol of the secondary table of docs/accuracy.md.

With --prompt: encodes TEXT with BOS and prints its greedy continuation of up to N tokens (run.c's
rule: it stops before a BOS) for FP32 and, with --method, for the quantized model.

Methods and options (defaults in brackets):
  fineq      --policy [ratio]|mse --threshold [4] --group [0] --acts fp32|[int8]
  rtn        --bits [4] --group [0] --clip [none]|mse --norm [2.4] --rounding [half_away]|rne --acts [fp32]|int8
  gptq       --bits [4] --group [0] --block [128] --damp [0.01] --act_order [0] --clip none|[mse]
             --norm [2.4] --sym [1] --acts [fp32]|int8
  quantease  --bits [3] --sym [0] --sweeps [30] --act_order [0] --relaxed [0] --outliers [0]
             --structured [0] --acts [fp32]|int8
  fineq-gptq       --policy [ratio]|mse --threshold [4] --scale weights|[output] --block [126] --damp [0.01]
                   --acts fp32|[int8]: FineQ-R codes with GPTQ's error feedback
  fineq-quantease  the same plus --init fineq|[gptq] --sweeps [20]: coordinate descent over the codes
  quarot     --weights rtn|[gptq] --w_bits [4] --a_bits [4] --a_clip [0.9] --kv_bits [4] --kv_clip [0.95] --rotation_seed [0]
  bfp        --bits 8|[6]|4 --block [16] --rounding [rne]|half_away --acts [same]|fp32
  mxint8, mxfp4   --rounding [half_away]|rne --acts [same]|fp32
  fp32       the reference itself
gptq, quantease, quarot (gptq weights) and the fineq-* methods take --calib [sequential]|fp32:
layer after layer on the inputs of the already-quantized model (as the reference implementations),
or every layer on FP32 inputs at once.

With --out PREFIX writes PREFIX.csv (one row per method), PREFIX-layers.csv (weight SQNR per
linear), PREFIX.md (the table) and PREFIX.gp with, when gnuplot is installed, PREFIX.svg (bits per
weight vs perplexity). --json OUT writes every method's figures (docs/accuracy.md).
)";

struct Run {
  std::string method;
  std::map<std::string, std::string> options;
};

// The table of docs/accuracy.md (issue 8): every method at the settings the literature compares.
std::vector<Run> all_runs() {
  return {{"fineq", {{"policy", "ratio"}}},
          {"fineq", {{"policy", "mse"}}},
          {"rtn", {{"bits", "8"}}},
          {"rtn", {{"bits", "4"}}},
          {"rtn", {{"bits", "3"}}},
          {"rtn", {{"bits", "2"}}},
          {"gptq", {{"bits", "4"}}},
          {"gptq", {{"bits", "3"}}},
          {"gptq", {{"bits", "2"}}},
          {"quarot", {}},
          {"quantease", {{"bits", "3"}}},
          {"quantease", {{"bits", "3"}, {"outliers", "0.01"}}},
          // Calibration on FP32 inputs of every layer at once, once each against the sequential default.
          {"gptq", {{"bits", "3"}, {"calib", "fp32"}}},
          {"quantease", {{"bits", "3"}, {"calib", "fp32"}}},
          // FineQ-R codes chosen against the calibration inputs (docs/quantization.md).
          {"fineq-gptq", {{"policy", "ratio"}}},
          {"fineq-gptq", {{"policy", "mse"}}},
          {"fineq-quantease", {{"policy", "ratio"}}},
          {"fineq-quantease", {{"policy", "mse"}}},
          {"fineq-quantease", {{"policy", "mse"}, {"calib", "fp32"}}},
          {"bfp", {{"bits", "6"}}},
          {"bfp", {{"bits", "4"}}},
          {"mxint8", {}},
          {"mxfp4", {}}};
}

struct Row {
  fq::llm::QuantizedModel model;
  fq::llm::ModelComparison cmp;
  double min_sqnr = 0, mean_sqnr = 0, seconds = 0;
};

std::string options_text(const std::map<std::string, std::string>& options) {
  std::string s;
  for (const auto& [k, v] : options) s += fmt::format("{}{}={}", s.empty() ? "" : " ", k, v);
  return s;
}

void write_outputs(const std::string& prefix, const std::vector<Row>& rows, const std::string& model,
                   const std::string& about, const std::string& ylabel) {
  fq::write_file_atomically(prefix + ".csv", [&](std::ostream& o) {
    o << "method,label,options,bits_per_weight,activations,kv_cache,perplexity,perplexity_fp32,delta_perplexity,"
         "kl,top1_agreement,min_sqnr_db,mean_sqnr_db,positions,seconds\n";
    for (const Row& r : rows) {
      o << fmt::format("{},{},\"{}\",{:.6f},{},{},{:.6f},{:.6f},{:.6f},{:.6g},{:.6f},{:.3f},{:.3f},{},{:.2f}\n",
                       r.model.method, r.model.label, options_text(r.model.options), r.model.bits_per_weight,
                       r.model.activations, r.model.kv_cache, r.cmp.perplexity_test, r.cmp.perplexity_ref,
                       r.cmp.perplexity_test - r.cmp.perplexity_ref, r.cmp.mean_kl, r.cmp.top1_agreement, r.min_sqnr,
                       r.mean_sqnr, r.cmp.positions, r.seconds);
    }
  });
  fq::write_file_atomically(prefix + "-layers.csv", [&](std::ostream& o) {
    o << "label,tensor,rows,cols,sqnr_db,bits_per_weight\n";
    for (const Row& r : rows) {
      for (const auto& l : r.model.linears) {
        o << fmt::format("{},{},{},{},{:.4f},{:.6f}\n", r.model.label, l.tensor, l.rows, l.cols, l.sqnr_db,
                         l.bits_per_weight);
      }
    }
  });
  fq::write_file_atomically(prefix + ".md", [&](std::ostream& o) {
    o << about << "\n\n";
    o << "| method | bits/weight | activations | KV cache | perplexity | Δ vs FP32 | KL(FP32‖Q) | top-1 agree | "
         "weight SQNR min / mean (dB) |\n|---|---|---|---|---|---|---|---|---|\n";
    for (const Row& r : rows) {
      const bool ref = r.model.method == "fp32";
      o << fmt::format("| {} | {:.3f} | {} | {} | {:.4f} | {} | {} | {:.4f} | {} |\n", r.model.label,
                       r.model.bits_per_weight, r.model.activations, r.model.kv_cache, r.cmp.perplexity_test,
                       ref ? "–" : fmt::format("{:+.4f}", r.cmp.perplexity_test - r.cmp.perplexity_ref),
                       ref ? "0" : fmt::format("{:.4g}", r.cmp.mean_kl), r.cmp.top1_agreement,
                       ref ? "–" : fmt::format("{:.2f} / {:.2f}", r.min_sqnr, r.mean_sqnr));
    }
  });
  const std::string gp = prefix + ".gp";
  const std::string base = std::filesystem::path(prefix).filename().string();
  fq::write_file_atomically(gp, [&](std::ostream& o) {
    o << "# gnuplot script written by evaluate: gnuplot " << gp << "\n"
      << "set terminal svg size 900,560 dynamic font 'sans,12'\n"
      << "set output '" << base << ".svg'\n"
      << "set datafile separator ','\n"
      << "set title '" << model << ": bits per weight vs perplexity (FP32 reference dashed)'\n"
      << "set xlabel 'bits per weight (codes, scales, zero points, outliers)'\n"
      << "set ylabel '" << ylabel << "'\n"
      << "set logscale y\nset grid\nset key off\nset xrange [1.5:9.5]\n"
      << fmt::format("ref = {:.6f}\n", rows.empty() ? 1.0 : rows.front().cmp.perplexity_ref)
      << "# FP32 (32 bits) is the dashed line, not a point\n"
      << "plot '" << base << ".csv' using 4:($4 < 32 ? $7 : 1/0) with points pt 7 ps 1.1 lc rgb '#1f77b4', \\\n"
      << "     '' using 4:($4 < 32 ? $7 : 1/0):2 with labels left offset 0.7,0 font 'sans,8', \\\n"
      << "     ref with lines dt 2 lc rgb '#888888'\n";
  });
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    const auto dir = std::filesystem::path(prefix).parent_path();
    const auto cd = dir.empty() ? std::string(".") : dir.string();
    const auto cmd = fmt::format("cd '{}' && gnuplot '{}' > '{}.log' 2>&1", cd, std::filesystem::path(gp).filename().string(), base);
    if (std::system(cmd.c_str()) == 0) {
      std::filesystem::remove(fmt::format("{}/{}.log", cd, base));
      fmt::print("wrote {0}.csv, {0}-layers.csv, {0}.md, {0}.gp, {0}.svg\n", prefix);
    } else {
      fmt::print("wrote {0}.csv, {0}-layers.csv, {0}.md, {0}.gp; gnuplot failed (see {1}/{2}.log)\n", prefix, cd, base);
    }
  } else {
    fmt::print("wrote {0}.csv, {0}-layers.csv, {0}.md, {0}.gp (install gnuplot to render {0}.svg)\n", prefix);
  }
}

// The evaluation data: token sequences, calibration sequences and the sentence that names them.
struct Data {
  std::vector<std::vector<int>> sequences, calibration;
  std::string about, calibration_about, ylabel;
  long chunks = 0;  // evaluation chunks (text) or sequences (sampled)
};

Data text_data(const fq::llm::LlamaWeights& fp32, const std::string& checkpoint, const std::string& tok_path,
               const std::string& text_path, int chunks, int calib) {
  const auto tok = fq::llm::Tokenizer::load(tok_path);
  if (tok.vocab_size() != fp32.config.vocab_size) {
    fq::fail("{}: {} tokens, but the model {} has a vocabulary of {}", tok_path, tok.vocab_size(), checkpoint,
             fp32.config.vocab_size);
  }
  const auto corpus = fq::llm::TextCorpus::load(text_path);
  const auto eval = fq::llm::evaluation_range(corpus, chunks);
  const auto cal = fq::llm::calibration_range(corpus, chunks, calib);
  Data d;
  d.sequences = fq::llm::encode_chunks(tok, corpus, eval, fp32.config.seq_len);
  d.calibration = fq::llm::encode_chunks(tok, corpus, cal, fp32.config.seq_len);
  long predicted = 0, calib_tokens = 0;
  for (const auto& s : d.sequences) predicted += static_cast<long>(s.size()) - 1;
  for (const auto& s : d.calibration) calib_tokens += static_cast<long>(s.size());
  d.chunks = chunks;
  d.calibration_about = fmt::format("{} of {} ({} tokens)", cal.describe(), std::filesystem::path(text_path).filename().string(),
                                    calib_tokens);
  d.about = fmt::format(
      "Model {} ({} layers, dim {}, hidden {}), tokenizer {}; text {}: {} of {} ({} predicted tokens; BOS, "
      "truncated at seq_len {}, fresh KV cache per chunk); calibration on {}.",
      std::filesystem::path(checkpoint).filename().string(), fp32.config.n_layers, fp32.config.dim,
      fp32.config.hidden_dim, std::filesystem::path(tok_path).filename().string(),
      std::filesystem::path(text_path).filename().string(), eval.describe(), corpus.chunks.size(), predicted,
      fp32.config.seq_len, d.calibration_about);
  d.ylabel = "perplexity on TinyStories text (log scale)";
  return d;
}

Data sampled_data(const fq::llm::LlamaWeights& fp32, const std::string& checkpoint, int n_seq, int length,
                  int n_calib, uint64_t seed) {
  if (length > fp32.config.seq_len) fq::fail("--length {} exceeds the model's seq_len {}", length, fp32.config.seq_len);
  Data d;
  d.sequences = fq::llm::sample_sequences(fp32, n_seq, length, seed);
  d.calibration = fq::llm::sample_sequences(fp32, n_calib, length, seed + static_cast<uint64_t>(n_seq));
  d.chunks = n_seq;
  d.calibration_about = fmt::format("{} sequences sampled from the FP32 model (seeds {}..{})", n_calib,
                                    seed + static_cast<uint64_t>(n_seq), seed + static_cast<uint64_t>(n_seq + n_calib) - 1);
  d.about = fmt::format(
      "Model {} ({} layers, dim {}, hidden {}); {} evaluation sequences x {} tokens sampled from the FP32 model "
      "(temperature 1, seeds {}..{}); calibration on {}.",
      std::filesystem::path(checkpoint).filename().string(), fp32.config.n_layers, fp32.config.dim,
      fp32.config.hidden_dim, n_seq, length, seed, seed + static_cast<uint64_t>(n_seq) - 1, d.calibration_about);
  d.ylabel = "perplexity on FP32-sampled sequences (log scale)";
  return d;
}

void write_json(const std::string& path, const std::vector<Row>& rows, const Data& data, const std::string& checkpoint) {
  nlohmann::ordered_json j;
  j["schema"] = "fqsim.accuracy/1";
  j["checkpoint"] = checkpoint;
  j["protocol"] = data.about;
  j["calibration"] = data.calibration_about;
  auto& methods = j["methods"];
  methods = nlohmann::ordered_json::array();
  for (const Row& r : rows) {
    nlohmann::ordered_json m;
    m["method"] = r.model.method;
    m["label"] = r.model.label;
    m["options"] = r.model.options;
    m["bits_per_weight"] = r.model.bits_per_weight;
    m["activations"] = r.model.activations;
    m["kv_cache"] = r.model.kv_cache;
    m["perplexity"] = r.cmp.perplexity_test;
    m["perplexity_fp32"] = r.cmp.perplexity_ref;
    m["kl"] = r.cmp.mean_kl;
    m["top1_agreement"] = r.cmp.top1_agreement;
    m["predicted_tokens"] = r.cmp.positions;
    m["chunks"] = data.chunks;
    m["min_sqnr_db"] = r.model.method == "fp32" ? nlohmann::ordered_json() : nlohmann::ordered_json(r.min_sqnr);
    m["mean_sqnr_db"] = r.model.method == "fp32" ? nlohmann::ordered_json() : nlohmann::ordered_json(r.mean_sqnr);
    m["seconds"] = r.seconds;
    methods.push_back(std::move(m));
  }
  fq::write_file_atomically(path, [&](std::ostream& o) { o << j.dump(2) << "\n"; });
}

fq::llm::QuantizedModel quantize(const fq::llm::LlamaWeights& fp32, const std::string& name,
                                 const std::map<std::string, std::string>& opts,
                                 const std::vector<std::vector<int>>& calibration) {
  fq::Params p(fmt::format("evaluate --method {}", name));
  for (const auto& [k, v] : opts) p.set(k, v);
  return fq::llm::quantize_model(fp32, name, p, calibration);
}

// --prompt: the FP32 continuation and, with a method, the quantized model's.
int generate(const fq::llm::LlamaWeights& fp32, const fq::llm::Tokenizer& tok, const std::string& prompt, int steps,
             const std::optional<Run>& run, const std::vector<std::vector<int>>& calibration) {
  const auto ids = tok.encode(prompt, true, false);
  fmt::print("prompt: {} tokens:", ids.size());
  for (const int id : ids) fmt::print(" {}", id);
  fmt::print("\n");
  const auto show = [&](const std::string& label, const std::vector<int>& out) {
    const std::string text = tok.decode(std::span<const int>(ids).subspan(1)) + tok.decode(out, ids.back());
    fmt::print("{} ({} tokens):", label, out.size());
    for (const int id : out) fmt::print(" {}", id);
    fmt::print("\n{}\n\n", text);
  };
  const auto ref = fq::llm::continue_greedy(fp32, ids, steps);
  show("fp32", ref);
  if (run) {
    const auto q = quantize(fp32, run->method, run->options, calibration);
    const auto out = fq::llm::continue_greedy(q.weights, ids, steps, q.hooks);
    show(fmt::format("{} ({:.3f} bits/weight)", q.label, q.bits_per_weight), out);
    size_t same = 0;
    while (same < ref.size() && same < out.size() && ref[same] == out[same]) ++same;
    fmt::print("first {} of {} generated tokens equal FP32's\n", same, std::max(ref.size(), out.size()));
  }
  return 0;
}

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help", "all"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string checkpoint = cl.required("checkpoint");
  const auto method = cl.value("method");
  const bool all = cl.flag("all");
  const auto tok_path = cl.value("tokenizer");
  const auto text_path = cl.value("text");
  const auto prompt = cl.value("prompt");
  fq::Params numbers;
  for (const char* key : {"sequences", "length", "calibration", "seed", "threads", "chunks", "generate"}) {
    if (const auto v = cl.value(key)) numbers.set(key, *v);
  }
  const auto out = cl.value("out");
  const auto json = cl.value("json");
  fq::Params options(fmt::format("evaluate --method {}", method.value_or("")));
  for (const auto& [key, value] : cl.take_rest()) options.set(key, value);
  cl.finish();
  const bool text_mode = text_path.has_value();
  if (prompt) {
    if (all) fq::fail("--prompt generates with one method at most; --all is for perplexity tables");
    if (!numbers.values().count("generate")) fq::fail("--prompt needs --generate N (the number of tokens)");
    if (out || json) fq::fail("--prompt prints the generated text; --out and --json are for perplexity tables");
    for (const char* key : {"sequences", "length", "seed", "chunks"}) {
      if (numbers.values().count(key)) fq::fail("--{} does not apply to --prompt", key);
    }
  } else {
    if (method.has_value() == all) fq::fail("give exactly one of --method NAME and --all (see --help)");
    if (numbers.values().count("generate")) fq::fail("--generate needs --prompt TEXT");
    if (text_mode) {
      for (const char* key : {"sequences", "length", "seed"}) {
        if (numbers.values().count(key)) fq::fail("--{} applies to model-sampled sequences, not to --text", key);
      }
    } else if (numbers.values().count("chunks")) {
      fq::fail("--chunks needs --text FILE");
    }
  }
  if ((text_mode || prompt) && !tok_path) fq::fail("--text and --prompt need --tokenizer T.bin");
  if (tok_path && !text_mode && !prompt) fq::fail("--tokenizer is used with --text or --prompt");
  if (all && !options.values().empty()) {
    fq::fail("--all runs fixed settings; option --{} needs --method", options.values().begin()->first);
  }
  // Refuse an output folder that does not exist now, not after minutes of evaluation.
  for (const auto& target : {out, json}) {
    if (!target) continue;
    const auto dir = std::filesystem::path(*target).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir)) fq::fail("{}: folder {} does not exist", *target, dir.string());
  }
  if (const auto t = numbers.get_int("threads", 0, 0, 1024); t > 0) setenv("FQ_THREADS", std::to_string(t).c_str(), 1);

  std::vector<Run> runs;
  if (all) {
    runs = all_runs();
  } else if (method) {
    runs.push_back({*method, options.values()});
    const auto names = fq::llm::model_method_names();
    if (std::find(names.begin(), names.end(), *method) == names.end()) {
      std::string known;
      for (const auto& n : names) known += fmt::format("{}{}", known.empty() ? "" : ", ", n);
      fq::fail("unknown method '{}' (known: {})", *method, known);
    }
  }

  const auto t0 = std::chrono::steady_clock::now();
  const auto ckpt = fq::open_checkpoint(checkpoint);
  const auto fp32 = fq::llm::load_llama(*ckpt);

  if (prompt) {
    const auto tok = fq::llm::Tokenizer::load(*tok_path);
    if (tok.vocab_size() != fp32.config.vocab_size) {
      fq::fail("{}: {} tokens, but the model {} has a vocabulary of {}", *tok_path, tok.vocab_size(), checkpoint,
               fp32.config.vocab_size);
    }
    const int steps = static_cast<int>(numbers.get_int("generate", 0, 0, fp32.config.seq_len));
    std::vector<std::vector<int>> calibration;
    if (!runs.empty()) {
      const int n_calib = static_cast<int>(numbers.get_int("calibration", text_mode ? 128 : 16, 1, 100000));
      const Data d = text_mode ? text_data(fp32, checkpoint, *tok_path, *text_path, 1, n_calib)
                               : sampled_data(fp32, checkpoint, 1, 256, n_calib, 1);
      calibration = d.calibration;
      fmt::print("calibration (where the method needs it): {}\n", d.calibration_about);
    }
    return generate(fp32, tok, *prompt, steps, runs.empty() ? std::nullopt : std::optional<Run>(runs.front()),
                    calibration);
  }

  const Data data =
      text_mode
          ? text_data(fp32, checkpoint, *tok_path, *text_path, static_cast<int>(numbers.get_int("chunks", 200, 1, 1 << 30)),
                      static_cast<int>(numbers.get_int("calibration", 128, 1, 1 << 30)))
          : sampled_data(fp32, checkpoint, static_cast<int>(numbers.get_int("sequences", 32, 1, 100000)),
                         static_cast<int>(numbers.get_int("length", 256, 2, 1 << 20)),
                         static_cast<int>(numbers.get_int("calibration", 16, 1, 100000)),
                         static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX)));
  fmt::print("{}\n", data.about);
  fmt::print("{:<28} {:>8} {:<16} {:<20} {:>10} {:>9} {:>10} {:>7} {:>15} {:>7}\n", "method", "bits/w", "activations",
             "kv cache", "ppl", "d_ppl", "kl", "top1", "sqnr min/mean", "sec");

  std::vector<Row> rows;
  const auto evaluate = [&](const std::string& name, const std::map<std::string, std::string>& opts) {
    const auto t1 = std::chrono::steady_clock::now();
    Row r;
    r.model = quantize(fp32, name, opts, data.calibration);
    r.cmp = fq::llm::compare_models(fp32, r.model.weights, data.sequences, r.model.hooks);
    r.min_sqnr = INFINITY;
    double sum = 0;
    for (const auto& l : r.model.linears) {
      r.min_sqnr = std::min(r.min_sqnr, l.sqnr_db);
      sum += l.sqnr_db;
    }
    r.mean_sqnr = r.model.linears.empty() ? 0 : sum / static_cast<double>(r.model.linears.size());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    fmt::print("{:<28} {:>8.4f} {:<16} {:<20} {:>10.4f} {:>+9.4f} {:>10.4g} {:>7.4f} {:>15} {:>7.2f}\n",
               r.model.label, r.model.bits_per_weight, r.model.activations, r.model.kv_cache, r.cmp.perplexity_test,
               r.cmp.perplexity_test - r.cmp.perplexity_ref, r.cmp.mean_kl, r.cmp.top1_agreement,
               name == "fp32" ? std::string("-") : fmt::format("{:.1f}/{:.1f}", r.min_sqnr, r.mean_sqnr), r.seconds);
    std::fflush(stdout);
    rows.push_back(std::move(r));
  };
  evaluate("fp32", {});
  for (const Run& run : runs) {
    if (run.method != "fp32") evaluate(run.method, run.options);
  }
  if (out) write_outputs(*out, rows, std::filesystem::path(checkpoint).stem().string(), data.about, data.ylabel);
  if (json) {
    write_json(*json, rows, data, checkpoint);
    fmt::print("wrote {}\n", *json);
  }
  fmt::print("done in {:.1f} s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
}  // namespace

int main(int argc, char** argv) { return fq::run_command("evaluate", argc, argv, run); }
