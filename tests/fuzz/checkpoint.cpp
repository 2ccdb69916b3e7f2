// fuzz_llama2c and fuzz_safetensors: a checkpoint is opened (the layout is validated against the
// file size) and every tensor is loaded, as `quantize` and `evaluate` do. The two targets differ
// only in their seed corpora: open_checkpoint() picks the reader by content.
#include "fuzz/targets.h"

#include "model/ckpt/checkpoint.h"
#include "model/core/error.h"

#include <fmt/format.h>

namespace fq::fuzz {

void load_every_tensor(const ICheckpoint& ckpt) {
  for (const auto& t : ckpt.tensors()) {
    uint64_t n = 1;
    for (const int64_t d : t.shape) n *= static_cast<uint64_t>(d);
    const auto values = ckpt.load(t.name);
    if (values.size() != n) broken(fmt::format("tensor '{}' loaded {} values for {}", t.name, values.size(), n));
    (void)find_non_finite(values);
  }
}

namespace {

int run(const uint8_t* data, size_t size, const char* suffix) {
  const auto path = as_file({data, size}, suffix);
  try {
    const auto ckpt = open_checkpoint(path);
    load_every_tensor(*ckpt);
    (void)select_tensors(*ckpt, "");
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace

int llama2c(const uint8_t* data, size_t size) { return run(data, size, ".in.bin"); }
int safetensors(const uint8_t* data, size_t size) { return run(data, size, ".in.safetensors"); }

}  // namespace fq::fuzz
