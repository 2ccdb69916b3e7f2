// write_file_atomically: `path` appears complete or not at all. The content goes to `path.tmp`,
// which is renamed over `path` only after it was written and closed without error; on any
// failure (an exception from `write` included) the temporary file is removed.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>

namespace fq {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

}  // namespace fq
