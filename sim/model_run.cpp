#include "sim/model_run.h"

#include "compiler/compiler.h"
#include "model/arch/pe_model.h"
#include "model/core/error.h"
#include "model/golden/act_quant.h"
#include "model/golden/int_gemm.h"
#include "model/core/parallel.h"
#include "model/ir/verifier.h"
#include "model/llm/eval_metrics.h"
#include "model/timing/timing.h"
#include "sim/fast/fast_engine.h"
#include "sim/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

namespace fq::sim {
namespace {

using llm::kIntPathLinears;
using llm::Linear;

constexpr uint64_t kF32 = 4;

// Host-side FP32 work of one token at position `pos` (docs/model.md "Host side"): the float
// operations of model/llm's code outside the decoder linears, and the bytes it reads and writes
// (parameters, the linears' INT8 inputs and scales written for the accelerator and the FP32
// outputs read back); the KV cache is counted separately. With the classifier on the accelerator
// the host neither reads its FP32 weights nor multiplies them; it writes the INT8 input row of
// the one token whose logits are computed (`logits`) and reads the logits back.
void add_host_token(const llm::LlamaConfig& c, int pos, bool classifier_on_accel, bool logits, StepCost& s) {
  const double dim = c.dim, kv = c.kv_dim(), hs = c.head_size(), hidden = c.hidden_dim, ctx = pos + 1.0;
  const double rmsnorm = 4 * dim + 4;
  const double rope = 3 * (dim + kv);
  const double attention = c.n_heads * ctx * (4 * hs + 6);  // q·k, scale, softmax (5 per score), a·v
  const double swiglu = 6 * hidden;
  const double residual = 2 * dim;
  // INT8 per-token quantization of the four distinct linear inputs: |x| max, divide, round.
  const double act_quant = 3 * (3 * dim + hidden);
  s.host_flops += c.n_layers * (2 * rmsnorm + rope + attention + swiglu + residual + act_quant) + rmsnorm;
  uint64_t bytes = kF32 * static_cast<uint64_t>(c.dim);                                     // embedding row
  bytes += kF32 * static_cast<uint64_t>(c.dim) * static_cast<uint64_t>(2 * c.n_layers + 1);  // norm weights
  if (!classifier_on_accel) {
    s.host_flops += 2.0 * c.vocab_size * dim;
    bytes += kF32 * static_cast<uint64_t>(c.vocab_size) * static_cast<uint64_t>(c.dim);  // FP32 classifier
  } else if (logits) {
    s.host_flops += 3 * dim;  // the classifier input's INT8 quantization
    bytes += static_cast<uint64_t>(c.dim) + kF32 + kF32 * static_cast<uint64_t>(c.vocab_size);
  }
  for (const Linear which : kIntPathLinears) {
    bytes += static_cast<uint64_t>(c.n_layers) *
             (static_cast<uint64_t>(c.cols(which)) + kF32 + kF32 * static_cast<uint64_t>(c.rows(which)));
  }
  s.host_bytes += bytes;
}

struct Timed {
  uint64_t cycles = 0;
  double energy_pj = 0;
  timing::Timeline timeline;                         // kept for the SystemC rerun check
  std::unique_ptr<compiler::CompiledLayer> program;  // kept only when the engine computes data
  // time_model with compiler.tile_order: beat: the tile beats the program was ordered and mapped
  // by, so that it serves only codes with the same beats.
  std::optional<compiler::BeatGrid> beats;
};

// The timeline of one run on `engine` (any registered engine with cycles). An engine with an op
// timeline gives it; one with done cycles only (rtl) must agree with the timing contract op for op
// (the fast engine's timeline, which also gives the action counts the energy comes from). An
// engine that computes data leaves its DRAM image, with the outputs, in p.memory.
timing::Timeline run_engine(const Engine& engine, compiler::CompiledLayer& p, const ArchConfig& arch,
                            uint64_t& runs) {
  ++runs;
  const bool bytes = engine.parts().bytes;
  EngineResult r = engine.run(arch, p.program, bytes ? std::move(p.memory) : p.memory);
  if (bytes) p.memory = std::move(*r.memory);
  if (r.timeline) return std::move(*r.timeline);
  timing::Timeline tl = run_fast(p.program, arch, p.memory);
  for (size_t op = 0; op < tl.ops.size(); ++op) {
    if (r.done_cycle(op) != tl.ops[op].done) {
      fail("{} engine: {} op {} is done in cycle {}, the timing contract says {}", engine.name(),
           p.program.gemms.front().name, op, r.done_cycle(op), tl.ops[op].done);
    }
  }
  if (r.total_cycles() != tl.total_cycles) {
    fail("{} engine: {} takes {} cycles, the timing contract {}", engine.name(), p.program.gemms.front().name,
         r.total_cycles(), tl.total_cycles);
  }
  return tl;
}

// The timing-only path (time_model) is the fast engine's timing contract, called directly: the
// registry's run() takes the DRAM image by value, and a 7B linear's image is hundreds of MB.
timing::Timeline run_fast_in_place(compiler::CompiledLayer& p, const ArchConfig& arch, uint64_t& runs) {
  ++runs;
  return run_fast(p.program, arch, p.memory);
}

// One linear as a tile program: compiled for these activations, verified and run once on `engine`
// (nullptr: the timing-only path, run_fast_in_place).
Timed compile_and_time(const ArchConfig& arch, const cost::CostModel& costs, const Engine* engine,
                       const QTensor& w, const QuantizedActs& a, uint64_t& runs) {
  Timed t;
  const compiler::GemmInput in{&w, {a.rows, a.cols, a.q, a.scales}};
  t.program = std::make_unique<compiler::CompiledLayer>(compiler::compile_layer(arch, {&in, 1}));
  ir::verify(t.program->program, arch, t.program->program.arch_fingerprint, t.program->memory.end_bytes());
  t.timeline = engine != nullptr ? run_engine(*engine, *t.program, arch, runs) : run_fast_in_place(*t.program, arch, runs);
  t.cycles = t.timeline.total_cycles;
  t.energy_pj = costs.energy_pj(t.timeline.actions, t.cycles).total;
  return t;
}

// One forward pass of `rows` tokens from position pos0, per layer: the cached K and V of the
// earlier positions 0 .. pos0-1 stream from DRAM once (two bursts: K rows, V rows, contiguous per
// layer) and the pass's own K and V, which the host has just computed, go out on the write channel
// meanwhile (docs/model.md "KV cache").
void add_kv_pass(const ArchConfig& arch, const cost::CostModel& costs, const llm::LlamaConfig& c, int pos0, int rows,
                 StepCost& step, std::vector<uint64_t>& by_layer) {
  const uint64_t row = kF32 * static_cast<uint64_t>(c.kv_dim());
  const auto layers = static_cast<uint64_t>(c.n_layers);
  const uint64_t cycles = pos0 == 0 ? 0
                                    : static_cast<uint64_t>(arch.dram_latency_cycles) +
                                          timing::dma_transfer_cycles(arch, 2, row * static_cast<uint64_t>(pos0));
  for (uint64_t& l : by_layer) l += cycles;
  timing::ActionCounts all;
  all.dram_read_bytes = 2 * row * static_cast<uint64_t>(pos0) * layers;
  all.dram_write_bytes = 2 * row * static_cast<uint64_t>(rows) * layers;
  step.kv_cycles += cycles * layers;
  step.kv_energy_pj += costs.energy_pj(all, cycles * layers).total;
  step.kv_read_bytes += all.dram_read_bytes;
  step.kv_write_bytes += all.dram_write_bytes;
}

// Opens the prefill (prefill = true) or a new decode step of `rows` tokens from position pos0 and
// charges their host-side work and KV traffic.
StepCost& begin_step(ModelReport& r, const ArchConfig& arch, const cost::CostModel& costs, int pos0, int rows,
                     bool prefill) {
  StepCost* step = &r.prefill;
  if (!prefill) step = &r.decode.emplace_back();
  step->pos0 = pos0;
  step->tokens = rows;
  for (int t = 0; t < rows; ++t) add_host_token(r.config, pos0 + t, r.classifier_on_accel, t == rows - 1, *step);
  add_kv_pass(arch, costs, r.config, pos0, rows, *step, prefill ? r.prefill_kv_cycles_by_layer : r.decode_kv_cycles_by_layer);
  return *step;
}

void init_report(ModelReport& r, const ArchConfig& arch, const llm::LlamaConfig& c, const std::string& name) {
  r.model_name = name;
  r.config = c;
  r.arch = arch;
  r.fingerprint = fingerprint(arch);
  r.prefill_by_linear.resize(static_cast<size_t>(c.n_layers));
  r.decode_by_linear.resize(static_cast<size_t>(c.n_layers));
  r.prefill_kv_cycles_by_layer.assign(static_cast<size_t>(c.n_layers), 0);
  r.decode_kv_cycles_by_layer.assign(static_cast<size_t>(c.n_layers), 0);
  r.kv_cache_bytes_per_token = 2 * kF32 * static_cast<uint64_t>(c.kv_dim()) * static_cast<uint64_t>(c.n_layers);
}

class Accelerator {
 public:
  Accelerator(const ArchConfig& arch, const cost::CostModel& costs, const llm::IntPathModel& model,
              const ModelRunOptions& options, ModelReport& report)
      : m_arch(arch), m_costs(costs), m_model(model), m_engine(find_engine(options.engine, "--engine")), m_fault(options.fault),
        m_report(report) {}

