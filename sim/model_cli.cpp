// `simulate --model CKPT ...`: the whole-model mode of simulate (docs/model.md).
#include "model/ckpt/checkpoint.h"
#include "model/ckpt/hf_checkpoint.h"
#include "model/ckpt/synthetic.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/core/progress.h"
#include "model/cost/sha256.h"
#include "model/qfile/qfile.h"
#include "model/quant/i_quantizer.h"
#include "sim/model_run.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fq::sim {
namespace {

constexpr const char* kUsage = R"(usage: simulate --model CKPT --arch ARCH.yaml [--set KEY=VALUE ...]
                (--method NAME [--OPTION VALUE ...] | --layer LAYER.q) [--tokenizer TOK.bin]
                (--prompt "TEXT" | --prompt-tokens ID,ID,...) --generate G
                [--engine fast|systemc|rtl] [--classifier host|accel] [--json OUT.json] [--costs COSTS.yaml]
                [--no-compare] [--cache DIR]
       simulate --model synthetic:llama2-7b|synthetic:llama2-13b --arch ARCH.yaml --method NAME [...]
                --prompt-length P --generate G [--seed S] [--cache DIR] [--json OUT.json]

Runs a LLaMA model on the simulated accelerator (CKPT: a llama2.c .bin, or a Hugging Face
directory with config.json and model.safetensors): every decoder linear (wq ... w3 of every
layer) is a compiled tile program run through the engine on this run's INT8 activations; the
rest of the model runs in FP32 on the host side. Prefill of the prompt, then greedy decoding of
G tokens (the first from the prefill, G - 1 decode steps). The tokens and logits must equal the
golden integer path bit for bit (else an error names the first differing token, layer and
linear). Prints cycles, time and energy of the prefill and per decode token, by layer and by
linear, the host side's FLOPs and bytes, the KV cache traffic, and how the text compares with
evaluate's dequantized-weight inference (docs/model.md, docs/report-schema.md).

--method NAME          quantize the decoder linears: fineq (temporal arrays) or rtn --bits 8|4|3|2
                       (mac arrays with that pe.weight_bits); other options go to the quantizer
--layer LAYER.q        or read their codes from a .q file (every layers.L.wq ... w3)
--tokenizer TOK.bin    llama2.c tokenizer: needed for --prompt, adds the text to the report
--prompt "TEXT"        encoded with BOS as llama2.c run.c does
--prompt-tokens IDS    comma-separated token ids (no tokenizer needed)
--generate G           tokens to generate, >= 2
--engine               fast (default; timing only, outputs from the golden GEMM), systemc
                       (computes every output, checked against the golden GEMM) or rtl (the
                       Verilog through Verilator, likewise; builds a runner per arch: minutes)
--classifier WHERE     host (default: the FP32 classifier on the host side) or accel: the classifier
                       quantized with the same method (or the .q's 'output' tensor) runs on the
                       accelerator too, one program of M = 1 per pass (the next token's logits)
--json OUT.json        the report as JSON (schema fqsim.model-report/1)
--no-compare           skip the dequantized-weight comparison
--cache DIR            keep the quantized layers in DIR (one .q per layer, keyed by the checkpoint's
                       SHA-256, the method and its resolved options) and reuse them on later runs
synthetic:NAME         LLaMA-2 shapes with seeded synthetic weights (--seed, default 1): timing and
                       energy only (no tokens; timing does not depend on activation values), fast
                       engine; --prompt-length P tokens of prefill
)";

// LLaMA-2 shapes beyond one layer (Touvron et al. 2023, Table 1 and the released config.json
// files: 32 / 40 layers, 32 / 40 heads without grouped-query attention, vocabulary 32000,
// context 4096); d and d_ff come from synthetic_layer().
llm::LlamaConfig synthetic_config(const std::string& name) {
  const auto specs = synthetic_layer(name);
  if (specs.size() != 7) fail("--model synthetic:{}: not a LLaMA layer (llama2-7b, llama2-13b)", name);
  llm::LlamaConfig c;
  c.dim = specs[0].rows;
  c.hidden_dim = specs[4].rows;
  c.n_layers = name == "llama2-7b" ? 32 : 40;
  c.n_heads = c.n_kv_heads = name == "llama2-7b" ? 32 : 40;
  c.vocab_size = 32000;
  c.seq_len = 4096;
  return c;
}

std::string read_all(const std::filesystem::path& p) {
  const auto size = std::filesystem::file_size(p);
  if (size > (uint64_t{4} << 30)) fail("--cache: {} is larger than 4 GiB; hashing it is not supported", p.string());
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("{}: cannot open", p.string());
  std::string s(size, '\0');
  in.read(s.data(), static_cast<std::streamsize>(size));
  return s;
}

// The cache key of quantized layers: the checkpoint's content, the method and every option.
std::string cache_key(const std::string& identity, const std::string& method, const std::map<std::string, std::string>& options) {
  std::string k = identity + "\n" + method;
  for (const auto& [key, value] : options) k += fmt::format("\n{}={}", key, value);
  return cost::sha256_hex(k).substr(0, 32);
}

std::filesystem::path cache_file(const std::string& dir, const std::string& key, int layer) {
  return std::filesystem::path(dir) / fmt::format("{}-layer{}.q", key, layer);
}

// Layer `layer`'s 7 decoder linears from the cache, checked to be exactly that layer's.
std::vector<QTensor> read_cached_layer(const std::filesystem::path& file, int layer) {
  std::vector<QTensor> t = read_qfile(file);
  bool ok = t.size() == 7;
  for (size_t i = 0; ok && i < t.size(); ++i) ok = t[i].name == llm::tensor_name(layer, llm::kIntPathLinears[i]);
  if (!ok) fail("{}: not the 7 decoder linears of layer {}; delete the cache file", file.string(), layer);
  return t;
}

std::vector<int> parse_ids(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string cell;
  Params p("--prompt-tokens");
  while (std::getline(in, cell, ',')) {
    p.set("id", cell);
    out.push_back(static_cast<int>(p.get_int("id", 0, 0, 1 << 30)));
  }
  if (out.empty()) fail("--prompt-tokens '{}': no token ids", text);
  return out;
}

}  // namespace

int simulate_model_command(int argc, char** argv) {
  CommandLine cl(argc, argv, {"help", "no-compare"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string model_path = cl.required("model");
  const std::string arch_path = cl.required("arch");
  const auto overrides = cl.values("set");
  const auto method = cl.value("method");
  const auto layer = cl.value("layer");
  const auto tokenizer_path = cl.value("tokenizer");
  const auto prompt_text = cl.value("prompt");
  const auto prompt_ids = cl.value("prompt-tokens");
  const auto prompt_length = cl.value("prompt-length");
  const auto cache = cl.value("cache");
  const std::string classifier_where = cl.value("classifier").value_or("host");
  if (classifier_where != "host" && classifier_where != "accel") {
    fail("--classifier '{}': expected host or accel", classifier_where);
  }
  const bool classifier = classifier_where == "accel";
  Params numbers("--model");
  numbers.set("generate", cl.required("generate"));
  numbers.set("seed", cl.value("seed").value_or("1"));
  if (prompt_length) numbers.set("prompt-length", *prompt_length);
  const int generate = static_cast<int>(numbers.get_int("generate", 2, 2, 1 << 20));
  const auto seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));
  ModelRunOptions options;
  options.engine = cl.value("engine").value_or("fast");
  options.compare_dequantized = !cl.flag("no-compare");
  const auto json_path = cl.value("json");
  const std::string costs_path = cl.value("costs").value_or(cost::default_cost_tables_path());
  Params method_options(fmt::format("simulate --method {}", method.value_or("")));
  for (const auto& [key, value] : cl.take_rest()) method_options.set(key, value);
  cl.finish();
  if (method.has_value() == layer.has_value()) fail("give exactly one of --method NAME and --layer LAYER.q");
  if (layer && !method_options.values().empty()) {
    fail("option --{} is a quantizer option; --layer reads codes already quantized", method_options.values().begin()->first);
  }
  if (layer && cache) fail("--cache stores quantized layers; --layer reads them already quantized");
  const ArchConfig arch = load_arch(arch_path, overrides);
  const cost::CostModel costs(cost::load_cost_tables(costs_path), arch);
  std::optional<ModelReport> report;

  if (model_path.rfind("synthetic:", 0) == 0) {
    const std::string name = model_path.substr(10);
    if (prompt_text || prompt_ids || tokenizer_path) {
      fail("--model {} has no tokenizer and no text: give --prompt-length N (timing only)", model_path);
    }
    if (!prompt_length) fail("--model {} needs --prompt-length N", model_path);
    if (!method) fail("--model {} needs --method (its weights exist only as a seed)", model_path);
    if (options.engine != "fast") fail("--model {} runs timing only, on the fast engine (--engine fast)", model_path);
    if (classifier) fail("--classifier accel: --model {} is timed layer by layer from seeded codes and has no classifier codes", model_path);
    const int p = static_cast<int>(numbers.get_int("prompt-length", 1, 1, 1 << 20));
    const auto quantizer = make_quantizer(*method, method_options);
    if (quantizer->needs_calibration()) fail("--method {} needs calibration data, which a synthetic model has not", *method);
    TimingOnlyModel tm;
    tm.name = model_path;
    tm.config = synthetic_config(name);
    tm.method = *method;
    tm.options = quantizer->describe();
    const std::string key = cache_key(fmt::format("{} seed={}", model_path, seed), tm.method, tm.options);
    Progress progress("simulate");
    const auto specs = synthetic_layer(name);
    tm.layer_codes = [&](int l) {
      progress.stage(fmt::format("layer {} of {}", l + 1, tm.config.n_layers));
      if (cache && std::filesystem::exists(cache_file(*cache, key, l))) return read_cached_layer(cache_file(*cache, key, l), l);
      std::vector<QTensor> out;
      for (size_t i = 0; i < specs.size(); ++i) {
        SyntheticTensorSpec spec = specs[i];
        spec.name = llm::tensor_name(l, llm::kIntPathLinears[i]);
        QTensor t;
        t.name = spec.name;
        t.method = tm.method;
        t.params = tm.options;
        t.matrix = quantizer->encode(synthetic_weights(spec, seed), spec.rows, spec.cols);
        out.push_back(std::move(t));
      }
      if (cache) {
        std::filesystem::create_directories(*cache);
        write_qfile(cache_file(*cache, key, l), out);
      }
      return out;
    };
    report = time_model(arch, costs, tm, p, generate, seed);
  } else {
    if (prompt_length) fail("--prompt-length is for synthetic models; give --prompt or --prompt-tokens");
    if (prompt_text.has_value() == prompt_ids.has_value()) fail("give exactly one of --prompt and --prompt-tokens");
    if (prompt_text && !tokenizer_path) fail("--prompt needs --tokenizer to encode the text");
    const auto ckpt = open_model_checkpoint(model_path);
    const llm::LlamaWeights fp32 = llm::load_llama(*ckpt);
    std::optional<llm::Tokenizer> tokenizer;
    if (tokenizer_path) {
      tokenizer = llm::Tokenizer::load(*tokenizer_path);
      if (tokenizer->vocab_size() != fp32.config.vocab_size) {
        fail("{}: {} tokens, but {} has a vocabulary of {}", *tokenizer_path, tokenizer->vocab_size(), model_path,
             fp32.config.vocab_size);
      }
    }
    std::vector<int> prompt = prompt_text ? tokenizer->encode(*prompt_text, true, false) : parse_ids(*prompt_ids);
    for (const int id : prompt) {
      if (id >= fp32.config.vocab_size) fail("--prompt-tokens: id {} is outside the vocabulary [0, {})", id, fp32.config.vocab_size);
    }
    std::optional<llm::IntPathModel> model;
    if (layer) {
      model = llm::int_path_from_tensors(fp32, read_qfile(*layer), *layer, classifier);
    } else if (cache) {
      const std::filesystem::path mp(model_path);
      const std::string identity = std::filesystem::is_directory(mp)
                                       ? read_all(mp / "config.json") + read_all(mp / "model.safetensors")
                                       : read_all(mp);
      const auto described = make_quantizer(*method, method_options)->describe();
      const std::string key = cache_key(cost::sha256_hex(identity), *method, described);
      bool all = true;
      for (int l = 0; l < fp32.config.n_layers; ++l) all = all && std::filesystem::exists(cache_file(*cache, key, l));
      if (all) {
        std::vector<QTensor> tensors;
        for (int l = 0; l < fp32.config.n_layers; ++l) {
          auto t = read_cached_layer(cache_file(*cache, key, l), l);
          tensors.insert(tensors.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
        }
        model = llm::int_path_from_tensors(fp32, std::move(tensors), *cache);
        model->method = *method;
        model->options = described;
        if (classifier) llm::quantize_classifier(*model, *method, method_options);
      } else {
        model = llm::make_int_path(fp32, *method, method_options, classifier);
        std::filesystem::create_directories(*cache);
        for (int l = 0; l < fp32.config.n_layers; ++l) {
          const auto first = model->linears.begin() + l * 7;
          write_qfile(cache_file(*cache, key, l), std::vector<QTensor>(first, first + 7));
        }
      }
    } else {
      model = llm::make_int_path(fp32, *method, method_options, classifier);
    }
    report = run_model(arch, costs, *model, std::filesystem::path(model_path).filename().string(), prompt, generate,
                       options, tokenizer ? &*tokenizer : nullptr);
  }
  if (json_path) write_file_atomically(*json_path, [&](std::ostream& out) { out << to_json(*report).dump(2) << "\n"; });
  fmt::print("{}", to_text(*report));
  if (json_path) fmt::print("wrote {}\n", *json_path);
  fmt::print("time: {:.2f} s\n", report->seconds_wall);
  return 0;
}

}  // namespace fq::sim
