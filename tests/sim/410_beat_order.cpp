// compiler.tile_order: beat (docs/compiler.md "Beat order"): on a hand-made GEMM whose K tiles
// alternate W = 2 and 4, ordering them by beat removes two of three changes of W, the cycles fall
// by exactly the drains removed, (R + C - 2) W of each, on both timed engines, and the mapper's
// estimate of the drain left is the report's beat_change stall; time_model reuses a layer's
// program for a later layer only when its tile beats are the same; on the real stories260K codes
// the SystemC model's outputs equal the golden integer path's and time_model equals the real run.
#include "compiler/compiler.h"
#include "model/arch/pe_model.h"
#include "model/ckpt/checkpoint.h"
#include "model/cost/cost_model.h"
#include "model/golden/int_gemm.h"
#include "model/timing/timing.h"
#include "sim/engine.h"
#include "sim/fast/fast_engine.h"
#include "sim/model_run.h"
#include "sim/report.h"
#include "sim_cases.h"
#include "support/paths.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <functional>
#include <vector>

namespace {

// FineQ-R codes of an N x K matrix whose weight tile (K extent kt) i holds only the code byte of
// W = beat(i): 0x10 is the normal cluster (1, 0, 0), max |q| 1; 0x20 is (-2, 0, 0), max |q| 2;
// 0x60 the outlier cluster (0, -4, 0), max |q| 4.
fq::QTensor beat_tiles(const std::string& name, int n, int k, int kt, const std::function<int(int)>& beat) {
  fq::QTensor t;
  t.name = name;
  t.method = "test";
  fq::EncodedMatrix& m = t.matrix;
  m.format = fq::HwFormat::kFineqR;
  m.rows = n;
  m.cols = k;
  m.cols_padded = 3 * ((k + 2) / 3);
  const int row = m.row_bytes();
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < row; ++c) {
      const int w = beat(3 * c / kt);
      m.codes.push_back(w == 1 ? 0x10 : w == 2 ? 0x20 : 0x60);
    }
  }
  m.scales.assign(static_cast<size_t>(n), 0x3c00);  // FP16 1.0
  return t;
}

uint64_t stall(const fq::sim::Report& r, const std::string& cause) {
  for (const auto& [name, cycles] : r.stall_cycles) {
    if (name == cause) return cycles;
  }
  return 0;
}

}  // namespace

