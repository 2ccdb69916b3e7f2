// The whole stories260K model on the accelerator (sim/model_run.h): on the FineQ, INT8, INT4 and
// bit-serial presets, with the fast engine and the SystemC model, prefill and greedy decoding give the golden
// integer path's tokens and logits bit for bit, both engines give the same cycles and energy, each
// (layer, linear, M) program is compiled once, the KV traffic follows its formula (so decode steps
// get slower with the context), the splits add up, and an injected fault is named.
#include "model/ckpt/checkpoint.h"
#include "model/core/error.h"
#include "model/timing/timing.h"
#include "sim/model_run.h"
#include "support/errors.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using fq::llm::Linear;

const fq::llm::LlamaWeights& stories() {
  static const fq::llm::LlamaWeights w = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
  return w;
}

std::string config(const std::string& name) { return (fq::test::source_dir() / "configs" / name).string(); }

// "Once upon a time, there was a little girl named Lily." with BOS.
const std::vector<int> kPrompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426};
constexpr int kGenerate = 8;

struct Preset {
  const char* arch;
  const char* method;
  const char* bits;  // rtn only
};

fq::sim::ModelReport run(const Preset& p, const std::string& engine, std::optional<fq::sim::InjectedFault> fault = {},
                         bool classifier = false) {
  const fq::ArchConfig arch = fq::load_arch(config(p.arch));
  const fq::cost::CostModel costs(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), arch);
  fq::Params opts("test");
  if (p.bits) opts.set("bits", p.bits);
  const auto model = fq::llm::make_int_path(stories(), p.method, opts, classifier);
  fq::sim::ModelRunOptions o;
  o.engine = engine;
  o.fault = fault;
  return fq::sim::run_model(arch, costs, model, fq::test::stories260k().filename().string(), kPrompt, kGenerate, o);
}

}  // namespace

SCENARIO("stories260K through the accelerator equals the golden integer path on every preset and engine",
         "[model_run]") {
  const Preset presets[] = {{"fineq.yaml", "fineq", nullptr},
                            {"int8.yaml", "rtn", "8"},
                            {"int4.yaml", "rtn", "4"},
                            {"bitserial.yaml", "fineq", nullptr}};
  for (const Preset& p : presets) {
    INFO(p.arch);
    const auto fast = run(p, "fast");
    const auto sc = run(p, "systemc");
    for (const auto* r : {&fast, &sc}) {
      CHECK(r->generated_tokens == r->golden_tokens);
      CHECK(r->generated_tokens.size() == kGenerate);
      CHECK(r->logits_identical);
      // One program per (layer, linear, M): M = 16 for the prefill and 1 for decode.
      CHECK(r->programs_compiled == 2 * 35);
      CHECK(r->timing_reuses == (1 + 7) * 35 - 70);
      CHECK(r->decode.size() == kGenerate - 1);
    }
    CHECK(fast.engine_runs == 70);
    CHECK(sc.engine_runs == 8 * 35);  // SystemC computes every call's outputs
    CHECK(fast.generated_tokens == sc.generated_tokens);
    CHECK(fast.prefill.cycles() == sc.prefill.cycles());
    CHECK(fast.prefill.energy_pj() == sc.prefill.energy_pj());
    for (size_t i = 0; i < fast.decode.size(); ++i) CHECK(fast.decode[i].cycles() == sc.decode[i].cycles());
    // The same codes in evaluate's FP32 inference: only the arithmetic order differs, and with it
    // now and then an INT8 activation code of a later layer (KL 4e-4 on fineq when written).
    CHECK(fast.compared);
    CHECK(fast.kl_int_vs_dequantized > 0);
    CHECK(fast.kl_int_vs_dequantized < 1e-2);
    CHECK(fast.dequantized_tokens.size() == kGenerate);
  }
}

