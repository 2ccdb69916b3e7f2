#include "model/ckpt/checkpoint.h"

#include "model/core/error.h"
#include "model/core/fp16.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

namespace fq {
namespace {

uint64_t checked_size(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot open the checkpoint: {}", path.string(), ec.message());
  return size;
}

std::string read_bytes(const std::filesystem::path& path, uint64_t offset, uint64_t bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the checkpoint", path.string());
  std::string s(static_cast<size_t>(bytes), '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(s.data(), static_cast<std::streamsize>(bytes));
  if (!in) fail("{}: offset {}: cannot read {} bytes", path.string(), offset, bytes);
  return s;
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

struct Located {
  TensorInfo info;
  uint64_t offset = 0;  // bytes from the start of the file
  int dtype_bytes = 4;
  char dtype = 'f';  // 'f' F32, 'h' F16, 'b' BF16
};

class FileCheckpoint : public ICheckpoint {
 public:
  const std::vector<TensorInfo>& tensors() const override { return m_infos; }
  const std::string& path() const override { return m_path; }

  std::vector<float> load(const std::string& name) const override {
    for (const Located& t : m_tensors) {
      if (t.info.name != name) continue;
      const auto n = static_cast<uint64_t>(product(t.info.shape));
      const std::string raw = read_bytes(m_path, t.offset, n * static_cast<uint64_t>(t.dtype_bytes));
      std::vector<float> out(n);
      if (t.dtype == 'f') {
        std::memcpy(out.data(), raw.data(), raw.size());
      } else {
        for (uint64_t i = 0; i < n; ++i) {
          uint16_t v;
          std::memcpy(&v, raw.data() + 2 * i, 2);
          out[i] = t.dtype == 'h' ? fp16_to_float(v) : bf16_to_float(v);
        }
      }
      return out;
    }
    fail("{}: no tensor named '{}'", m_path, name);
  }

 protected:
  void add(Located t) {
    m_infos.push_back(t.info);
    m_tensors.push_back(std::move(t));
  }
  std::string m_path;

 private:
  std::vector<Located> m_tensors;
  std::vector<TensorInfo> m_infos;
};

// ---- llama2.c -----------------------------------------------------------------------------

constexpr const char* kHeaderFields[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
                                         "seq_len"};

class Llama2cCheckpoint final : public FileCheckpoint {
 public:
  explicit Llama2cCheckpoint(const std::filesystem::path& path) {
    m_path = path.string();
    m_config = read_llama2c_config(path);
    const auto& c = m_config;
    const int64_t kv_dim = int64_t{c.dim} * c.n_kv_heads / c.n_heads;
    const int64_t head = c.dim / c.n_heads;
    const int64_t L = c.n_layers, D = c.dim, H = c.hidden_dim;
    // The size the header implies, before any tensor entry exists: a 28-byte file claiming 2^20
    // layers must not build 9 M entries first. Each dimension is at most 2^20, so every count of
    // floats fits; the byte total saturates (a sum past 2^64 cannot match a real file anyway).
    const uint64_t floats[] = {static_cast<uint64_t>((c.shared_classifier ? 1 : 2) * c.vocab_size * D),
                               static_cast<uint64_t>(L * D * 2 + D),
                               static_cast<uint64_t>(L * (2 * D * D + 2 * kv_dim * D)),
                               static_cast<uint64_t>(L * 3 * H * D),
                               static_cast<uint64_t>(c.seq_len * (head / 2) * 2)};
    uint64_t implied = 7 * 4;
    for (const uint64_t f : floats) {
      uint64_t bytes = 0;
      if (__builtin_mul_overflow(f, uint64_t{4}, &bytes) || __builtin_add_overflow(implied, bytes, &implied)) {
        implied = ~uint64_t{0};
      }
    }
    const uint64_t size = checked_size(path);
    if (size != implied) {
      fail("{}: file size is {} bytes but its header (dim {}, hidden_dim {}, n_layers {}, n_heads {}, n_kv_heads {}, "
           "vocab_size {}{}, seq_len {}) implies {} bytes{}",
           m_path, size, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.shared_classifier ? "" : "-",
           c.vocab_size, c.seq_len, implied == ~uint64_t{0} ? "more than 2^64" : std::to_string(implied),
           size < implied ? ": truncated" : ": trailing bytes");
    }
    uint64_t offset = 7 * 4;
    auto put = [&](const std::string& name, std::vector<int64_t> shape) {
      Located t{{name, std::move(shape)}, offset, 4, 'f'};
      offset += static_cast<uint64_t>(product(t.info.shape)) * 4;
      add(std::move(t));
    };
    put("tok_embeddings", {c.vocab_size, D});
    for (int64_t l = 0; l < L; ++l) put(fmt::format("layers.{}.attention_norm", l), {D});
    // llama2.c stores each kind for all layers together: wq of every layer, then wk, ...
    for (const auto& [kind, n, k] : std::vector<std::tuple<const char*, int64_t, int64_t>>{
             {"wq", D, D}, {"wk", kv_dim, D}, {"wv", kv_dim, D}, {"wo", D, D}}) {
      for (int64_t l = 0; l < L; ++l) put(fmt::format("layers.{}.{}", l, kind), {n, k});
    }
    for (int64_t l = 0; l < L; ++l) put(fmt::format("layers.{}.ffn_norm", l), {D});
    for (const auto& [kind, n, k] :
         std::vector<std::tuple<const char*, int64_t, int64_t>>{{"w1", H, D}, {"w2", D, H}, {"w3", H, D}}) {
      for (int64_t l = 0; l < L; ++l) put(fmt::format("layers.{}.{}", l, kind), {n, k});
    }
    put("norm", {D});
    put("freq_cis_real", {c.seq_len, head / 2});
    put("freq_cis_imag", {c.seq_len, head / 2});
    if (!c.shared_classifier) put("output", {c.vocab_size, D});
    if (offset != implied) fail("{}: internal error: the tensor layout ends at {}, not {}", m_path, offset, implied);
  }

  std::vector<std::string> linear_weights() const override {
    std::vector<std::string> out;
    for (int l = 0; l < m_config.n_layers; ++l) {
      for (const char* kind : {"wq", "wk", "wv", "wo", "w1", "w2", "w3"}) out.push_back(fmt::format("layers.{}.{}", l, kind));
    }
    return out;
  }

 private:
  Llama2cConfig m_config;
};

// ---- safetensors --------------------------------------------------------------------------

class SafetensorsCheckpoint final : public FileCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::filesystem::path& path) {
    m_path = path.string();
    const uint64_t size = checked_size(path);
    if (size < 8) fail("{}: {} bytes is too short for a safetensors header", m_path, size);
    uint64_t n = 0;
    std::memcpy(&n, read_bytes(path, 0, 8).data(), 8);
    if (n > size - 8) fail("{}: offset 0: header length {} runs past the end of the file ({} bytes)", m_path, n, size);
    const uint64_t data = 8 + n;
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(read_bytes(path, 8, n));
    } catch (const nlohmann::json::parse_error& e) {
      fail("{}: offset {}: the JSON header does not parse: {}", m_path, 8 + e.byte, e.what());
    } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number beyond a double
      fail("{}: offset 8: the JSON header does not parse: {}", m_path, e.what());
    }
    if (!header.is_object()) fail("{}: offset 8: the JSON header is not an object", m_path);
    struct Span {
      uint64_t begin, end;
      std::string name;
    };
    std::vector<Located> found;
    for (const auto& [name, t] : header.items()) {
      if (name == "__metadata__") continue;
      const std::string who = fmt::format("{}: tensor '{}'", m_path, name);
      if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets")) {
        fail("{}: needs dtype, shape and data_offsets", who);
      }
      Located l;
      l.info.name = name;
      const auto& dtype = t["dtype"];
      const std::string dt = dtype.is_string() ? dtype.get<std::string>() : dtype.dump();
      if (dt == "F32") {
        l.dtype = 'f';
        l.dtype_bytes = 4;
      } else if (dt == "F16") {
        l.dtype = 'h';
        l.dtype_bytes = 2;
      } else if (dt == "BF16") {
        l.dtype = 'b';
        l.dtype_bytes = 2;
      } else {
        fail("{}: dtype {} is not supported (F32, F16, BF16)", who, dt);
      }
      if (!t["shape"].is_array()) fail("{}: shape is not a list", who);
      uint64_t count = 1;
      for (const auto& d : t["shape"]) {
        if (!d.is_number_unsigned()) fail("{}: shape {} has a non-integer dimension", who, t["shape"].dump());
        const auto v = d.get<uint64_t>();
        if (v > (uint64_t{1} << 40) || (v != 0 && count > (uint64_t{1} << 40) / v)) fail("{}: shape is too large", who);
        count *= v;
        l.info.shape.push_back(static_cast<int64_t>(v));
      }
      const auto& offs = t["data_offsets"];
      if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned()) {
        fail("{}: data_offsets must be two non-negative integers", who);
      }
      const auto begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
      if (begin > end || end > size - data) {
        fail("{}: data_offsets [{}, {}] lie outside the data section of {} bytes", who, begin, end, size - data);
      }
      if (end - begin != count * static_cast<uint64_t>(l.dtype_bytes)) {
        fail("{}: data_offsets hold {} bytes but shape {} of {} needs {}", who, end - begin, t["shape"].dump(), dt,
             count * static_cast<uint64_t>(l.dtype_bytes));
      }
      l.offset = data + begin;
      found.push_back(std::move(l));
    }
    std::sort(found.begin(), found.end(), [](const Located& a, const Located& b) { return a.offset < b.offset; });
    for (auto& l : found) add(std::move(l));
  }

  std::vector<std::string> linear_weights() const override {
    std::vector<std::string> out;
    for (const auto& t : tensors()) {
      if (t.shape.size() == 2) out.push_back(t.name);
    }
    return out;
  }
};