  void begin(int pos0, int rows, int prompt_tokens) {
    m_prefill = pos0 == 0 && rows == prompt_tokens;
    m_pos0 = pos0;
    m_step = &begin_step(m_report, m_arch, m_costs, pos0, rows, m_prefill);
  }

  bool linear(int layer, Linear which, int rows, std::span<const float> x, std::span<float> out) {
    if (which == Linear::kCls) return m_model.classifier && classifier(rows, x, out);  // else FP32 on the host side
    const QTensor& w = m_model.linear(layer, which);
    const QuantizedActs a = quantize_activations(x, rows, w.matrix.cols);
    const std::vector<float> golden = dequant(int_gemm(a, w.matrix), a, w.matrix);
    const int idx = llm::linear_index(which);
    const Timed& timed = time_call(std::make_tuple(layer, idx, rows), w, a, golden, layer, which, rows);
    std::copy(golden.begin(), golden.end(), out.begin());
    if (m_fault && m_fault->layer == layer && m_fault->which == which && m_fault->position >= m_pos0 &&
        m_fault->position < m_pos0 + rows) {
      float& v = out[static_cast<size_t>(m_fault->position - m_pos0) * static_cast<size_t>(w.matrix.rows)];
      uint32_t bits = 0;
      std::memcpy(&bits, &v, sizeof bits);
      bits ^= 1u;
      std::memcpy(&v, &bits, sizeof bits);
    }
    const LinearCost cost{timed.cycles, timed.energy_pj, 1};
    m_step->linears += cost;
    auto& by = m_prefill ? m_report.prefill_by_linear : m_report.decode_by_linear;
    by[static_cast<size_t>(layer)][static_cast<size_t>(idx)] += cost;
    if (m_digests) m_digests->record(layer, which, rows, out);
    return true;
  }

