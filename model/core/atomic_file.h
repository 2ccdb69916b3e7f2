// write_file_atomically: `path` appears complete or not at all. The content goes to a temporary
// file beside it (temp_path_for), which is renamed over `path` only after it was written and
// closed without error; on any failure (an exception from `write` included) the temporary file is
// removed. A process killed while writing (SIGKILL) leaves the previous `path` untouched and its
// temporary file behind; the next write of `path` on the same host removes it.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>

namespace fq {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

// `path.<host>.<pid>.tmp`: unique per process, so two writers of one name never share a
// temporary file and a stale one is never reopened by a later process.
std::filesystem::path temp_path_for(const std::filesystem::path& path);
// Removes the temporary files of `path` left by processes of this host that no longer exist.
void remove_stale_temps(const std::filesystem::path& path);

}  // namespace fq
