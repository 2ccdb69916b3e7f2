// Where tests find shared data, and the skip rule for data a user's clone may lack.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fq::test {

inline std::filesystem::path models_dir() { return FQ_MODELS_DIR; }
inline std::filesystem::path source_dir() { return FQ_SOURCE_DIR; }
inline std::filesystem::path bin_dir() { return FQ_BIN_DIR; }

// Path of stories260K.bin. When it is absent the test process exits with 77, which ctest
// reports as "Skipped" together with the reason printed here: never a silent pass.
inline std::filesystem::path stories260k() {
  const auto path = models_dir() / "stories260K.bin";
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "SKIP: %s not found (configure with -DFQ_MODELS_DIR=...)\n", path.c_str());
    std::exit(77);
  }
  return path;
}

// A fresh empty temporary folder for one test.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("fqsim_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace fq::test
