// Reading back the sweep CSV (docs/sweep.md): `sweep`'s own --out file when it resumes, and the
// shards its Slurm tasks write. Any bytes may come in (a crash mid-row, a shard of a killed task,
// a fuzz target): a row that is not complete is dropped and counted, never an error; only a
// header other than the expected one is (it means another sweep's file).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fq::sim {

struct SweepCsvRow {
  std::vector<std::string> cells;  // unquoted
  std::string line;                // as in the file, without the newline
};

struct SweepCsv {
  std::vector<SweepCsvRow> rows;  // the complete rows, in file order
  size_t dropped = 0;             // rows cut short, garbled or without a final newline
};

// The cells of one CSV line; a quoted cell may hold commas and doubled quotes. nullopt when a
// quote is left open or a quoted cell is followed by anything but a comma.
std::optional<std::vector<std::string>> split_csv_line(std::string_view line);

// `text` is the whole file. Its first line must equal `header`, else fq::Error naming `origin`;
// a file without a newline that is a prefix of `header` (a writer killed inside the header line)
// holds no rows.
// A row is kept when it ends in a newline (no '\r'), has as many cells as the header and its
// status cell (the one after the `keys` swept values) is `ok` or `invalid`.
SweepCsv parse_sweep_csv(std::string_view text, std::string_view header, size_t keys, const std::string& origin);

// The swept values of a row or point joined as "v1,v2,...,": the key rows are matched by.
std::string sweep_point_key(const std::vector<std::string>& cells, size_t keys);

}  // namespace fq::sim