SCENARIO("beat order removes the drains of alternating beats: cycles fall by (R + C - 2) W per change removed",
         "[sim][beat_order]") {
  // 6 x 4 temporal array: K tiles of 6 (two clusters), one n-tile of 4; no DRAM latency and large
  // buffers, so that only the array's stream decides the cycles: a matmul of M = 64 rows streams
  // 64 W >= 128 cycles, while the next tile's preload (7 cycles) and its activations (64 DMA rows,
  // one cycle each) are ready before it may start.
  fq::ArchConfig arch = fq::test::base_arch(6, 4, "temporal");
  arch.dram_bytes_per_cycle = 64;
  arch.dram_latency_cycles = 0;
  const int M = 64, N = 4, K = 24, kt = 6;
  fq::test::SimCase base;
  base.arch = arch;
  base.weights.push_back(beat_tiles("g", N, K, kt, [](int i) { return i % 2 == 0 ? 2 : 4; }));  // W: 2 4 2 4
  base.acts.push_back(fq::random_acts(M, K, 7));
  const fq::EncodedMatrix& w = base.weights.front().matrix;
  fq::ArchConfig beat_arch = arch;
  beat_arch.tile_order = fq::TileOrder::kBeat;
  REQUIRE(fq::compiler::beat_grid(beat_arch, w).w == std::vector<uint8_t>{2, 4, 2, 4});

  // The same mapping under both orders: nkm with one matmul of all 64 rows per weight tile.
  auto compile = [&](const fq::ArchConfig& a) {
    auto plan = fq::compiler::plan_gemm(a, "g", M, N, K, w.format, &w);
    for (size_t i = 0; i < plan.candidates.size(); ++i) {
      const auto& mp = plan.candidates[i].mapping;
      if (plan.candidates[i].legal && mp.order == fq::compiler::LoopOrder::kNkm && mp.mc == M) {
        plan.chosen = static_cast<int>(i);
      }
    }
    REQUIRE(plan.mapping().order == fq::compiler::LoopOrder::kNkm);
    REQUIRE(plan.mapping().mc == M);
    const fq::compiler::GemmInput in{&base.weights.front(), {M, K, base.acts.front().q, base.acts.front().scales}};
    return fq::compiler::lower_layer(a, {&in, 1}, {plan});
  };
  fq::test::SimCase loop = base, beat = base;
  loop.layer = compile(arch);
  beat.arch = beat_arch;
  beat.layer = compile(beat_arch);

  const auto& schedule = beat.layer.plans.front().mapping().schedule;
  REQUIRE(schedule != nullptr);
  CHECK(schedule->k_order == std::vector<uint32_t>{0, 2, 1, 3});  // W: 2 2 4 4
  CHECK(loop.layer.plans.front().mapping().schedule == nullptr);

  auto report = [](const fq::test::SimCase& c) {
    const auto fast = fq::sim::find_engine("fast").run(c.arch, c.layer.program, c.layer.memory);
    const auto sc = fq::sim::find_engine("systemc").run(c.arch, c.layer.program, c.layer.memory);
    REQUIRE(fast.timeline->ops == sc.timeline->ops);
    REQUIRE(fast.timeline->total_cycles == sc.timeline->total_cycles);
    // Any order of the K tiles gives the integer GEMM's accumulators bit for bit.
    const auto expect = fq::int_gemm(c.acts.front(), c.weights.front().matrix);
    for (size_t i = 0; i < expect.size(); ++i) {
      REQUIRE(sc.memory->read_i32(c.layer.program.gemms.front().acc_addr + 4 * i) == expect[i]);
    }
    const fq::cost::CostModel costs(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), c.arch);
    return fq::sim::build_report(c.layer.program, c.arch, fast, costs, "beat order");
  };
  const fq::sim::Report before = report(loop), after = report(beat);
  // A change of W waits for the array to drain: matmul_beats(m) - m = R + C - 2 beats of the W left.
  const uint64_t drain = fq::timing::matmul_beats(arch, M) - M;
  REQUIRE(drain == 6 + 4 - 2);
  CHECK(stall(before, "beat_change") == drain * (2 + 4 + 2));  // 2 -> 4, 4 -> 2, 2 -> 4
  CHECK(stall(after, "beat_change") == drain * 2);             // 2 -> 4
  CHECK(before.total_cycles - after.total_cycles == drain * (4 + 2));
  CHECK(stall(before, "wait_dma_in") == stall(after, "wait_dma_in"));  // the first tile's loads only
  // The mapper saw the order it emitted.
  const auto& mp = beat.layer.plans.front().mapping();
  CHECK(mp.beat_changes == 1);
  CHECK(static_cast<uint64_t>(mp.drain_cycles) == stall(after, "beat_change"));
}

namespace {

// A LLaMA-shaped timing-only model of two layers whose codes follow `beat(layer, tile)` on a
// 6 x 4 array, and the cycles of each (layer, linear) program compiled for itself (prefill of
// 64 tokens: the array's stream decides its cycles, as in the scenario above).
struct GuardCase {
  fq::ArchConfig arch;
  fq::llm::LlamaConfig config;
  std::function<int(int, int)> beat;
  std::vector<fq::QTensor> layer(int l) const {
    std::vector<fq::QTensor> out;
    for (const fq::llm::Linear which : fq::llm::kIntPathLinears) {
      out.push_back(beat_tiles(fq::llm::tensor_name(l, which), config.rows(which), config.cols(which), 6,
                               [&](int i) { return beat(l, i); }));
    }
    return out;
  }
  uint64_t own_cycles(const fq::QTensor& w, int m) const {
    const fq::QuantizedActs a = fq::random_acts(m, w.matrix.cols, 5);
    const fq::compiler::GemmInput in{&w, {a.rows, a.cols, a.q, a.scales}};
    const auto p = fq::compiler::compile_layer(arch, {&in, 1});
    return fq::sim::run_fast(p.program, arch, p.memory).total_cycles;
  }
};

}  // namespace

