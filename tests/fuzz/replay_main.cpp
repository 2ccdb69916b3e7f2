// fq_fuzz_replay TARGET PATH...: runs every file under each PATH (a file or a folder) through a
// fuzz target once, without libFuzzer: the seed corpora and crash regressions under ctest in
// every build (tests/fuzz/CMakeLists.txt). Exit 0 when every input passed; a crash aborts.
#include "fuzz/targets.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

struct Target {
  const char* name;
  int (*run)(const uint8_t*, size_t);
};

constexpr Target kTargets[] = {
    {"qfile", fq::fuzz::qfile}, {"llama2c", fq::fuzz::llama2c}, {"safetensors", fq::fuzz::safetensors},
    {"arch", fq::fuzz::arch},   {"costs", fq::fuzz::costs},     {"topology", fq::fuzz::topology},
    {"tir", fq::fuzz::tir},     {"mem", fq::fuzz::mem},         {"tokenizer", fq::fuzz::tokenizer},
    {"sweep_csv", fq::fuzz::sweep_csv}, {"hf_config", fq::fuzz::hf_config},
};

}  // namespace

int main(int argc, char** argv) {
  const Target* target = nullptr;
  for (const Target& t : kTargets) {
    if (argc > 1 && std::strcmp(argv[1], t.name) == 0) target = &t;
  }
  if (target == nullptr || argc < 3) {
    std::fprintf(stderr, "usage: fq_fuzz_replay TARGET PATH...  (TARGET:");
    for (const Target& t : kTargets) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, ")\n");
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path p = argv[i];
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file() && e.path().filename() != "README.md") files.push_back(e.path());
      }
    } else if (std::filesystem::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "fq_fuzz_replay: %s does not exist\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "fq_fuzz_replay: no input files\n");
    return 2;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::printf("%s %s (%zu bytes)\n", target->name, f.string().c_str(), bytes.size());
    std::fflush(stdout);
    target->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%zu inputs passed\n", files.size());
  fq::fuzz::remove_scratch_files();
  return 0;
}
