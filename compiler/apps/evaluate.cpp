// evaluate: accuracy of quantization methods on a real llama2.c model: perplexity and KL divergence
// to FP32 on token sequences sampled from the FP32 model, plus per-layer weight SQNR
// (docs/accuracy.md).
#include "model/ckpt/checkpoint.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/llm/eval_metrics.h"
#include "model/llm/quant_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

namespace {

constexpr const char* kUsage = R"(usage: evaluate --checkpoint PATH (--method NAME [options] | --all) [--sequences N]
                [--length L] [--calibration N] [--seed S] [--threads N] [--out PREFIX]

Runs the FP32 model and the model with METHOD applied to its decoder linears (weights, and the
activations and KV cache where the method quantizes them) on N token sequences of L tokens
sampled from the FP32 model (seeded; no tokenizer needed), and prints perplexity, KL(FP32 || Q),
top-1 agreement, bits per weight and weight SQNR. --all evaluates the table of docs/accuracy.md.
gptq, quantease and quarot calibrate on --calibration further sampled sequences.

Methods and options (defaults in brackets):
  fineq      --policy [ratio]|mse --threshold [4] --group [0] --acts fp32|[int8]
  rtn        --bits [4] --group [0] --clip [none]|mse --norm [2.4] --rounding [half_away]|rne --acts [fp32]|int8
  gptq       --bits [4] --group [0] --block [128] --damp [0.01] --act_order [0] --clip none|[mse]
             --norm [2.4] --sym [1] --acts [fp32]|int8
  quantease  --bits [3] --sym [0] --sweeps [30] --act_order [0] --relaxed [0] --outliers [0]
             --structured [0] --acts [fp32]|int8
  quarot     --weights rtn|[gptq] --w_bits [4] --a_bits [4] --a_clip [0.9] --kv_bits [4] --kv_clip [0.95] --rotation_seed [0]
  bfp        --bits 8|[6]|4 --block [16] --rounding [rne]|half_away --acts [same]|fp32
  mxint8, mxfp4   --rounding [half_away]|rne --acts [same]|fp32
  fp32       the reference itself

Defaults: --sequences 32 --length 256 --calibration 16 --seed 1. With --out PREFIX writes
PREFIX.csv (one row per method), PREFIX-layers.csv (weight SQNR per linear), PREFIX.md (the table)
and PREFIX.gp with, when gnuplot is installed, PREFIX.svg (bits per weight vs perplexity).
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
                   const std::string& about) {
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
      << "set ylabel 'perplexity on FP32-sampled sequences (log scale)'\n"
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

int run(int argc, char** argv) {
  fq::CommandLine cl("evaluate", argc, argv, {"help", "all"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string checkpoint = cl.required("checkpoint");
  const auto method = cl.value("method");
  const bool all = cl.flag("all");
  fq::Params numbers("evaluate");
  for (const char* key : {"sequences", "length", "calibration", "seed", "threads"}) {
    if (const auto v = cl.value(key)) numbers.set(key, *v);
  }
  const auto out = cl.value("out");
  fq::Params options(fmt::format("evaluate --method {}", method.value_or("")));
  for (const auto& [key, value] : cl.take_rest()) options.set(key, value);
  cl.finish();
  if (method.has_value() == all) fq::fail("give exactly one of --method NAME and --all (see --help)");
  if (all && !options.values().empty()) {
    fq::fail("--all runs fixed settings; option --{} needs --method", options.values().begin()->first);
  }
  const int n_seq = static_cast<int>(numbers.get_int("sequences", 32, 1, 100000));
  const int length = static_cast<int>(numbers.get_int("length", 256, 2, 1 << 20));
  const int n_calib = static_cast<int>(numbers.get_int("calibration", 16, 1, 100000));
  const auto seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  if (const auto t = numbers.get_int("threads", 0, 0, 1024); t > 0) setenv("FQ_THREADS", std::to_string(t).c_str(), 1);

  std::vector<Run> runs;
  if (all) {
    runs = all_runs();
  } else {
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
  if (length > fp32.config.seq_len) fq::fail("--length {} exceeds the model's seq_len {}", length, fp32.config.seq_len);
  const auto sequences = fq::llm::sample_sequences(fp32, n_seq, length, seed);
  const auto calibration = fq::llm::sample_sequences(fp32, n_calib, length, seed + static_cast<uint64_t>(n_seq));
  const std::string about = fmt::format(
      "Model {} ({} layers, dim {}, hidden {}); {} evaluation sequences x {} tokens sampled from the FP32 model "
      "(temperature 1, seeds {}..{}); {} calibration sequences (seeds {}..{}).",
      std::filesystem::path(checkpoint).filename().string(), fp32.config.n_layers, fp32.config.dim,
      fp32.config.hidden_dim, n_seq, length, seed, seed + static_cast<uint64_t>(n_seq) - 1, n_calib,
      seed + static_cast<uint64_t>(n_seq), seed + static_cast<uint64_t>(n_seq + n_calib) - 1);
  fmt::print("{}\n", about);
  fmt::print("{:<28} {:>8} {:<16} {:<20} {:>10} {:>9} {:>10} {:>7} {:>15} {:>7}\n", "method", "bits/w", "activations",
             "kv cache", "ppl", "d_ppl", "kl", "top1", "sqnr min/mean", "sec");

  std::vector<Row> rows;
  const auto evaluate = [&](const std::string& name, const std::map<std::string, std::string>& opts) {
    const auto t1 = std::chrono::steady_clock::now();
    fq::Params p(fmt::format("evaluate --method {}", name));
    for (const auto& [k, v] : opts) p.set(k, v);
    Row r;
    r.model = fq::llm::quantize_model(fp32, name, p, calibration);
    r.cmp = fq::llm::compare_models(fp32, r.model.weights, sequences, r.model.hooks);
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
  if (out) write_outputs(*out, rows, std::filesystem::path(checkpoint).stem().string(), about);
  fmt::print("done in {:.1f} s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("evaluate", argc, argv, run); }
