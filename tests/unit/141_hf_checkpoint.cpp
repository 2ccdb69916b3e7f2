// Hugging Face-layout LLaMA checkpoints (model/ckpt/hf_checkpoint.h): stories260K converted here
// to config.json + model.safetensors (q/k rows permuted as HF's convert script does) reads back
// as the same weights and gives the same tokens, in FP32 and through the integer path; BF16 and
// an untied lm_head decode exactly; unsupported configs and broken layouts are clear errors.
#include "model/ckpt/checkpoint.h"
#include "model/ckpt/hf_checkpoint.h"
#include "model/core/error.h"
#include "model/llm/int_path.h"
#include "support/errors.h"
#include "support/paths.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

uint16_t to_bf16(float f) {  // round to nearest even (no NaN here)
  uint32_t b = 0;
  std::memcpy(&b, &f, 4);
  b += 0x7fffu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}

float from_bf16(uint16_t h) {
  const uint32_t b = static_cast<uint32_t>(h) << 16;
  float f = 0;
  std::memcpy(&f, &b, 4);
  return f;
}

void write_safetensors(const fs::path& path, const std::vector<Tensor>& tensors, bool bf16) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const Tensor& t : tensors) {
    const size_t begin = data.size();
    for (const float v : t.values) {
      if (bf16) {
        const uint16_t h = to_bf16(v);
        data.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        data.append(reinterpret_cast<const char*>(&v), 4);
      }
    }
    header[t.name] = {{"dtype", bf16 ? "BF16" : "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  const std::string h = header.dump();
  const uint64_t n = h.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << h << data;
}

// HF row h·hs + j·hs/2 + i <- llama2.c row h·hs + 2i + j (HF's convert_llama_weights_to_hf permute).
std::vector<float> permute(const std::vector<float>& w, int heads, int hs, int cols) {
  std::vector<float> out(w.size());
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < hs / 2; ++i) {
      for (int j = 0; j < 2; ++j) {
        std::copy_n(w.begin() + (h * hs + 2 * i + j) * cols, cols, out.begin() + (h * hs + j * hs / 2 + i) * cols);
      }
    }
  }
  return out;
}

const fq::llm::LlamaWeights& stories() {
  static const fq::llm::LlamaWeights w = fq::llm::load_llama(*fq::open_checkpoint(fq::test::stories260k()));
  return w;
}

nlohmann::json stories_config(bool tied) {
  const auto& c = stories().config;
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", c.dim},
          {"intermediate_size", c.hidden_dim},
          {"num_hidden_layers", c.n_layers},
          {"num_attention_heads", c.n_heads},
          {"num_key_value_heads", c.n_kv_heads},
          {"vocab_size", c.vocab_size},
          {"max_position_embeddings", c.seq_len},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"hidden_act", "silu"},
          {"tie_word_embeddings", tied},
          {"torch_dtype", "float32"}};
}

// stories260K as a Hugging Face directory.
fs::path convert(const std::string& name, bool bf16, bool tied, const std::vector<float>* lm_head = nullptr) {
  const auto& w = stories();
  const auto& c = w.config;
  const int hs = c.head_size();
  std::vector<Tensor> t;
  const auto D = static_cast<int64_t>(c.dim);
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, D}, w.token_embedding});
  for (int l = 0; l < c.n_layers; ++l) {
    const auto& lw = w.layers[static_cast<size_t>(l)];
    const std::string p = fmt::format("model.layers.{}.", l);
    t.push_back({p + "input_layernorm.weight", {D}, lw.rms_att});
    t.push_back({p + "self_attn.q_proj.weight", {D, D}, permute(lw.wq, c.n_heads, hs, c.dim)});
    t.push_back({p + "self_attn.k_proj.weight", {c.kv_dim(), D}, permute(lw.wk, c.n_kv_heads, hs, c.dim)});
    t.push_back({p + "self_attn.v_proj.weight", {c.kv_dim(), D}, lw.wv});
    t.push_back({p + "self_attn.o_proj.weight", {D, D}, lw.wo});
    t.push_back({p + "post_attention_layernorm.weight", {D}, lw.rms_ffn});
    t.push_back({p + "mlp.gate_proj.weight", {c.hidden_dim, D}, lw.w1});
    t.push_back({p + "mlp.down_proj.weight", {D, c.hidden_dim}, lw.w2});
    t.push_back({p + "mlp.up_proj.weight", {c.hidden_dim, D}, lw.w3});
  }
  t.push_back({"model.norm.weight", {D}, w.rms_final});
  if (lm_head) t.push_back({"lm_head.weight", {c.vocab_size, D}, *lm_head});
  const fs::path dir = fq::test::temp_dir(name);
  write_safetensors(dir / "model.safetensors", t, bf16);
  std::ofstream(dir / "config.json") << stories_config(tied).dump(2);
  return dir;
}

std::vector<float> bf16_of(const std::vector<float>& v) {
  std::vector<float> out;
  for (const float f : v) out.push_back(from_bf16(to_bf16(f)));
  return out;
}

}  // namespace