SCENARIO("--classifier accel: the classifier runs as one program of M = 1 per pass, tokens still golden",
         "[model_run]") {
  for (const Preset& p : {Preset{"int8.yaml", "rtn", "8"}, Preset{"fineq.yaml", "fineq", nullptr}}) {
    INFO(p.arch);
    const auto host = run(p, "fast");
    const auto fast = run(p, "fast", {}, true);
    const auto sc = run(p, "systemc", {}, true);
    for (const auto* r : {&fast, &sc}) {
      CHECK(r->classifier_on_accel);
      CHECK(r->generated_tokens == r->golden_tokens);
      CHECK(r->logits_identical);
      CHECK(r->programs_compiled == 2 * 35 + 1);  // one classifier program serves every pass
      CHECK(r->prefill.classifier.calls == 1);
      CHECK(r->prefill.classifier.cycles > 0);
      for (const auto& s : r->decode) {
        CHECK(s.classifier.calls == 1);
        CHECK(s.classifier.cycles == r->prefill.classifier.cycles);
        CHECK(s.cycles() == s.linears.cycles + s.classifier.cycles + s.kv_cycles);
      }
      // The host no longer multiplies the 512 x 64 FP32 classifier for any token; it quantizes the
      // last row's 64 inputs to INT8 (3 operations each).
      CHECK(r->prefill.host_flops ==
            host.prefill.host_flops - static_cast<double>(kPrompt.size()) * 2.0 * 512 * 64 + 3 * 64);
    }
    CHECK(fast.prefill.classifier.cycles == sc.prefill.classifier.cycles);
    CHECK(fast.prefill.classifier.energy_pj == sc.prefill.classifier.energy_pj);
    CHECK(fast.generated_tokens == sc.generated_tokens);
    // The decoder linears are the same programs with or without it.
    CHECK(fast.prefill.linears.cycles == host.prefill.linears.cycles);
    CHECK(host.prefill.classifier.calls == 0);
    const auto j = fq::sim::to_json(fast);
    CHECK(j["classifier"]["where"] == "accel");
    CHECK(j["classifier"]["prefill_cycles"] == fast.prefill.classifier.cycles);
    CHECK(fq::sim::to_json(host)["classifier"]["where"] == "host");
  }
  THEN("a .q without the classifier's codes is refused for --classifier accel") {
    fq::Params opts("test");
    const auto model = fq::llm::make_int_path(stories(), "fineq", opts);
    CHECK_THROWS_WITH(fq::llm::int_path_from_tensors(stories(), model.linears, "x.q", true),
                      Catch::Contains("x.q") && Catch::Contains("'output'"));
  }
}

SCENARIO("the model report's accounting: KV traffic, per-token growth, splits, JSON", "[model_run]") {
  const auto r = run({"fineq.yaml", "fineq", nullptr}, "fast");
  const fq::ArchConfig arch = fq::load_arch(config("fineq.yaml"));
  // FP32 K and V of 5 layers x kv_dim 32.
  CHECK(r.kv_cache_bytes_per_token == 2 * 4 * 32 * 5);
  // Decode at position p reads the 2·p cached rows of 128 bytes per layer as two bursts.
  for (const auto& s : r.decode) {
    const uint64_t per_layer = 100 + fq::timing::dma_transfer_cycles(arch, 2, 128 * static_cast<uint64_t>(s.pos0));
    CHECK(per_layer == 100 + 8 * static_cast<uint64_t>(s.pos0));
    CHECK(s.kv_cycles == 5 * per_layer);
    CHECK(s.kv_read_bytes == 5 * 2 * 128 * static_cast<uint64_t>(s.pos0));
    CHECK(s.kv_write_bytes == 5 * 2 * 128);
  }
  // Every decode step runs the same programs, so its latency grows only with the KV traffic.
  for (size_t i = 1; i < r.decode.size(); ++i) {
    CHECK(r.decode[i].linears.cycles == r.decode[0].linears.cycles);
    CHECK(r.decode[i].cycles() == r.decode[i - 1].cycles() + 5 * 8);
  }
  // The prefill pass starts at position 0: nothing cached to read; it writes its 16 tokens' K and V.
  CHECK(r.prefill.kv_cycles == 0);
  CHECK(r.prefill.kv_read_bytes == 0);
  CHECK(r.prefill.kv_write_bytes == 16 * 5 * 2 * 128);
  CHECK(r.prefill.kv_energy_pj > 0);
  // The by-layer and by-linear splits add up to the totals.
  uint64_t pre = 0, dec = 0, dec_kv = 0;
  for (int l = 0; l < 5; ++l) {
    for (int i = 0; i < 7; ++i) {
      pre += r.prefill_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].cycles;
      dec += r.decode_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].cycles;
      CHECK(r.prefill_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].calls == 1);
      CHECK(r.decode_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].calls == kGenerate - 1);
    }
    dec_kv += r.decode_kv_cycles_by_layer[static_cast<size_t>(l)];
  }
  CHECK(pre == r.prefill.linears.cycles);
  uint64_t dec_total = 0, dec_kv_total = 0;
  for (const auto& s : r.decode) {
    dec_total += s.linears.cycles;
    dec_kv_total += s.kv_cycles;
  }
  CHECK(dec == dec_total);
  CHECK(dec_kv == dec_kv_total);

  const auto j = fq::sim::to_json(r);
  CHECK(j.at("schema") == "fqsim.model-report/1");
  CHECK(j.at("model").at("n_layers") == 5);
  CHECK(j.at("prompt_tokens").get<std::vector<int>>() == kPrompt);
  CHECK(j.at("generated_tokens") == j.at("golden_tokens"));
  CHECK(j.at("prefill").at("tokens") == 16);
  CHECK(j.at("prefill").at("cycles") == r.prefill.cycles());
  CHECK(j.at("prefill").at("time_s").get<double>() == Approx(static_cast<double>(r.prefill.cycles()) / 800e6));
  CHECK(j.at("decode").at("tokens") == kGenerate - 1);
  CHECK(j.at("decode").at("cycles_per_token").get<double>() ==
        Approx(static_cast<double>(dec_total + dec_kv_total) / (kGenerate - 1)));
  CHECK(j.at("decode").at("tokens_per_s").get<double>() ==
        Approx(1.0 / j.at("decode").at("time_s_per_token").get<double>()));
  CHECK(j.at("decode").at("steps").size() == kGenerate - 1);
  CHECK(j.at("by_layer").size() == 5);
  CHECK(j.at("by_linear").size() == 7);
  CHECK(j.at("arch").at("fingerprint") == fq::fingerprint(arch));
  CHECK(j.at("kv_cache_bytes_per_token") == 1280);
  CHECK(j.at("host").at("decode_flops_per_token").get<double>() > j.at("host").at("prefill_flops_per_token").get<double>());
  CHECK(fq::sim::to_text(r).find("tokens equal, logits identical bit for bit") != std::string::npos);
}

