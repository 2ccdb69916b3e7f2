#include "model/core/atomic_file.h"

#include "model/core/error.h"

#include <fmt/format.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace fq {
namespace {

const std::string& host_name() {
  static const std::string name = [] {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return std::string("host");
    std::string s(buf);
    for (char& c : s) {
      if (c == '.' || c == '/') c = '_';  // keeps "<name>.<host>.<pid>.tmp" splittable
    }
    return s;
  }();
  return name;
}

}  // namespace

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  std::filesystem::path tmp = path;
  tmp += fmt::format(".{}.{}.tmp", host_name(), getpid());
  return tmp;
}

void remove_stale_temps(const std::filesystem::path& path) {
  const std::string prefix = path.filename().string() + "." + host_name() + ".";
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - 4, 4, ".tmp") != 0) {
      continue;
    }
    const std::string pid_text = name.substr(prefix.size(), name.size() - prefix.size() - 4);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    // Only a process that no longer exists: a live writer's file is its business.
    if (pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) {
      std::error_code rm;
      std::filesystem::remove(it->path(), rm);
    }
  }
}

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write) {
  remove_stale_temps(path);
  const std::filesystem::path tmp = temp_path_for(path);
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot open for writing", tmp.string());
    try {
      write(out);
    } catch (...) {
      out.close();
      std::filesystem::remove(tmp, ec);
      throw;
    }
    out.close();
    if (!out) {
      std::filesystem::remove(tmp, ec);
      fail("{}: write failed", tmp.string());
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(tmp, ec);
    fail("{}: cannot rename to {}: {}", tmp.string(), path.string(), why);
  }
}

}  // namespace fq
