// `simulate --model CKPT ...`: the whole-model mode of simulate (docs/model.md).
#include "model/ckpt/checkpoint.h"
#include "model/ckpt/hf_checkpoint.h"
#include "model/core/atomic_file.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/qfile/qfile.h"
#include "sim/model_run.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

namespace fq::sim {
namespace {

constexpr const char* kUsage = R"(usage: simulate --model CKPT --arch ARCH.yaml [--set KEY=VALUE ...]
                (--method NAME [--OPTION VALUE ...] | --layer LAYER.q) [--tokenizer TOK.bin]
                (--prompt "TEXT" | --prompt-tokens ID,ID,...) --generate G
                [--engine fast|systemc] [--json OUT.json] [--costs COSTS.yaml] [--no-compare]

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
--engine               fast (default; timing only, outputs from the golden GEMM) or systemc
                       (computes every output, checked against the golden GEMM)
--json OUT.json        the report as JSON (schema fqsim.model-report/1)
--no-compare           skip the dequantized-weight comparison
)";

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
  CommandLine cl("simulate", argc, argv, {"help", "no-compare"});
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
  Params numbers("simulate --model");
  numbers.set("generate", cl.required("generate"));
  const int generate = static_cast<int>(numbers.get_int("generate", 2, 2, 1 << 20));
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
  if (prompt_text.has_value() == prompt_ids.has_value()) fail("give exactly one of --prompt and --prompt-tokens");
  if (prompt_text && !tokenizer_path) fail("--prompt needs --tokenizer to encode the text");

  const ArchConfig arch = load_arch(arch_path, overrides);
  const cost::CostModel costs(cost::load_cost_tables(costs_path), arch);
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
  const llm::IntPathModel model = method ? llm::make_int_path(fp32, *method, method_options)
                                         : llm::int_path_from_tensors(fp32, read_qfile(*layer), *layer);
  const ModelReport report = run_model(arch, costs, model, std::filesystem::path(model_path).filename().string(),
                                       prompt, generate, options, tokenizer ? &*tokenizer : nullptr);
  if (json_path) write_file_atomically(*json_path, [&](std::ostream& out) { out << to_json(report).dump(2) << "\n"; });
  fmt::print("{}", to_text(report));
  if (json_path) fmt::print("wrote {}\n", *json_path);
  fmt::print("time: {:.2f} s\n", report.seconds_wall);
  return 0;
}

}  // namespace fq::sim
