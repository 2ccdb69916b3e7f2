// The whole accelerator in RTL (fq_top) running compiled tile programs, against the golden
// interpreter (every DRAM byte it writes: int32 accumulators and FP32 outputs) and against the
// fast engine (the cycle each op completes, total cycles, PE additions): the Verilog implements
// the timing of docs/architecture.md. Programs are random GEMMs lowered with random legal
// weight-stationary mappings (top_cases.cpp); each model is built once and runs many.
#include "top_cases.h"

#include <catch2/catch.hpp>

namespace {

void run_cases(const std::string& name, uint64_t first_seed, int cases, int stall_percent = 0) {
  for (const auto& t : fq::rtl::top_configs()) {
    if (t.name != name) continue;
    for (uint64_t seed = first_seed; seed < first_seed + static_cast<uint64_t>(cases); ++seed) {
      const auto r = fq::rtl::run_top_case(t, seed, stall_percent);
      INFO(r.summary);
      INFO(r.failure);
      REQUIRE(r.pass);
    }
    return;
  }
  FAIL("no configuration " << name);
}

}  // namespace

TEST_CASE("RTL top == golden bytes and == fast engine cycles: temporal 4x3, tile window", "[rtl][top]") {
  run_cases("t4x3", 1, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: temporal 6x2, fixed window", "[rtl][top]") {
  run_cases("t6x2_fixed", 1001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: INT8 MAC 4x4", "[rtl][top]") {
  run_cases("m4x4", 2001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: INT4 MAC 4x3", "[rtl][top]") {
  run_cases("m4x3_b4", 3001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: bit-serial 4x3, FineQ-R, tile window", "[rtl][top]") {
  run_cases("b4x3", 6001, 100);
}

TEST_CASE("RTL top == golden bytes and == fast engine cycles: bit-serial 4x4, INT4", "[rtl][top]") {
  run_cases("b4x4_i4", 7001, 100);
}

TEST_CASE("RTL top with random DRAM stalls still computes the golden bytes", "[rtl][top]") {
  run_cases("t4x3", 4001, 40, 40);
  run_cases("m4x3_b4", 5001, 40, 30);
}
