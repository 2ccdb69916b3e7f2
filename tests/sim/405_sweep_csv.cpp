// The sweep CSV reader (sim/sweep_csv.h) that resuming and the Slurm merge rely on: quoted cells,
// and every kind of incomplete row dropped and counted rather than kept or fatal.
#include "model/core/error.h"
#include "sim/sweep_csv.h"

#include <catch2/catch.hpp>

namespace {

const std::string kHeader = "array.rows,status,reason,cycles";

}  // namespace

TEST_CASE("sweep csv: quoted cells hold commas and doubled quotes", "[sweep]") {
  const auto cells = fq::sim::split_csv_line(R"(8,invalid,"a, ""b"", c",)");
  REQUIRE(cells);
  REQUIRE(cells->size() == 4);
  CHECK((*cells)[2] == R"(a, "b", c)");
  CHECK((*cells)[3].empty());
  CHECK(fq::sim::split_csv_line(",,")->size() == 3);
  CHECK_FALSE(fq::sim::split_csv_line(R"(8,"open)"));
  CHECK_FALSE(fq::sim::split_csv_line(R"(8,"x"y,1)"));
}

TEST_CASE("sweep csv: whole rows kept in order, incomplete ones dropped", "[sweep]") {
  const std::string text = kHeader + "\n" +
                           "4,ok,,100\n"
                           "\n"
                           "8,invalid,\"too small, by far\",\n"
                           "16,ok,,1\r\n"        // a CRLF row (not written by sweep)
                           "32,ok,\n"            // cells missing
                           "33,done,,5\n"        // not a status
                           "64,ok,\"x,1\n"       // a quote left open
                           "128,ok,,12";         // no newline: cut while written
  const auto csv = fq::sim::parse_sweep_csv(text, kHeader, 1, "s.csv");
  REQUIRE(csv.rows.size() == 2);
  CHECK(csv.rows[0].line == "4,ok,,100");
  CHECK(csv.rows[0].cells[3] == "100");
  CHECK(csv.rows[1].cells[2] == "too small, by far");
  CHECK(fq::sim::sweep_point_key(csv.rows[1].cells, 1) == "8,");
  CHECK(csv.dropped == 5);
}

TEST_CASE("sweep csv: another header is an error naming the file; a cut header is no rows", "[sweep]") {
  CHECK_THROWS_WITH(fq::sim::parse_sweep_csv("a,b\n1,2\n", kHeader, 1, "s.csv"),
                    Catch::Contains("s.csv: exists with other columns"));
  CHECK(fq::sim::parse_sweep_csv(kHeader, kHeader, 1, "s.csv").rows.empty());
  // A writer killed inside the header line left a prefix of it (or nothing): no rows, no error,
  // so the sweep resumes (tests/cli/sweep_kill.sh); anything else that is not the header is one.
  CHECK(fq::sim::parse_sweep_csv("", kHeader, 1, "s.csv").rows.empty());
  CHECK(fq::sim::parse_sweep_csv("array.ro", kHeader, 1, "s.csv").rows.empty());
  CHECK_THROWS_AS(fq::sim::parse_sweep_csv("array.rowz", kHeader, 1, "s.csv"), fq::Error);
}
