// bench_tokenizer: encode and decode speed of the llama2.c tokenizer (model/llm/tokenizer.h) on the
// TinyStories excerpt and on 1 MB texts that stress the merge (one long word; random bytes).
// Usage: bench_tokenizer [MODELS_DIR] [DATA_DIR]   (default ../shared/models ../shared/data)
#include "model/llm/text_corpus.h"
#include "model/llm/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>

namespace {

template <typename F>
double best_of(int n, F&& f) {
  double best = 1e300;
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path models = argc > 1 ? argv[1] : "../shared/models";
  const std::filesystem::path data = argc > 2 ? argv[2] : "../shared/data";
  const auto tok_path = models / "tinyllamas" / "tok512.bin";
  const auto text_path = data / "tinystories-valid-excerpt.txt";
  if (!std::filesystem::exists(tok_path) || !std::filesystem::exists(text_path)) {
    fmt::print("{} or {} not found\n", tok_path.string(), text_path.string());
    return 1;
  }
  const auto tok = fq::llm::Tokenizer::load(tok_path);
  const auto corpus = fq::llm::TextCorpus::load(text_path);
  std::mt19937 rng(1);
  std::string random_bytes(1 << 20, '\0');
  for (auto& c : random_bytes) c = static_cast<char>(rng());
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"TinyStories excerpt", corpus.text},
      {"1 MiB of 'a' (one word)", std::string(1 << 20, 'a')},
      {"1 MiB of random bytes", random_bytes},
  };
  fmt::print("{:<26} {:>10} {:>10} {:>12} {:>12}\n", "text", "MB", "tokens", "encode MB/s", "decode MB/s");
  for (const auto& [name, text] : texts) {
    std::vector<int> ids;
    const double te = best_of(3, [&] { ids = tok.encode(text, true, false); });
    std::string back;
    const double td = best_of(3, [&] { back = tok.decode(std::span<const int>(ids).subspan(1)); });
    if (back != text) fmt::print("  round trip FAILED for {}\n", name);
    const double mb = static_cast<double>(text.size()) / 1e6;
    fmt::print("{:<26} {:>10.3f} {:>10} {:>12.1f} {:>12.1f}\n", name, mb, ids.size(), mb / te, mb / td);
  }
  return 0;
}
