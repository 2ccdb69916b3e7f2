// Readers of real checkpoints: llama2.c legacy `.bin` and safetensors (F32, F16, BF16).
// Contract: open_checkpoint() validates the whole layout against the file size before any tensor
// is read; load() reads only that tensor's bytes and returns row-major FP32 values as stored (no
// NaN check: callers decide). Every error is an fq::Error naming the file, field and offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fq {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // row-major; 2-D linear weights are [N, K]
};

class ICheckpoint {
 public:
  virtual ~ICheckpoint() = default;
  virtual const std::vector<TensorInfo>& tensors() const = 0;  // in file order
  virtual std::vector<float> load(const std::string& name) const = 0;
  virtual const std::string& path() const = 0;
  // The tensors `quantize` takes by default: the linear layers.
  virtual std::vector<std::string> linear_weights() const = 0;
};

// llama2.c header (../shared/models/README.md); a negative vocab_size in the file means an
// unshared classifier, stored here as shared_classifier = false with vocab_size positive.
struct Llama2cConfig {
  int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;
};

Llama2cConfig read_llama2c_config(const std::filesystem::path& path);

// Chooses the reader by content: safetensors when the first 8 bytes are a header length that fits
// the file and byte 8 is '{', else llama2.c.
std::unique_ptr<ICheckpoint> open_checkpoint(const std::filesystem::path& path);

// Comma-separated glob patterns (`*`, `?`) over tensor names, matches in file order without
// duplicates; empty: linear_weights(). A pattern matching nothing is an error listing names.
std::vector<std::string> select_tensors(const ICheckpoint& checkpoint, const std::string& patterns);
bool glob_match(std::string_view pattern, std::string_view name);

std::optional<size_t> find_non_finite(std::span<const float> values);

}  // namespace fq