  void set_digests(llm::LinearDigests* d) { m_digests = d; }

 private:
  // The classifier as one program of M = 1: only the last row's logits are used (the next token),
  // so only that row goes through the accelerator, in the prefill as in decode; the other rows'
  // logits, which model/llm computes and greedy decoding discards, are the golden path's.
  bool classifier(int rows, std::span<const float> x, std::span<float> out) {
    const QTensor& w = *m_model.classifier;
    const auto dim = static_cast<size_t>(w.matrix.cols);
    const std::vector<float> all = llm::int_linear(w, rows, x);
    const QuantizedActs a = quantize_activations(x.subspan((static_cast<size_t>(rows) - 1) * dim, dim), 1, w.matrix.cols);
    const std::vector<float> golden = dequant(int_gemm(a, w.matrix), a, w.matrix);
    const Timed& timed = time_call(std::make_tuple(-1, 7, 1), w, a, golden, -1, Linear::kCls, 1);
    // The last row of the golden rows is the accelerator's row, bit for bit (rows are independent).
    if (std::memcmp(all.data() + all.size() - golden.size(), golden.data(), golden.size() * sizeof(float)) != 0) {
      fail("integer path: the classifier's last row differs between M = {} and M = 1", rows);
    }
    std::copy(all.begin(), all.end(), out.begin());
    m_step->classifier += LinearCost{timed.cycles, timed.energy_pj, 1};
    if (m_digests) m_digests->record(-1, Linear::kCls, rows, out);
    return true;
  }

  // The program of (layer, linear, M) timed on its first call; later calls reuse its timing, and an
  // engine that computes data runs it again on their activations (same timing, golden outputs).
  const Timed& time_call(const std::tuple<int, int, int>& key, const QTensor& w, const QuantizedActs& a,
                         const std::vector<float>& golden, int layer, Linear which, int rows) {
    auto it = m_timed.find(key);
    const bool computes = m_engine.parts().bytes;
    if (it == m_timed.end()) {
      Timed t = compile_and_time(m_arch, m_costs, &m_engine, w, a, m_report.engine_runs);
      ++m_report.programs_compiled;
      if (computes) {
        check_outputs(*t.program, golden, layer, which);
      } else {
        t.program.reset();
      }
      return m_timed.emplace(key, std::move(t)).first->second;
    }
    if (computes) rerun(it->second, a, golden, layer, which, rows, w.name);
    ++m_report.timing_reuses;
    return it->second;
  }

  // A cached program run again on new activations: same timing, outputs equal to golden.
  void rerun(Timed& t, const QuantizedActs& a, const std::vector<float>& golden, int layer, Linear which, int rows,
             const std::string& name) {
    compiler::CompiledLayer& p = *t.program;
    const ir::GemmDesc& g = p.program.gemms.front();
    p.memory.write(g.a_addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(a.q.data()), a.q.size()));
    for (size_t m = 0; m < a.scales.size(); ++m) p.memory.write_f32(g.as_addr + 4 * m, a.scales[m]);
    const timing::Timeline tl = run_engine(m_engine, p, m_arch, m_report.engine_runs);
    if (!(tl == t.timeline)) {
      fail("{} engine: the timing of {} (M = {}) changed with its activations ({} cycles, first run {}); the "
           "timing contract says it cannot",
           m_engine.name(), name, rows, tl.total_cycles, t.timeline.total_cycles);
    }
    check_outputs(p, golden, layer, which);
  }

  // The engine's FP32 outputs against the golden integer GEMM's, bit for bit.
  void check_outputs(const compiler::CompiledLayer& p, const std::vector<float>& golden, int layer, Linear which) {
    const ir::GemmDesc& g = p.program.gemms.front();
    for (size_t i = 0; i < golden.size(); ++i) {
      const float y = p.memory.read_f32(g.y_addr + 4 * i);
      if (std::memcmp(&y, &golden[i], sizeof y) != 0) {
        fail("{} engine: {} output [token position {}, column {}] is {} but the golden integer GEMM gives {}",
             m_engine.name(), llm::tensor_name(layer, which), m_pos0 + static_cast<int>(i / g.n), i % g.n, y, golden[i]);
      }
    }
  }

