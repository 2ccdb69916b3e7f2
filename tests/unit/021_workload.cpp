#include "model/arch/workload.h"
#include "model/core/error.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <fstream>

namespace {
std::string trace(const char* name) { return (fq::test::source_dir() / "traces" / name).string(); }
int64_t weights(const std::vector<fq::GemmShape>& g) {
  int64_t total = 0;
  for (const auto& s : g) total += s.n * s.k;
  return total;
}
}  // namespace

SCENARIO("workload files give the GEMM shapes of a decoder layer", "[arch][workload]") {
  const auto l7 = fq::load_workload(trace("llama2-7b.yaml"), 2048);
  REQUIRE(l7.size() == 7);
  CHECK(l7[0].name == "layers.0.wq");
  CHECK(l7[5].name == "layers.0.w2");
  CHECK(l7[5].n == 4096);
  CHECK(l7[5].k == 11008);
  CHECK(l7[0].m == 2048);
  CHECK(weights(l7) == 202375168);  // 4 * 4096^2 + 3 * 4096 * 11008
  const auto l13 = fq::load_workload(trace("llama2-13b.yaml"), 1);
  CHECK(weights(l13) == 4 * 5120ll * 5120 + 3 * 5120ll * 13824);
  CHECK(l13[0].m == 1);
  const auto s = fq::load_workload(trace("stories-260k.yaml"), 16);
  REQUIRE(s.size() == 35);
  CHECK(s[34].name == "layers.4.w3");
  CHECK(s[8].name == "layers.1.wk");
  CHECK(s[8].n == 32);
  CHECK(s[8].k == 64);
  CHECK(weights(s) == 5 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 172 * 64));
}

SCENARIO("bad workload files are rejected with the key", "[arch][workload]") {
  const auto dir = fq::test::temp_dir("workload");
  const auto write = [&](const std::string& text) {
    const auto p = (dir / "w.yaml").string();
    std::ofstream(p) << text;
    return p;
  };
  CHECK_THROWS_WITH(fq::load_workload(write("version: 1\nlayers: 1\ngemms: [{name: a, n: 1, k: 1, m: 3}]\n"), 1),
                    Catch::Contains("gemms[0].m"));
  CHECK_THROWS_WITH(fq::load_workload(write("version: 2\nlayers: 1\ngemms: [{name: a, n: 1, k: 1}]\n"), 1),
                    Catch::Contains("version"));
  CHECK_THROWS_WITH(fq::load_workload(write("version: 1\nlayers: 1\ngemms: [{name: a, n: 0, k: 1}]\n"), 1),
                    Catch::Contains("gemms[0].n"));
  CHECK_THROWS_WITH(fq::load_workload(write("version: 1\nlayers: 1\ngemms: [{name: a, n: 1, k: 1}]\n"), 0),
                    Catch::Contains("token count"));
  CHECK_THROWS_WITH(fq::load_workload((dir / "missing.yaml").string(), 1), Catch::Contains("missing.yaml"));
}
