// The whole model on the accelerator (`simulate --model`, docs/model.md): prefill of a prompt and
// greedy decode steps of a LLaMA model whose decoder linears are each a compiled tile program run
// through an engine on this run's real INT8 activations, with the outputs feeding the model; the
// other operations run in FP32 on the host side (model/llm, unchanged).
// Contract: the run's logits and tokens equal the golden integer path's (model/llm/int_path.h) bit
// for bit, else run_model() throws an fq::Error naming the first token position, layer and linear
// whose output differs. The SystemC engine computes every linear's outputs, which must equal the
// golden integer GEMM's (so do the RTL's, whose per-op cycles must equal the timing contract's);
// the fast engine computes no data (it uses the golden outputs) and only
// contributes cycles. A program whose timing cannot differ (same layer, linear and M: same shapes
// and codes) is compiled and timed once and its timing reused; the SystemC engine reruns it with
// each call's activations and must reproduce the same timeline exactly.
#pragma once

#include "model/arch/arch_config.h"
#include "model/cost/cost_model.h"
#include "model/llm/int_path.h"
#include "model/llm/tokenizer.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fq::sim {

inline constexpr const char* kModelReportSchema = "fqsim.model-report/1";

struct LinearCost {
  uint64_t cycles = 0;
  double energy_pj = 0;
  uint64_t calls = 0;
  LinearCost& operator+=(const LinearCost& o) {
    cycles += o.cycles;
    energy_pj += o.energy_pj;
    calls += o.calls;
    return *this;
  }
};

// One forward pass: the prefill (all prompt tokens) or one decode step (one token).
struct StepCost {
  int pos0 = 0, tokens = 0;
  LinearCost linears;            // the decoder linears' programs
  LinearCost classifier;         // the classifier's program (--classifier accel), else nothing
  uint64_t kv_cycles = 0;        // streaming the cached K and V from DRAM (docs/model.md)
  double kv_energy_pj = 0;
  uint64_t kv_read_bytes = 0, kv_write_bytes = 0;
  double host_flops = 0;         // FP32 operations on the host side
  uint64_t host_bytes = 0;       // bytes the host side reads and writes (docs/model.md)
  uint64_t cycles() const { return linears.cycles + classifier.cycles + kv_cycles; }
  double energy_pj() const { return linears.energy_pj + classifier.energy_pj + kv_energy_pj; }
};

// Fault injection for tests: flips the lowest bit of output column 0 of one linear at one token
// position in the accelerator run, after the engine's check, to prove the end-to-end comparison
// names it.
struct InjectedFault {
  int position = 0, layer = 0;
  llm::Linear which = llm::Linear::kWq;
};

struct ModelRunOptions {
  std::string engine = "fast";  // fast | systemc | rtl (the Verilog through Verilator; slow)
  bool compare_dequantized = true;
  std::optional<InjectedFault> fault;
};

struct ModelReport {
  bool timing_only = false;  // a synthetic model: cycles and energy only, no tokens (time_model)
  std::string model_name;
  llm::LlamaConfig config;
  std::string method;
  std::map<std::string, std::string> method_options;
  std::string engine;
  ArchConfig arch;
  std::string fingerprint;
  std::vector<int> prompt_tokens, generated_tokens, golden_tokens;
  std::optional<std::string> prompt_text, generated_text;
  bool logits_identical = false;  // always true in a returned report (a difference throws)
  StepCost prefill;
  std::vector<StepCost> decode;  // one per decode step, in order
  // [layer][linear_index]: prefill and the sum over decode steps.
  std::vector<std::array<LinearCost, 7>> prefill_by_linear, decode_by_linear;
  bool classifier_on_accel = false;  // the classifier runs as a program (else FP32 on the host side)
  HwFormat classifier_format = HwFormat::kFineqR;  // its codes, when on the accelerator
  std::vector<uint64_t> prefill_kv_cycles_by_layer, decode_kv_cycles_by_layer;
  uint64_t programs_compiled = 0, engine_runs = 0, timing_reuses = 0;
  // The same method in evaluate's dequantized-weight FP32 inference (activations INT8 per token).
  bool compared = false;
  std::vector<int> dequantized_tokens;  // its own greedy tokens after the prompt
  double kl_int_vs_dequantized = 0;     // mean KL(integer path || dequantized) over the generated positions
  int first_divergence = -1;            // first index where dequantized_tokens differ; -1 if none
  uint64_t kv_cache_bytes_per_token = 0;
  double seconds_wall = 0;
};

// Runs prefill of `prompt` and greedy decoding of `generate` tokens in total (the first from the
// prefill's logits, then generate - 1 decode steps; generate >= 2) on the accelerator and on the
// golden integer path, and checks they agree. `tokenizer` (optional) only adds text.
ModelReport run_model(const ArchConfig& arch, const cost::CostModel& costs, const llm::IntPathModel& model,
                      const std::string& model_name, const std::vector<int>& prompt, int generate,
                      const ModelRunOptions& options, const llm::Tokenizer* tokenizer = nullptr);

// A model known by its shapes and codes only (synthetic weights): no tokens and no golden run, but
// exact cycles and energy, since a program's timing depends on its shapes, codes and M and never
// on the activation values (docs/model.md). `layer_codes(l)` returns the 7 decoder linears of layer
// l (named layers.l.wq …), called once per layer in order, so only one layer's codes are held.
// A later layer reuses the first layer's program of the same linear and M with its own codes
// written in, unless the program depends on the codes (compiler.tile_order: beat) and its tile
// beats differ: then it is compiled for that layer.
struct TimingOnlyModel {
  std::string name;
  llm::LlamaConfig config;
  std::string method;
  std::map<std::string, std::string> options;
  std::function<std::vector<QTensor>(int layer)> layer_codes;
};

// The prefill of `prompt_tokens` tokens and generate - 1 decode steps, timed on the fast engine
// with seeded synthetic activations (`act_seed`); programs of one layer compile in parallel.
ModelReport time_model(const ArchConfig& arch, const cost::CostModel& costs, const TimingOnlyModel& model,
                       int prompt_tokens, int generate, uint64_t act_seed);

std::string to_text(const ModelReport& report);
nlohmann::json to_json(const ModelReport& report);

// `simulate --model ...`: parses the options of that mode from argv and runs it (docs/model.md).
int simulate_model_command(int argc, char** argv);

}  // namespace fq::sim
