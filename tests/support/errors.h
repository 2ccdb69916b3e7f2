// require_error_mentions: the call throws fq::Error and its message contains `needle`.
#pragma once

#include "model/core/error.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>

namespace fq::test {

inline void require_error_mentions(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    FAIL("expected fq::Error mentioning '" << needle << "'");
  } catch (const fq::Error& e) {
    INFO(e.what());
    REQUIRE(std::string(e.what()).find(needle) != std::string::npos);
  }
}

}  // namespace fq::test