bool looks_like_safetensors(const std::filesystem::path& path) {
  const uint64_t size = checked_size(path);
  if (size < 9) return false;
  const std::string head = read_bytes(path, 0, 9);
  uint64_t n = 0;
  std::memcpy(&n, head.data(), 8);
  return n <= size - 8 && head[8] == '{';
}

}  // namespace

Llama2cConfig read_llama2c_config(const std::filesystem::path& path) {
  const uint64_t size = checked_size(path);
  if (size < 28) fail("{}: {} bytes is too short for a llama2.c header (28 bytes)", path.string(), size);
  const std::string raw = read_bytes(path, 0, 28);
  int32_t v[7];
  std::memcpy(v, raw.data(), sizeof v);
  for (int i = 0; i < 7; ++i) {
    const int32_t x = i == 5 ? std::abs(v[i]) : v[i];
    if (x <= 0 || x > (1 << 20) || v[i] == INT32_MIN) {
      fail("{}: offset {}: header field {} = {} must be in [1, 2^20]{}", path.string(), 4 * i, kHeaderFields[i], v[i],
           i == 5 ? " in magnitude" : "");
    }
  }
  Llama2cConfig c{v[0], v[1], v[2], v[3], v[4], std::abs(v[5]), v[6], v[5] > 0};
  if (c.dim % c.n_heads != 0) fail("{}: offset 12: n_heads {} does not divide dim {}", path.string(), c.n_heads, c.dim);
  if (c.n_heads % c.n_kv_heads != 0) {
    fail("{}: offset 16: n_kv_heads {} does not divide n_heads {}", path.string(), c.n_kv_heads, c.n_heads);
  }
  if ((c.dim / c.n_heads) % 2 != 0) fail("{}: offset 0: head size {} is odd (RoPE pairs)", path.string(), c.dim / c.n_heads);
  return c;
}

