#include "model/ckpt/hf_checkpoint.h"

#include "model/core/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace fq {
namespace {

namespace fs = std::filesystem;

struct HfConfig {
  int dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0, seq_len = 0;
  bool tied = false;
};

int config_int(const nlohmann::json& j, const std::string& key, const std::string& file) {
  if (!j.contains(key)) fail("{}: no key '{}'", file, key);
  const auto& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > (1 << 24)) {
    fail("{}: key '{}' = {} must be an integer in [1, 2^24]", file, key, v.dump());
  }
  return static_cast<int>(v.get<int64_t>());
}

// What model/llm computes; a config asking for something else would silently run another model.
void require_value(const nlohmann::json& j, const std::string& key, const nlohmann::json& expected,
                   const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return;
  const auto& v = j[key];
  const bool same = v.is_number() && expected.is_number() ? v.get<double>() == expected.get<double>() : v == expected;
  if (!same) fail("{}: key '{}' = {} is not supported (fqsim's LLaMA computes {})", file, key, v.dump(), expected.dump());
}

HfConfig read_config(const fs::path& file) {
  std::ifstream in(file);
  if (!in) fail("{}: cannot open", file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: offset {}: not JSON: {}", file.string(), e.byte, e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number beyond a double
    fail("{}: not JSON: {}", file.string(), e.what());
  }
  const std::string f = file.string();
  if (!j.is_object()) fail("{}: not a JSON object", f);
  require_value(j, "model_type", "llama", f);
  require_value(j, "hidden_act", "silu", f);
  require_value(j, "rms_norm_eps", 1e-5, f);
  require_value(j, "rope_theta", 10000.0, f);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) fail("{}: key 'rope_scaling' is not supported", f);
  HfConfig c;
  c.dim = config_int(j, "hidden_size", f);
  c.hidden = config_int(j, "intermediate_size", f);
  c.layers = config_int(j, "num_hidden_layers", f);
  c.heads = config_int(j, "num_attention_heads", f);
  c.kv_heads = j.contains("num_key_value_heads") ? config_int(j, "num_key_value_heads", f) : c.heads;
  c.vocab = config_int(j, "vocab_size", f);
  c.seq_len = config_int(j, "max_position_embeddings", f);
  if (j.contains("tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean()) fail("{}: key 'tie_word_embeddings' must be true or false", f);
    c.tied = j["tie_word_embeddings"].get<bool>();
  }
  if (c.dim % c.heads != 0 || (c.dim / c.heads) % 2 != 0) {
    fail("{}: hidden_size {} is not an even head size times num_attention_heads {}", f, c.dim, c.heads);
  }
  if (c.heads % c.kv_heads != 0) fail("{}: num_key_value_heads {} does not divide num_attention_heads {}", f, c.kv_heads, c.heads);
  return c;
}

