#include "fuzz/targets.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace fq::fuzz {

void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz target: property violated: %s\n", what.c_str());
  std::abort();
}

int run_raw_and_repaired(const uint8_t* data, size_t size, void (*run)(const std::vector<uint8_t>&),
                         std::vector<uint8_t> (*repair)(std::vector<uint8_t>)) {
  const std::vector<uint8_t> bytes(data, data + size);
  run(bytes);
  const auto repaired = repair(bytes);
  if (repaired != bytes) run(repaired);
  return 0;
}

std::filesystem::path scratch_path(const char* suffix) {
  // /dev/shm keeps the per-execution file off the disk when it exists.
  static const std::filesystem::path dir =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  return dir / fmt::format("fqfuzz-{}{}", getpid(), suffix);
}

std::filesystem::path as_file(std::span<const uint8_t> bytes, const char* suffix) {
  const auto path = scratch_path(suffix);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) broken(fmt::format("cannot write {}", path.string()));
  return path;
}

void remove_scratch_files() {
  const std::string prefix = scratch_path("").filename().string() + ".";  // suffixes start with "."
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(scratch_path("").parent_path(), ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove_all(e.path(), ec);
  }
}

}  // namespace fq::fuzz