SCENARIO("a differing linear output stops the run naming the token, layer and linear", "[model_run]") {
  const Preset p{"int8.yaml", "rtn", "8"};
  fq::test::require_error_mentions([&] { run(p, "fast", fq::sim::InjectedFault{18, 2, Linear::kWk}); },
                                   "first at token position 18, layer 2, linear wk");
  fq::test::require_error_mentions([&] { run(p, "fast", fq::sim::InjectedFault{3, 4, Linear::kW2}); },
                                   "first at token position 3, layer 4, linear w2");
  const std::vector<int> bos = {1};
  const fq::ArchConfig arch = fq::load_arch(config("fineq.yaml"));
  const fq::cost::CostModel costs(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), arch);
  const auto model = fq::llm::make_int_path(stories(), "fineq", fq::Params("test"));
  fq::test::require_error_mentions([&] { fq::sim::run_model(arch, costs, model, "m", bos, 1, {}); }, "--generate 1");
  // FineQ-R codes on a MAC array: the compiler's error names the GEMM.
  const fq::ArchConfig int8 = fq::load_arch(config("int8.yaml"));
  const fq::cost::CostModel c8(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), int8);
  fq::test::require_error_mentions([&] { fq::sim::run_model(int8, c8, model, "m", bos, 2, {}); }, "layers.0.wq");
}

SCENARIO("timing only: seeded activations give the real run's cycles and energy exactly", "[model_run]") {
  // MAC timing does not read the codes (one program per linear and M serves every layer, timed
  // once); temporal and bit-serial timing does (the first layer's programs run again with each
  // layer's codes written in): both must equal the real run, which compiles every (layer, linear, M).
  for (const Preset& p : {Preset{"int4.yaml", "rtn", "4"}, Preset{"fineq.yaml", "fineq", nullptr},
                          Preset{"bitserial.yaml", "fineq", nullptr}}) {
    INFO(p.arch);
    const fq::ArchConfig arch = fq::load_arch(config(p.arch));
    const fq::cost::CostModel costs(fq::cost::load_cost_tables(fq::cost::default_cost_tables_path()), arch);
    fq::Params opts("test");
    if (p.bits) opts.set("bits", p.bits);
    const auto model = fq::llm::make_int_path(stories(), p.method, opts);
    const auto real = run(p, "fast");
    fq::sim::TimingOnlyModel tm;
    tm.name = "stories260K codes";
    tm.config = model.weights.config;
    tm.method = p.method;
    std::vector<int> asked;
    tm.layer_codes = [&](int l) {
      asked.push_back(l);
      return std::vector<fq::QTensor>(model.linears.begin() + l * 7, model.linears.begin() + l * 7 + 7);
    };
    const auto t = fq::sim::time_model(arch, costs, tm, 16, kGenerate, 99);
    CHECK(asked == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(t.timing_only);
    CHECK(t.prefill.cycles() == real.prefill.cycles());
    CHECK(t.prefill.energy_pj() == Approx(real.prefill.energy_pj()).epsilon(1e-12));
    CHECK(t.prefill.host_flops == real.prefill.host_flops);
    REQUIRE(t.decode.size() == real.decode.size());
    for (size_t i = 0; i < t.decode.size(); ++i) {
      CHECK(t.decode[i].cycles() == real.decode[i].cycles());
      CHECK(t.decode[i].pos0 == real.decode[i].pos0);
    }
    for (int l = 0; l < 5; ++l) {
      for (int i = 0; i < 7; ++i) {
        CHECK(t.prefill_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].cycles ==
              real.prefill_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].cycles);
        CHECK(t.decode_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].cycles ==
              real.decode_by_linear[static_cast<size_t>(l)][static_cast<size_t>(i)].cycles);
      }
    }
    // 14 programs (7 linears at M = 16 and M = 1), compiled for the first layer only.
    CHECK(t.programs_compiled == 14);
    CHECK(t.engine_runs == (p.bits ? 14 : 70));
    CHECK(t.timing_reuses == real.timing_reuses);
    const auto j = fq::sim::to_json(t);
    CHECK(j.at("timing_only") == true);
    CHECK_FALSE(j.contains("generated_tokens"));
    CHECK(fq::sim::to_text(t).find("timing only") != std::string::npos);
    fq::test::require_error_mentions([&] { fq::sim::time_model(arch, costs, tm, 512, 2, 1); }, "seq_len 512");
  }
}
