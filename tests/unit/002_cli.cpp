#include "model/core/cli.h"
#include "model/core/error.h"

#include <catch2/catch.hpp>

#include <vector>

namespace {
fq::CommandLine parse(std::vector<const char*> args, std::set<std::string> flags = {}) {
  args.insert(args.begin(), "prog");
  return fq::CommandLine(static_cast<int>(args.size()), args.data(), std::move(flags));
}
}  // namespace

SCENARIO("the command line parser rejects what nobody asked for", "[core][cli]") {
  GIVEN("options with values, an = form, a flag and a positional argument") {
    auto cl = parse({"--out", "x.q", "--bits=4", "--explain", "file.q", "--set", "a=1", "--set", "b=2"}, {"explain"});
    THEN("each is returned as given") {
      CHECK(cl.required("out") == "x.q");
      CHECK(cl.value("bits") == "4");
      CHECK(cl.flag("explain"));
      CHECK(cl.values("set") == std::vector<std::string>{"a=1", "b=2"});
      CHECK(cl.positional() == std::vector<std::string>{"file.q"});
      CHECK_NOTHROW(cl.finish());
    }
  }
  GIVEN("an option nobody reads") {
    auto cl = parse({"--out", "x.q", "--thresold", "4"});
    (void)cl.required("out");
    THEN("finish() names it") { CHECK_THROWS_WITH(cl.finish(), Catch::Contains("--thresold")); }
  }
  GIVEN("options passed on to a component") {
    auto cl = parse({"--method", "fineq", "--policy", "mse"});
    (void)cl.required("method");
    const auto rest = cl.take_rest();
    THEN("they are handed over once and count as used") {
      CHECK(rest.at("policy") == "mse");
      CHECK(rest.size() == 1);
      CHECK_NOTHROW(cl.finish());
    }
  }
  GIVEN("a value-taking option at the end with no value") {
    THEN("the parser says so") { CHECK_THROWS_WITH(parse({"--out"}), Catch::Contains("--out needs a value")); }
  }
  GIVEN("a missing required option") {
    auto cl = parse({});
    THEN("the message names it") { CHECK_THROWS_WITH(cl.required("method"), Catch::Contains("--method")); }
  }
}
