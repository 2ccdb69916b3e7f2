// Where fqsim's data lives (configs/, traces/, rtl/ and the RTL runner's sources): beside the
// commands of an installed tree (<prefix>/share/fqsim), else the source tree this build came from.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace fq {

// The install prefix when this program runs from an installed tree (its executable's folder
// has ../share/fqsim/configs), otherwise nothing.
std::optional<std::filesystem::path> install_prefix();

// FQSIM_DATA_DIR when set, else <prefix>/share/fqsim when installed, else the source tree.
std::filesystem::path data_dir();

// The headers the RTL runner compiles against: <prefix>/include/fqsim or the source tree.
std::filesystem::path include_dir();

// An --arch argument: an existing path as is, else a bare name such as "fineq" as the preset
// data_dir()/configs/NAME.yaml when that exists; otherwise the argument unchanged (the reader
// then names it in its error).
std::string resolve_arch_path(const std::string& arg);

}  // namespace fq