SCENARIO("stories260K in the Hugging Face layout gives the same weights and tokens", "[ckpt][hf]") {
  const fs::path dir = convert("hf_f32", false, true);
  const auto ckpt = fq::open_model_checkpoint(dir);
  const auto hf = fq::llm::load_llama(*ckpt);
  const auto& w = stories();
  CHECK(hf.config.n_layers == 5);
  CHECK(hf.config.n_kv_heads == 4);
  CHECK(hf.config.seq_len == 512);
  CHECK(hf.config.shared_classifier);
  for (int l = 0; l < 5; ++l) {
    CHECK(hf.layers[static_cast<size_t>(l)].wq == w.layers[static_cast<size_t>(l)].wq);
    CHECK(hf.layers[static_cast<size_t>(l)].wk == w.layers[static_cast<size_t>(l)].wk);
    CHECK(hf.layers[static_cast<size_t>(l)].w2 == w.layers[static_cast<size_t>(l)].w2);
  }
  CHECK(hf.classifier == w.classifier);
  // The RoPE table as llama2.c's export writes it (computed there in torch, so not bit for bit).
  const auto rope = ckpt->load("freq_cis_real");
  const auto ref = fq::open_checkpoint(fq::test::stories260k())->load("freq_cis_real");
  REQUIRE(rope.size() == ref.size());
  double worst = 0;
  for (size_t i = 0; i < rope.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(rope[i]) - ref[i]));
  CHECK(worst < 1e-4);
  CHECK(fq::llm::generate_greedy(hf, 1, 32) == fq::llm::generate_greedy(w, 1, 32));
  // Through the integer path too (the codes are quantized from identical weights).
  const std::vector<int> prompt = {1, 403, 407, 261, 378};
  const auto a = fq::llm::make_int_path(hf, "fineq", fq::Params("t"));
  const auto b = fq::llm::make_int_path(w, "fineq", fq::Params("t"));
  CHECK(fq::llm::greedy_after_prompt(a.weights, fq::llm::int_path_hooks(a), prompt, 16, true).generated ==
        fq::llm::greedy_after_prompt(b.weights, fq::llm::int_path_hooks(b), prompt, 16, true).generated);
  CHECK(fq::open_model_checkpoint(dir / "config.json")->tensors().size() == ckpt->tensors().size());
  CHECK(ckpt->linear_weights().size() == 35);
}

SCENARIO("BF16 weights and an untied lm_head decode exactly", "[ckpt][hf]") {
  const auto& w = stories();
  std::vector<float> head = w.classifier;
  for (float& v : head) v *= 0.5f;
  const auto hf = fq::llm::load_llama(*fq::open_model_checkpoint(convert("hf_bf16", true, false, &head)));
  CHECK_FALSE(hf.config.shared_classifier);
  CHECK(hf.layers[2].wq == bf16_of(w.layers[2].wq));
  CHECK(hf.layers[2].wk == bf16_of(w.layers[2].wk));
  CHECK(hf.layers[2].w3 == bf16_of(w.layers[2].w3));
  CHECK(hf.classifier == bf16_of(head));
  CHECK(hf.token_embedding == bf16_of(w.token_embedding));
}

SCENARIO("unsupported or broken Hugging Face checkpoints are clear errors", "[ckpt][hf]") {
  const fs::path dir = convert("hf_bad", false, true);
  const auto with_config = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto j = stories_config(true);
    edit(j);
    std::ofstream(dir / "config.json") << j.dump();
  };
  with_config([](nlohmann::json& j) { j["rope_theta"] = 500000.0; });
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "key 'rope_theta' = 500000.0 is not supported");
  with_config([](nlohmann::json& j) { j["rms_norm_eps"] = 1e-6; });
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "key 'rms_norm_eps'");
  with_config([](nlohmann::json& j) { j.erase("intermediate_size"); });
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "no key 'intermediate_size'");
  with_config([](nlohmann::json& j) { j["num_key_value_heads"] = 8; });
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "k_proj.weight is [32, 64], config.json implies [64, 64]");
  with_config([](nlohmann::json& j) { j["num_hidden_layers"] = 6; });
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "no tensor 'model.layers.5.input_layernorm.weight'");
  with_config([](nlohmann::json& j) { j["num_hidden_layers"] = 4; });
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "more layers than num_hidden_layers 4");
  with_config([](nlohmann::json& j) { j["tie_word_embeddings"] = false; });
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "no tensor 'lm_head.weight'");
  std::ofstream(dir / "config.json") << "{\"hidden_size\": ";
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "not JSON");
  fs::remove(dir / "model.safetensors");
  std::ofstream(dir / "model.safetensors.index.json") << "{}";
  with_config([](nlohmann::json&) {});
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "sharded safetensors");
  fs::remove(dir / "config.json");
  fq::test::require_error_mentions([&] { fq::open_model_checkpoint(dir); }, "no config.json");
}