std::unique_ptr<ICheckpoint> open_checkpoint(const std::filesystem::path& path) {
  if (looks_like_safetensors(path)) return std::make_unique<SafetensorsCheckpoint>(path);
  return std::make_unique<Llama2cCheckpoint>(path);
}

bool glob_match(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<std::string> select_tensors(const ICheckpoint& checkpoint, const std::string& patterns) {
  if (patterns.empty()) return checkpoint.linear_weights();
  std::vector<std::string> list;
  size_t start = 0;
  while (start <= patterns.size()) {
    const size_t comma = patterns.find(',', start);
    list.push_back(patterns.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::set<std::string> chosen;
  for (const auto& p : list) {
    bool any = false;
    for (const auto& t : checkpoint.tensors()) {
      if (glob_match(p, t.name)) {
        chosen.insert(t.name);
        any = true;
      }
    }
    if (!any) {
      std::string names;
      for (size_t i = 0; i < checkpoint.tensors().size() && i < 8; ++i) {
        if (!names.empty()) names.append(", ");
        names.append(checkpoint.tensors()[i].name);
      }
      fail("{}: --tensors pattern '{}' matches no tensor (tensors: {}{})", checkpoint.path(), p, names,
           checkpoint.tensors().size() > 8 ? ", ..." : "");
    }
  }
  std::vector<std::string> out;
  for (const auto& t : checkpoint.tensors()) {
    if (chosen.count(t.name)) out.push_back(t.name);
  }
  return out;
}

std::optional<size_t> find_non_finite(std::span<const float> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return i;
  }
  return std::nullopt;
}

}  // namespace fq