class HfCheckpoint final : public ICheckpoint {
 public:
  HfCheckpoint(const fs::path& config_file, const fs::path& weights_file)
      : m_config(read_config(config_file)), m_inner(open_checkpoint(weights_file)), m_path(weights_file.string()) {
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const TensorInfo& t : m_inner->tensors()) shapes[t.name] = t.shape;
    const int64_t d = m_config.dim, hs = d / m_config.heads;
    auto map = [&](const std::string& ours, const std::string& theirs) {
      const auto it = shapes.find(theirs);
      if (it == shapes.end()) fail("{}: no tensor '{}'", m_path, theirs);
      m_tensors.push_back({ours, it->second});
      m_source[ours] = theirs;
    };
    map("tok_embeddings", "model.embed_tokens.weight");
    const char* linears[][2] = {{"wq", "self_attn.q_proj"}, {"wk", "self_attn.k_proj"}, {"wv", "self_attn.v_proj"},
                                {"wo", "self_attn.o_proj"}, {"w1", "mlp.gate_proj"},    {"w2", "mlp.down_proj"},
                                {"w3", "mlp.up_proj"}};
    for (int l = 0; l < m_config.layers; ++l) {
      const std::string p = fmt::format("model.layers.{}.", l);
      map(fmt::format("layers.{}.attention_norm", l), p + "input_layernorm.weight");
      for (const auto& [ours, theirs] : linears) map(fmt::format("layers.{}.{}", l, ours), p + theirs + ".weight");
      map(fmt::format("layers.{}.ffn_norm", l), p + "post_attention_layernorm.weight");
    }
    map("norm", "model.norm.weight");
    if (shapes.count(fmt::format("model.layers.{}.input_layernorm.weight", m_config.layers))) {
      fail("{}: has more layers than num_hidden_layers {}", m_path, m_config.layers);
    }
    // model/llm reads seq_len and the head size from the shape of llama2.c's RoPE table. It is
    // computed, not read: its size must be one the weights file justifies (a real model's table is
    // a tiny fraction of its weights), else a few bytes of config.json could ask for gigabytes.
    const uint64_t table_bytes = 2 * sizeof(float) * static_cast<uint64_t>(m_config.seq_len) * static_cast<uint64_t>(hs / 2);
    if (table_bytes > fs::file_size(weights_file)) {
      fail("{}: key 'max_position_embeddings' = {} with head size {} implies RoPE tables of {} bytes, more than "
           "{} of {} bytes holds", config_file.string(), m_config.seq_len, hs, table_bytes, m_path,
           fs::file_size(weights_file));
    }
    m_tensors.push_back({"freq_cis_real", {m_config.seq_len, hs / 2}});
    m_tensors.push_back({"freq_cis_imag", {m_config.seq_len, hs / 2}});
    if (!m_config.tied) {
      if (!shapes.count("lm_head.weight")) fail("{}: no tensor 'lm_head.weight' (tie_word_embeddings is false)", m_path);
      map("output", "lm_head.weight");
    }
    const auto& emb = shapes.at("model.embed_tokens.weight");
    if (emb != std::vector<int64_t>{m_config.vocab, d}) {
      fail("{}: model.embed_tokens.weight is [{}], config.json says [{}, {}]", m_path, fmt::format("{}", fmt::join(emb, ", ")),
           m_config.vocab, d);
    }
    // Every layer's: load() un-permutes these rows by the config's head layout.
    for (int l = 0; l < m_config.layers; ++l) {
      for (const auto& [name, rows] : {std::pair{"q_proj", d}, std::pair{"k_proj", hs * m_config.kv_heads}}) {
        const auto& s = shapes.at(fmt::format("model.layers.{}.self_attn.{}.weight", l, name));
        if (s != std::vector<int64_t>{rows, d}) {
          fail("{}: model.layers.{}.self_attn.{}.weight is [{}], config.json implies [{}, {}]", m_path, l, name,
               fmt::format("{}", fmt::join(s, ", ")), rows, d);
        }
      }
    }
  }

  const std::vector<TensorInfo>& tensors() const override { return m_tensors; }
  const std::string& path() const override { return m_path; }

  std::vector<std::string> linear_weights() const override {
    std::vector<std::string> out;
    for (const auto& t : m_tensors) {
      if (t.shape.size() == 2 && t.name.rfind("layers.", 0) == 0) out.push_back(t.name);
    }
    if (!m_config.tied) out.push_back("output");
    return out;
  }

  std::vector<float> load(const std::string& name) const override {
    const int hs = m_config.dim / m_config.heads;
    if (name == "freq_cis_real" || name == "freq_cis_imag") return rope_table(name == "freq_cis_real", hs);
    const auto it = m_source.find(name);
    if (it == m_source.end()) fail("{}: no tensor '{}'", m_path, name);
    std::vector<float> v = m_inner->load(it->second);
    const auto suffix = name.size() > 3 ? name.substr(name.size() - 3) : "";
    if (suffix == ".wq") return unpermute(v, m_config.heads, hs);
    if (suffix == ".wk") return unpermute(v, m_config.kv_heads, hs);
    return v;
  }

 private:
  // llama2.c row h·hs + 2i + j <- HF row h·hs + j·hs/2 + i (export.py's permute_reverse).
  std::vector<float> unpermute(const std::vector<float>& hf, int heads, int hs) const {
    const size_t cols = static_cast<size_t>(m_config.dim);
    std::vector<float> out(hf.size());
    for (int h = 0; h < heads; ++h) {
      for (int i = 0; i < hs / 2; ++i) {
        for (int j = 0; j < 2; ++j) {
          const auto dst = static_cast<size_t>(h * hs + 2 * i + j), src = static_cast<size_t>(h * hs + j * hs / 2 + i);
          std::copy_n(hf.begin() + static_cast<std::ptrdiff_t>(src * cols), cols,
                      out.begin() + static_cast<std::ptrdiff_t>(dst * cols));
        }
      }
    }
    return out;
  }

  // What llama2.c's legacy export writes (run.c recomputes it; only its shape is read here).
  std::vector<float> rope_table(bool real, int hs) const {
    std::vector<float> t;
    t.reserve(static_cast<size_t>(m_config.seq_len) * static_cast<size_t>(hs / 2));
    for (int pos = 0; pos < m_config.seq_len; ++pos) {
      for (int i = 0; i < hs; i += 2) {
        const float freq = 1.0f / std::pow(10000.0f, static_cast<float>(i) / static_cast<float>(hs));
        const float a = static_cast<float>(pos) * freq;
        t.push_back(real ? std::cos(a) : std::sin(a));
      }
    }
    return t;
  }

  HfConfig m_config;
  std::unique_ptr<ICheckpoint> m_inner;
  std::string m_path;
  std::vector<TensorInfo> m_tensors;
  std::map<std::string, std::string> m_source;
};

}  // namespace

std::unique_ptr<ICheckpoint> open_hf_checkpoint(const fs::path& path) {
  const fs::path dir = fs::is_directory(path) ? path : path.parent_path();
  const fs::path config = fs::is_directory(path) ? path / "config.json" : path;
  if (!fs::exists(config)) fail("{}: no config.json (a Hugging Face checkpoint directory needs one)", dir.string());
  const fs::path weights = dir / "model.safetensors";
  if (!fs::exists(weights)) {
    if (fs::exists(dir / "model.safetensors.index.json")) {
      fail("{}: sharded safetensors (model.safetensors.index.json) are not supported; merge into model.safetensors",
           dir.string());
    }
    fail("{}: no model.safetensors", dir.string());
  }
  return std::make_unique<HfCheckpoint>(config, weights);
}

std::unique_ptr<ICheckpoint> open_model_checkpoint(const fs::path& path) {
  if (fs::is_directory(path) || path.filename() == "config.json") return open_hf_checkpoint(path);
  return open_checkpoint(path);
}

}  // namespace fq
