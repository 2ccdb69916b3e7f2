// The co-simulation harness can fail, and fails at the right place: an RTL built with a planted
// decoder bug (FQ_FAULT_DECODER flips bit 0 of q0 in normal clusters) must be reported by cosim
// as an RTL divergence from golden at the first accumulator the bug changes, which this test
// computes independently from the same workload; SystemC must still agree with golden.
#include "model/arch/arch_config.h"
#include "model/golden/int_gemm.h"
#include "sim/workload_input.h"
#include "support/paths.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sys/wait.h>

TEST_CASE("cosim reports a planted RTL decoder bug at the first affected accumulator", "[cosim]") {
  const auto dir = fq::test::temp_dir("cosim_fault");
  // configs/fineq.yaml at 6 x 4; the ctest fixture rtl_runner.fault_t6x4 builds its faulty runner.
  const std::string arch_path = (fq::test::source_dir() / "configs/test/fault_t6x4.yaml").string();
  const auto json = dir / "verdict.json";
  std::string cmd = fmt::format("{}/cosim --arch {} --gemm 5,7,20 --seed 3 --engines golden,systemc,rtl "
                                "--rtl-define FQ_FAULT_DECODER --json {} > {} 2>&1",
                                fq::test::bin_dir().string(), arch_path, json.string(), (dir / "out.txt").string());
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);

  // The expectation, from the same workload with the bug applied to the code bytes.
  const fq::ArchConfig arch = fq::load_arch(arch_path);
  fq::sim::WorkloadRequest req;
  req.gemm = "5,7,20";
  req.seed = 3;
  const auto w = fq::sim::make_workload(req, arch);
  fq::EncodedMatrix faulty = w.weights[0].matrix;
  for (auto& b : faulty.codes) {
    if ((b >> 6) == 0) b ^= 0x10;  // q0 is bits 5:4 of a normal cluster
  }
  const auto want = fq::int_gemm(w.acts[0], w.weights[0].matrix);
  const auto got = fq::int_gemm(w.acts[0], faulty);
  size_t first = 0;
  while (first < want.size() && want[first] == got[first]) ++first;
  REQUIRE(first < want.size());
  const int n = w.weights[0].matrix.rows;
  const std::string where = fmt::format("golden vs rtl: gemm 0 (gemm) acc[{}][{}]: expected {}, actual {}", first / n,
                                        first % n, want[first], got[first]);

  std::ifstream in(json);
  const auto verdict = nlohmann::json::parse(in);
  CHECK(verdict["verdict"] == "fail");
  REQUIRE(!verdict["divergences"].empty());
  const std::string d0 = verdict["divergences"][0];
  INFO(d0);
  CHECK(d0.rfind(where, 0) == 0);
  // SystemC still computes golden's bytes; the RTL's timing may differ too (the tile window
  // depends on the decoded weights), which cosim lists after the first divergence.
  for (const auto& d : verdict["divergences"]) CHECK(d.get<std::string>().rfind("golden vs systemc", 0) != 0);
}
