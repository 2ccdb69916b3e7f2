// fq::Error: the one exception type for bad input; its message names the file, key or offset.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace fq {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws fq::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace fq
