// Where tests find shared data, and the skip rule for data a user's clone may lack.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fq::test {

inline std::filesystem::path models_dir() { return FQ_MODELS_DIR; }
inline std::filesystem::path data_dir() { return FQ_DATA_DIR; }
inline std::filesystem::path source_dir() { return FQ_SOURCE_DIR; }
inline std::filesystem::path bin_dir() { return FQ_BIN_DIR; }

// A shared file, or (when it is absent) exit 77, which ctest reports as "Skipped" together with
// the reason printed here: never a silent pass.
inline std::filesystem::path shared_file(const std::filesystem::path& path, const char* option) {
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "SKIP: %s not found (configure with -D%s=...)\n", path.c_str(), option);
    std::exit(77);
  }
  return path;
}

// The official stories260K of the tinyllamas release and its tokenizer (../shared/models/README.md).
inline std::filesystem::path stories260k() {
  return shared_file(models_dir() / "tinyllamas" / "stories260K.bin", "FQ_MODELS_DIR");
}
inline std::filesystem::path tok512() { return shared_file(models_dir() / "tinyllamas" / "tok512.bin", "FQ_MODELS_DIR"); }
// TinyStories validation text with the perplexity protocol of ../shared/models/README.md.
inline std::filesystem::path tinystories_text() {
  return shared_file(data_dir() / "tinystories-valid-excerpt.txt", "FQ_DATA_DIR");
}

// A fresh empty temporary folder for one test.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("fqsim_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace fq::test
