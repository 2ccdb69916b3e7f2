#include "model/core/atomic_file.h"

#include "model/core/error.h"

#include <fstream>

namespace fq {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
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
