// fuzz_hf_config: a Hugging Face checkpoint directory (model/ckpt/hf_checkpoint.h). The input is
// a 4-byte little-endian length N, N bytes of config.json, then model.safetensors (N is clamped
// to what follows; an input under 4 bytes is all config.json). Both go into a directory of this
// process; open_model_checkpoint() reads it, every tensor is loaded (value count = shape), and
// the LLaMA weights loader that `evaluate` and `quantize` feed it to, load_llama(), runs on it.
#include "fuzz/targets.h"

#include "model/ckpt/hf_checkpoint.h"
#include "model/core/error.h"
#include "model/llm/llama.h"

#include <algorithm>
#include <cstring>

namespace fq::fuzz {

int hf_config(const uint8_t* data, size_t size) {
  uint32_t n = 0;
  size_t at = 0;
  if (size >= 4) {
    std::memcpy(&n, data, 4);
    at = 4;
  }
  const size_t config = size < 4 ? size : std::min<size_t>(n, size - 4);
  const auto dir = scratch_path(".hf");
  std::filesystem::create_directories(dir);
  // as_file() writes this process's scratch file; the reader wants the two names in one folder.
  std::filesystem::rename(as_file({data + at, config}, ".json"), dir / "config.json");
  std::filesystem::rename(as_file({data + at + config, size - at - config}, ".safetensors"), dir / "model.safetensors");
  try {
    const auto ckpt = open_model_checkpoint(dir);
    load_every_tensor(*ckpt);
    const auto w = llm::load_llama(*ckpt);
    if (w.layers.size() != static_cast<size_t>(w.config.n_layers)) broken("load_llama: layer count differs from config");
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace fq::fuzz
