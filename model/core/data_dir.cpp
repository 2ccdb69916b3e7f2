#include "model/core/data_dir.h"

#include <cstdlib>
#include <system_error>

namespace fs = std::filesystem;

namespace fq {

std::optional<fs::path> install_prefix() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  const fs::path prefix = exe.parent_path().parent_path();
  if (fs::is_directory(prefix / "share/fqsim/configs", ec)) return prefix;
  return std::nullopt;
}

fs::path data_dir() {
  if (const char* env = std::getenv("FQSIM_DATA_DIR"); env != nullptr && *env != '\0') return env;
  if (const auto prefix = install_prefix()) return *prefix / "share/fqsim";
  return FQ_SOURCE_DIR;
}

fs::path include_dir() {
  if (const auto prefix = install_prefix()) return *prefix / FQ_INSTALL_INCLUDEDIR / "fqsim";
  return FQ_SOURCE_DIR;
}

std::string resolve_arch_path(const std::string& arg) {
  std::error_code ec;
  if (arg.empty() || fs::exists(arg, ec)) return arg;
  if (arg.find('/') != std::string::npos || fs::path(arg).has_extension()) return arg;
  const fs::path preset = data_dir() / "configs" / (arg + ".yaml");
  return fs::exists(preset, ec) ? preset.string() : arg;
}

}  // namespace fq