SCENARIO("time_model reuses a beat-ordered program only for codes with the same tile beats",
         "[sim][beat_order][model_run]") {
  GuardCase g;
  g.arch = fq::load_arch((fq::test::source_dir() / "configs/fineq.yaml").string(),
                         {"array.rows=6", "array.cols=4", "dram.latency_cycles=0", "compiler.tile_order=beat"});
  g.config.dim = 24;  // K = 24: four K tiles of 6; the hidden 48: eight
  g.config.hidden_dim = 48;
  g.config.n_layers = 2;
  g.config.n_heads = 2;
  g.config.n_kv_heads = 2;
  g.config.vocab_size = 32;
  g.config.seq_len = 128;
  const fq::cost::CostModel costs(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), g.arch);
  auto time = [&](std::function<int(int, int)> beat) {
    g.beat = std::move(beat);
    fq::sim::TimingOnlyModel tm;
    tm.name = "beat tiles";
    tm.config = g.config;
    tm.method = "test";
    tm.layer_codes = [&](int l) { return g.layer(l); };
    return fq::sim::time_model(g.arch, costs, tm, 64, 2, 3);
  };
  auto check_own = [&](const fq::sim::ModelReport& t) {
    for (int l = 0; l < 2; ++l) {
      const auto codes = g.layer(l);
      for (size_t i = 0; i < codes.size(); ++i) {
        INFO("layer " << l << " " << codes[i].name);
        CHECK(t.prefill_by_linear[static_cast<size_t>(l)][i].cycles == g.own_cycles(codes[i], 64));
        CHECK(t.decode_by_linear[static_cast<size_t>(l)][i].cycles == g.own_cycles(codes[i], 1));
      }
    }
  };
  GIVEN("layer 0 alternates W = 2, 4 over its K tiles and layer 1 has pairs of them") {
    // Layer 0's order (its even K tiles, then its odd ones) on layer 1's codes (W 2 2 4 4 ...) is
    // W 2 4 2 4 ... again: three changes in four tiles where layer 1's own order has one.
    const auto t = time([](int l, int i) { return l == 0 ? 2 + 2 * (i % 2) : 2 + 2 * (i / 2 % 2); });
    THEN("each layer is timed with its own program") {
      check_own(t);
      CHECK(t.programs_compiled == 28);
    }
  }
  GIVEN("both layers have the same tile beats") {
    const auto t = time([](int, int i) { return 2 + 2 * (i % 2); });
    THEN("the first layer's programs serve the second, with the same cycles as its own") {
      check_own(t);
      CHECK(t.programs_compiled == 14);
    }
  }
}

SCENARIO("stories260K with beat order: SystemC outputs equal the golden path, time_model equals the real run",
         "[sim][beat_order][model_run]") {
  const fq::llm::LlamaWeights weights = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
  const auto model = fq::llm::make_int_path(weights, "fineq", fq::Params("test"));
  const fq::ArchConfig arch =
      fq::load_arch((fq::test::source_dir() / "configs/fineq.yaml").string(), {"compiler.tile_order=beat"});
  const fq::ArchConfig loop_arch = fq::load_arch((fq::test::source_dir() / "configs/fineq.yaml").string());
  const fq::cost::CostModel costs(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), arch);
  const std::vector<int> prompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426};
  auto run = [&](const fq::ArchConfig& a, const char* engine) {
    fq::sim::ModelRunOptions o;
    o.engine = engine;
    o.compare_dequantized = false;
    return fq::sim::run_model(a, costs, model, "stories260K", prompt, 4, o);
  };
  // run_model throws unless every linear output equals the golden integer GEMM's bit for bit.
  const auto sc = run(arch, "systemc");
  const auto fast = run(arch, "fast");
  const auto loop = run(loop_arch, "fast");
  CHECK(sc.generated_tokens == sc.golden_tokens);
  CHECK(sc.generated_tokens == loop.generated_tokens);
  CHECK(sc.prefill.cycles() == fast.prefill.cycles());
  CHECK(fast.prefill.cycles() < loop.prefill.cycles());  // its few W = 3 tiles change W less often
  fq::sim::TimingOnlyModel tm;
  tm.name = "stories260K codes";
  tm.config = model.weights.config;
  tm.method = "fineq";
  tm.layer_codes = [&](int l) {
    return std::vector<fq::QTensor>(model.linears.begin() + l * 7, model.linears.begin() + l * 7 + 7);
  };
  const auto t = fq::sim::time_model(arch, costs, tm, 16, 4, 99);
  CHECK(t.prefill.cycles() == fast.prefill.cycles());
  REQUIRE(t.decode.size() == fast.decode.size());
  for (size_t i = 0; i < t.decode.size(); ++i) CHECK(t.decode[i].cycles() == fast.decode[i].cycles());
}