  const ArchConfig& m_arch;
  const cost::CostModel& m_costs;
  const llm::IntPathModel& m_model;
  const Engine& m_engine;
  std::optional<InjectedFault> m_fault;
  ModelReport& m_report;
  std::map<std::tuple<int, int, int>, Timed> m_timed;
  StepCost* m_step = nullptr;
  bool m_prefill = false;
  int m_pos0 = 0;
  llm::LinearDigests* m_digests = nullptr;
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

ModelReport run_model(const ArchConfig& arch, const cost::CostModel& costs, const llm::IntPathModel& model,
                      const std::string& model_name, const std::vector<int>& prompt, int generate,
                      const ModelRunOptions& options, const llm::Tokenizer* tokenizer) {
  const auto t0 = std::chrono::steady_clock::now();
  const Engine& engine = find_engine(options.engine, "--engine");
  require_parts(engine, {.cycles = true}, "--engine " + options.engine, "simulate --model reports cycles per token");
  if (const auto why = engine.refusal(arch)) fail("--engine {}: {}", options.engine, *why);
  if (generate < 2) fail("--generate {}: give at least 2 (the prefill yields the first token, decode the rest)", generate);
  const llm::LlamaConfig& c = model.weights.config;
  ModelReport r;
  init_report(r, arch, c, model_name);
  r.method = model.method;
  r.method_options = model.options;
  r.engine = options.engine;
  r.classifier_on_accel = model.classifier.has_value();
  if (model.classifier) r.classifier_format = model.classifier->matrix.format;
  r.prompt_tokens = prompt;

  // The golden integer path, token by token.
  llm::LinearDigests golden_digests;
  const llm::Hooks golden_hooks = llm::int_path_hooks(model, &golden_digests);
  const llm::GreedyRun golden = llm::greedy_after_prompt(
      model.weights, golden_hooks, prompt, generate, false,
      [&](int pos0, int) { golden_digests.set_first_position(pos0); });
  r.golden_tokens = golden.generated;

  // The accelerator: the prompt in one prefill pass, then one pass per decode step.
  llm::LinearDigests accel_digests;
  Accelerator accel(arch, costs, model, options, r);
  accel.set_digests(&accel_digests);
  llm::Hooks hooks;
  hooks.linear = [&accel](int layer, Linear which, int rows, std::span<const float> x, std::span<float> out) {
    return accel.linear(layer, which, rows, x, out);
  };
  const int p = static_cast<int>(prompt.size());
  const llm::GreedyRun run = llm::greedy_after_prompt(model.weights, hooks, prompt, generate, true, [&](int pos0, int rows) {
    accel_digests.set_first_position(pos0);
    accel.begin(pos0, rows, p);
  });
  r.generated_tokens = run.generated;

  // Every linear output, then the logits and tokens, must equal the golden run's bit for bit.
  const auto& a = accel_digests.digests();
  const auto& g = golden_digests.digests();
  std::string where;
  for (const auto& [key, digest] : g) {
    const auto it = a.find(key);
    if (it == a.end() || it->second != digest) {
      const auto [pos, layer, idx] = key;
      where = idx < 0 ? fmt::format("first at token position {}, the classifier", pos)
                      : fmt::format("first at token position {}, layer {}, linear {}", pos, layer,
                                    llm::linear_name(kIntPathLinears[static_cast<size_t>(idx)]));
      break;
    }
  }
  if (where.empty() && a.size() != g.size()) where = fmt::format("{} linear outputs against {}", a.size(), g.size());
  if (!where.empty() || !same_bits(run.logits, golden.logits) || run.generated != golden.generated) {
    if (where.empty()) where = "no linear output differs (the classifier or host side does)";
    size_t step = 0;
    while (step < run.generated.size() && run.generated[step] == golden.generated[step]) ++step;
    fail("the accelerator run differs from the golden integer path: {}; generated tokens agree up to index {} "
         "(accelerator {}, golden {})",
         where, step, step < run.generated.size() ? std::to_string(run.generated[step]) : "-",
         step < golden.generated.size() ? std::to_string(golden.generated[step]) : "-");
  }
  r.logits_identical = true;

  if (options.compare_dequantized) {
    const llm::DequantizedModel dq = llm::dequantized_model(model);
    r.dequantized_tokens = llm::greedy_after_prompt(dq.weights, dq.hooks, prompt, generate, false).generated;
    // Teacher-forced on the integer path's own sequence, so both see the same context.
    std::vector<int> seq = prompt;
    seq.insert(seq.end(), golden.generated.begin(), golden.generated.end() - 1);
    const std::vector<float> dq_logits = llm::forward_sequence(dq.weights, seq, dq.hooks);
    const size_t vocab = static_cast<size_t>(c.vocab_size);
    const std::span<const float> tail(dq_logits.data() + (seq.size() - golden.generated.size()) * vocab,
                                      golden.generated.size() * vocab);
    r.kl_int_vs_dequantized = llm::mean_kl(golden.logits, tail, c.vocab_size);
    for (size_t i = 0; i < r.dequantized_tokens.size(); ++i) {
      if (r.dequantized_tokens[i] != golden.generated[i]) {
        r.first_divergence = static_cast<int>(i);
        break;
      }
    }
    r.compared = true;
  }
  if (tokenizer) {
    r.prompt_text = tokenizer->decode(std::span<const int>(prompt).subspan(prompt.front() == llm::kBosToken ? 1 : 0),
                                      llm::kBosToken);
    r.generated_text = tokenizer->decode(r.generated_tokens, prompt.back());
  }
  r.seconds_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

ModelReport time_model(const ArchConfig& arch, const cost::CostModel& costs, const TimingOnlyModel& model,
                       int prompt_tokens, int generate, uint64_t act_seed) {
  const auto t0 = std::chrono::steady_clock::now();
  const llm::LlamaConfig& c = model.config;
  if (prompt_tokens < 1) fail("--prompt-length {}: give at least 1", prompt_tokens);
  if (generate < 2) fail("--generate {}: give at least 2 (the prefill yields the first token, decode the rest)", generate);
  if (static_cast<int64_t>(prompt_tokens) + generate - 1 > c.seq_len) {
    fail("{} prompt tokens and {} generated need {} positions, {} has seq_len {}", prompt_tokens, generate,
         prompt_tokens + generate - 1, model.name, c.seq_len);
  }
  ModelReport r;
  init_report(r, arch, c, model.name);
  r.timing_only = true;
  r.method = model.method;
  r.method_options = model.options;
  r.engine = "fast";
  const int steps = generate - 1;
  StepCost& prefill = begin_step(r, arch, costs, 0, prompt_tokens, true);
  for (int i = 0; i < steps; ++i) begin_step(r, arch, costs, prompt_tokens + i, 1, false);
  // Programs whose timing cannot differ are compiled once: in loop order the mapping and the
  // program of a linear depend on its shape, its format and M only, never on its codes (the mapper
  // ranks mappings with the PE model's beat estimate), so a later layer runs the first layer's
  // program of the same linear and M with its own codes and scales written into the image. A PE
  // kind whose timing does not read the weights (PeModel::reads_weights()) has the first layer's
  // timing outright. With compiler.tile_order: beat the order of the tiles and the mapping also
  // depend on the tiles' beats (compiler::beat_grid): the program serves a later layer only when
  // its codes give the same beats, else that layer's linear is compiled for itself.
  const bool codes_matter = pe_model(arch).reads_weights();
  const bool order_by_codes = compiler::program_depends_on_codes(arch);
  std::vector<Timed> first(2 * kIntPathLinears.size());
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const std::vector<QTensor> codes = model.layer_codes(layer);
    if (codes.size() != kIntPathLinears.size()) fail("{}: layer {} has {} linears, expected 7", model.name, layer, codes.size());
    // The 7 linears at M = prompt and M = 1, two programs at a time; each result lands in its own
    // slot, so the report does not depend on the thread count.
    std::vector<Timed> timed(2 * codes.size());
    std::vector<uint64_t> runs(timed.size(), 0);
    std::vector<uint8_t> compiled(timed.size(), 0);
    parallel_for(static_cast<int64_t>(timed.size()), [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const QTensor& w = codes[static_cast<size_t>(j / 2)];
        const int m = j % 2 == 0 ? prompt_tokens : 1;
        const int k = w.matrix.cols;
        Timed& f = first[static_cast<size_t>(j)];
        const ir::GemmDesc* g = f.program ? &f.program->program.gemms.front() : nullptr;
        if (g != nullptr && g->format == w.matrix.format && g->k == static_cast<uint32_t>(k) &&
            g->n == static_cast<uint32_t>(w.matrix.rows) &&
            (!order_by_codes || (f.beats && *f.beats == compiler::beat_grid(arch, w.matrix)))) {
          Timed t;
          if (codes_matter) {
            f.program->memory.write(g->w_addr, w.matrix.codes);
            for (size_t i = 0; i < w.matrix.scales.size(); ++i) f.program->memory.write_u16(g->ws_addr + 2 * i, w.matrix.scales[i]);
            t.timeline = run_fast_in_place(*f.program, arch, runs[static_cast<size_t>(j)]);
            t.cycles = t.timeline.total_cycles;
            t.energy_pj = costs.energy_pj(t.timeline.actions, t.cycles).total;
          } else {
            t.cycles = f.cycles;
            t.energy_pj = f.energy_pj;
          }
          timed[static_cast<size_t>(j)] = std::move(t);
          continue;
        }
        const uint64_t seed = act_seed + static_cast<uint64_t>(layer * 100 + j);
        const QuantizedActs a = synthetic_quantized_activations(m, k, seed);
        Timed t = compile_and_time(arch, costs, nullptr, w, a, runs[static_cast<size_t>(j)]);
        if (order_by_codes) t.beats = compiler::beat_grid(arch, w.matrix);
        compiled[static_cast<size_t>(j)] = 1;
        timed[static_cast<size_t>(j)].cycles = t.cycles;
        timed[static_cast<size_t>(j)].energy_pj = t.energy_pj;
        f = std::move(t);
      }
    });
    for (size_t i = 0; i < codes.size(); ++i) {
      const Timed& pf = timed[2 * i];
      const Timed& dc = timed[2 * i + 1];
      const LinearCost pc{pf.cycles, pf.energy_pj, 1};
      prefill.linears += pc;
      r.prefill_by_linear[static_cast<size_t>(layer)][i] += pc;
      for (StepCost& s : r.decode) s.linears += LinearCost{dc.cycles, dc.energy_pj, 1};
      r.decode_by_linear[static_cast<size_t>(layer)][i] +=
          LinearCost{dc.cycles * static_cast<uint64_t>(steps), dc.energy_pj * steps, static_cast<uint64_t>(steps)};
    }
    for (const uint8_t n : compiled) r.programs_compiled += n;
    for (const uint64_t n : runs) r.engine_runs += n;
    r.timing_reuses += codes.size() * static_cast<uint64_t>(steps - 1);
  }
  r.seconds_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

namespace {

double seconds_of(const ArchConfig& arch, double cycles) { return cycles / (arch.clock_mhz * 1e6); }

struct DecodeSummary {
  int tokens = 0;
  double cycles_per_token = 0, energy_pj_per_token = 0, host_flops_per_token = 0, host_bytes_per_token = 0;
  double kv_read_bytes_per_token = 0, kv_write_bytes_per_token = 0;
};

DecodeSummary summarise(const ModelReport& r) {
  DecodeSummary d;
  d.tokens = static_cast<int>(r.decode.size());
  for (const StepCost& s : r.decode) {
    d.cycles_per_token += static_cast<double>(s.cycles());
    d.energy_pj_per_token += s.energy_pj();
    d.host_flops_per_token += s.host_flops;
    d.host_bytes_per_token += static_cast<double>(s.host_bytes);
    d.kv_read_bytes_per_token += static_cast<double>(s.kv_read_bytes);
    d.kv_write_bytes_per_token += static_cast<double>(s.kv_write_bytes);
  }
  const double n = std::max(1, d.tokens);
  for (double* v : {&d.cycles_per_token, &d.energy_pj_per_token, &d.host_flops_per_token, &d.host_bytes_per_token,
                    &d.kv_read_bytes_per_token, &d.kv_write_bytes_per_token}) {
    *v /= n;
  }
  return d;
}

std::string ids(const std::vector<int>& v) {
  std::string s;
  for (const int t : v) s += fmt::format("{}{}", s.empty() ? "" : " ", t);
  return s;
}

LinearCost sum_linear(const std::vector<std::array<LinearCost, 7>>& by, int layer, int idx) {
  LinearCost c;
  for (size_t l = 0; l < by.size(); ++l) {
    for (size_t i = 0; i < 7; ++i) {
      if ((layer < 0 || static_cast<int>(l) == layer) && (idx < 0 || static_cast<int>(i) == idx)) c += by[l][i];
    }
  }
  return c;
}

}  // namespace

std::string to_text(const ModelReport& r) {
  const llm::LlamaConfig& c = r.config;
  const DecodeSummary d = summarise(r);
  std::string s;
  s += fmt::format("model {}: {} layers, dim {}, hidden {}, {} heads ({} kv), vocab {}, seq_len {}\n", r.model_name,
                   c.n_layers, c.dim, c.hidden_dim, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len);
  std::string opts;
  for (const auto& [k, v] : r.method_options) opts += fmt::format(" {}={}", k, v);
  s += fmt::format("method {}{}; arch {} (fingerprint {}), {} MHz; engine {}\n", r.method, opts, r.arch.name,
                   r.fingerprint, r.arch.clock_mhz, r.engine);
  if (r.timing_only) {
    s += fmt::format("timing only (synthetic weights, seeded activations: timing does not depend on their values): "
                     "prefill of {} tokens, {} decode steps\n",
                     r.prefill.tokens, r.decode.size());
  } else {
    if (r.prompt_text) s += fmt::format("prompt: {}\n", *r.prompt_text);
    s += fmt::format("prompt tokens ({}): {}\n", r.prompt_tokens.size(), ids(r.prompt_tokens));
    s += fmt::format("generated ({}): {}\n", r.generated_tokens.size(), ids(r.generated_tokens));
    s += fmt::format("golden integer path: {} (tokens equal, logits identical bit for bit)\n", ids(r.golden_tokens));
  }
  if (r.generated_text) s += fmt::format("text: {}\n", *r.generated_text);
  if (r.compared) {
    s += fmt::format("dequantized-weight FP32 inference (evaluate, acts int8): {}; {}; mean KL(integer || dequantized) "
                     "{:.4g} over the {} generated positions\n",
                     ids(r.dequantized_tokens),
                     r.first_divergence < 0 ? "same tokens" : fmt::format("differs from index {}", r.first_divergence),
                     r.kl_int_vs_dequantized, r.generated_tokens.size());
  }
  const double prefill_cycles = static_cast<double>(r.prefill.cycles());
  s += fmt::format("prefill: {} tokens, {} cycles ({} linears, {} classifier, {} KV), {:.4g} s, {:.4g} uJ ({:.4g} "
                   "uJ/token)\n",
                   r.prefill.tokens, r.prefill.cycles(), r.prefill.linears.cycles, r.prefill.classifier.cycles,
                   r.prefill.kv_cycles,
                   seconds_of(r.arch, prefill_cycles), r.prefill.energy_pj() / 1e6,
                   r.prefill.energy_pj() / 1e6 / r.prefill.tokens);
  const double tps = d.cycles_per_token > 0 ? 1.0 / seconds_of(r.arch, d.cycles_per_token) : 0;
  s += fmt::format("decode: {} tokens, {:.1f} cycles/token, {:.4g} s/token, {:.4g} tokens/s, {:.4g} uJ/token\n",
                   d.tokens, d.cycles_per_token, seconds_of(r.arch, d.cycles_per_token), tps,
                   d.energy_pj_per_token / 1e6);
  if (!r.decode.empty()) {
    const StepCost& a = r.decode.front();
    const StepCost& b = r.decode.back();
    s += fmt::format("  decode step at position {}: {} cycles ({} KV); at position {}: {} cycles ({} KV)\n", a.pos0,
                     a.cycles(), a.kv_cycles, b.pos0, b.cycles(), b.kv_cycles);
  }
  s += r.classifier_on_accel
           ? fmt::format("classifier: on the accelerator ({} codes, the last row of each pass: M = 1), {} cycles and "
                         "{:.4g} uJ per call\n",
                         format_name(r.classifier_format), r.decode.empty() ? 0 : r.decode.front().classifier.cycles,
                         r.decode.empty() ? 0.0 : r.decode.front().classifier.energy_pj / 1e6)
           : std::string("classifier: FP32 on the host side (--classifier accel runs it on the accelerator)\n");
  s += fmt::format("host side (FP32, not timed): prefill {:.4g} FLOPs and {:.4g} bytes per token; decode {:.4g} FLOPs "
                   "and {:.4g} bytes per token\n",
                   r.prefill.host_flops / r.prefill.tokens,
                   static_cast<double>(r.prefill.host_bytes) / r.prefill.tokens, d.host_flops_per_token,
                   d.host_bytes_per_token);
  s += fmt::format("KV cache: {} bytes per token (FP32 K and V, all layers) in DRAM; decode reads {:.4g} and writes "
                   "{:.4g} bytes per token\n",
                   r.kv_cache_bytes_per_token, d.kv_read_bytes_per_token, d.kv_write_bytes_per_token);
  s += fmt::format("{:<8} {:>14} {:>14} {:>14} {:>14}\n", "layer", "prefill_cyc", "prefill_uJ", "decode_cyc", "decode_uJ");
  for (int l = 0; l < c.n_layers; ++l) {
    const LinearCost pf = sum_linear(r.prefill_by_linear, l, -1), dc = sum_linear(r.decode_by_linear, l, -1);
    s += fmt::format("{:<8} {:>14} {:>14.4g} {:>14} {:>14.4g}\n", l,
                     pf.cycles + r.prefill_kv_cycles_by_layer[static_cast<size_t>(l)], pf.energy_pj / 1e6,
                     dc.cycles + r.decode_kv_cycles_by_layer[static_cast<size_t>(l)], dc.energy_pj / 1e6);
  }
  s += fmt::format("{:<8} {:>14} {:>14} {:>14} {:>14}\n", "linear", "prefill_cyc", "prefill_uJ", "decode_cyc", "decode_uJ");
  for (int i = 0; i < 7; ++i) {
    const LinearCost pf = sum_linear(r.prefill_by_linear, -1, i), dc = sum_linear(r.decode_by_linear, -1, i);
    s += fmt::format("{:<8} {:>14} {:>14.4g} {:>14} {:>14.4g}\n", llm::linear_name(kIntPathLinears[static_cast<size_t>(i)]),
                     pf.cycles, pf.energy_pj / 1e6, dc.cycles, dc.energy_pj / 1e6);
  }
  s += fmt::format("programs: {} compiled and timed, {} engine runs, {} calls reused a timing\n", r.programs_compiled,
                   r.engine_runs, r.timing_reuses);
  return s;
}

nlohmann::json to_json(const ModelReport& r) {
  using nlohmann::json;
  const llm::LlamaConfig& c = r.config;
  const DecodeSummary d = summarise(r);
  json j;
  j["schema"] = kModelReportSchema;
  j["model"] = {{"name", r.model_name}, {"dim", c.dim},           {"hidden_dim", c.hidden_dim},
                {"n_layers", c.n_layers}, {"n_heads", c.n_heads}, {"n_kv_heads", c.n_kv_heads},
                {"vocab_size", c.vocab_size}, {"seq_len", c.seq_len}};
  j["method"] = {{"name", r.method}, {"options", r.method_options}};
  j["engine"] = r.engine;
  j["arch"] = {{"name", r.arch.name}, {"fingerprint", r.fingerprint}, {"clock_mhz", r.arch.clock_mhz}};
  j["timing_only"] = r.timing_only;
  if (!r.timing_only) {
    j["prompt_tokens"] = r.prompt_tokens;
    j["generated_tokens"] = r.generated_tokens;
    j["golden_tokens"] = r.golden_tokens;
    j["logits_identical"] = r.logits_identical;
  }
  if (r.prompt_text) j["prompt_text"] = *r.prompt_text;
  if (r.generated_text) j["generated_text"] = *r.generated_text;
  const double pc = static_cast<double>(r.prefill.cycles());
  j["prefill"] = {{"tokens", r.prefill.tokens},
                  {"cycles", r.prefill.cycles()},
                  {"linear_cycles", r.prefill.linears.cycles},
                  {"classifier_cycles", r.prefill.classifier.cycles},
                  {"kv_cycles", r.prefill.kv_cycles},
                  {"time_s", seconds_of(r.arch, pc)},
                  {"energy_pj", r.prefill.energy_pj()},
                  {"kv_energy_pj", r.prefill.kv_energy_pj}};
  json steps = json::array();
  for (const StepCost& s : r.decode) {
    steps.push_back({{"position", s.pos0},
                     {"cycles", s.cycles()},
                     {"linear_cycles", s.linears.cycles},
                     {"classifier_cycles", s.classifier.cycles},
                     {"kv_cycles", s.kv_cycles},
                     {"energy_pj", s.energy_pj()},
                     {"kv_read_bytes", s.kv_read_bytes}});
  }
  const double spt = seconds_of(r.arch, d.cycles_per_token);
  j["decode"] = {{"tokens", d.tokens},
                 {"cycles_per_token", d.cycles_per_token},
                 {"time_s_per_token", spt},
                 {"tokens_per_s", spt > 0 ? 1.0 / spt : 0.0},
                 {"energy_pj_per_token", d.energy_pj_per_token},
                 {"steps", steps}};
  json layers = json::array();
  for (int l = 0; l < c.n_layers; ++l) {
    const LinearCost pf = sum_linear(r.prefill_by_linear, l, -1), dc = sum_linear(r.decode_by_linear, l, -1);
    layers.push_back({{"layer", l},
                      {"prefill_linear_cycles", pf.cycles},
                      {"prefill_kv_cycles", r.prefill_kv_cycles_by_layer[static_cast<size_t>(l)]},
                      {"prefill_linear_energy_pj", pf.energy_pj},
                      {"decode_linear_cycles", dc.cycles},
                      {"decode_kv_cycles", r.decode_kv_cycles_by_layer[static_cast<size_t>(l)]},
                      {"decode_linear_energy_pj", dc.energy_pj}});
  }
  j["by_layer"] = layers;
  json linears = json::array();
  for (int i = 0; i < 7; ++i) {
    const LinearCost pf = sum_linear(r.prefill_by_linear, -1, i), dc = sum_linear(r.decode_by_linear, -1, i);
    linears.push_back({{"linear", llm::linear_name(kIntPathLinears[static_cast<size_t>(i)])},
                       {"prefill_cycles", pf.cycles},
                       {"prefill_energy_pj", pf.energy_pj},
                       {"decode_cycles", dc.cycles},
                       {"decode_energy_pj", dc.energy_pj}});
  }
  j["by_linear"] = linears;
  if (r.classifier_on_accel) {
    LinearCost dc;
    for (const StepCost& st : r.decode) dc += st.classifier;
    j["classifier"] = {{"where", "accel"},
                       {"format", format_name(r.classifier_format)},
                       {"prefill_cycles", r.prefill.classifier.cycles},
                       {"prefill_energy_pj", r.prefill.classifier.energy_pj},
                       {"decode_cycles", dc.cycles},
                       {"decode_energy_pj", dc.energy_pj}};
  } else {
    j["classifier"] = {{"where", "host"}};
  }
  j["host"] = {{"prefill_flops_per_token", r.prefill.host_flops / r.prefill.tokens},
               {"prefill_bytes_per_token", static_cast<double>(r.prefill.host_bytes) / r.prefill.tokens},
               {"decode_flops_per_token", d.host_flops_per_token},
               {"decode_bytes_per_token", d.host_bytes_per_token},
               {"timed", false}};
  j["kv_cache_bytes_per_token"] = r.kv_cache_bytes_per_token;
  j["kv_traffic"] = {{"decode_read_bytes_per_token", d.kv_read_bytes_per_token},
                     {"decode_write_bytes_per_token", d.kv_write_bytes_per_token}};
  j["programs"] = {{"compiled", r.programs_compiled}, {"engine_runs", r.engine_runs}, {"timing_reuses", r.timing_reuses}};
  if (r.compared) {
    j["dequantized"] = {{"tokens", r.dequantized_tokens},
                        {"same_tokens", r.first_divergence < 0},
                        {"first_divergence", r.first_divergence},
                        {"mean_kl", r.kl_int_vs_dequantized}};
  }
  return j;
}

}  // namespace fq::sim
