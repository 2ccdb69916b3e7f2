// fuzz_sweep_csv: the input is a sweep CSV as `sweep --out` resumes from it (sim/sweep_csv.h).
// Its first line is taken as the expected header and the keys count is the position of the
// `status` column (as `sweep` builds it: the swept keys, then status); then the file is parsed
// and every kept row checked: header's cell count, a status of ok/invalid, the same cells from
// its own line, and the same cells and point key after re-serialising it; the re-serialised file
// parses to the same rows with none dropped. Another header is refused with fq::Error (a file cut
// inside its first line, a prefix of the header, is no rows instead: sim/sweep_csv.h).
#include "fuzz/targets.h"

#include "model/core/error.h"
#include "sim/sweep_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace fq::fuzz {
namespace {

// The row's cells as one CSV line (any cell with a comma, a quote or a '\r' is quoted).
std::string serialise(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ",";
    const std::string& c = cells[i];
    if (c.find_first_of(",\"\r") == std::string::npos) {
      line += c;
      continue;
    }
    line += '"';
    for (const char ch : c) line += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    line += '"';
  }
  return line;
}

}  // namespace

int sweep_csv(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string header(text.substr(0, text.find('\n')));
  const auto columns = sim::split_csv_line(header);
  size_t keys = 0;
  if (columns) {
    const auto status = std::find(columns->begin(), columns->end(), "status");
    keys = status != columns->end() ? static_cast<size_t>(status - columns->begin())
                                    : (size ? data[0] % (columns->size() + 1) : 0);
  }
  sim::SweepCsv csv;
  try {
    csv = sim::parse_sweep_csv(text, header, keys, "fuzz.csv");
  } catch (const Error& e) {
    broken(fmt::format("the file's own first line was refused as its header: {}", e.what()));
  }
  // Another header is refused, except that a file without a complete first line is a header cut
  // by a killed writer whenever it is a prefix of the expected one: then it holds no rows.
  try {
    const auto other = sim::parse_sweep_csv(text, header + "x", keys, "fuzz.csv");
    if (text.find('\n') != std::string_view::npos) broken("another header was accepted");
    if (!other.rows.empty() || other.dropped != 0) broken("a cut header gave rows");
  } catch (const Error&) {
  }
  if (!columns || columns->size() <= keys) {
    if (!csv.rows.empty() || csv.dropped != 0) broken("rows read without a usable header");
    return 0;
  }
  // Every non-empty line after the header is either kept or counted as dropped.
  size_t lines = 0;
  for (size_t pos = text.find('\n'); pos != std::string_view::npos && pos + 1 < text.size();) {
    const size_t end = text.find('\n', pos + 1);
    if ((end == std::string_view::npos ? text.size() : end) > pos + 1) ++lines;
    pos = end;
  }
  if (csv.rows.size() + csv.dropped != lines) {
    broken(fmt::format("{} rows + {} dropped for {} lines", csv.rows.size(), csv.dropped, lines));
  }
  std::string again = header + "\n";
  for (const auto& row : csv.rows) {
    if (row.cells.size() != columns->size()) broken(fmt::format("a row of {} cells for {} columns", row.cells.size(), columns->size()));
    if (row.cells[keys] != "ok" && row.cells[keys] != "invalid") broken(fmt::format("kept status '{}'", row.cells[keys]));
    if (sim::split_csv_line(row.line) != row.cells) broken(fmt::format("line '{}' splits to other cells", row.line));
    const std::string line = serialise(row.cells);
    const auto cells = sim::split_csv_line(line);
    if (!cells || *cells != row.cells) broken(fmt::format("'{}' re-serialised as '{}' splits to other cells", row.line, line));
    if (sim::sweep_point_key(*cells, keys) != sim::sweep_point_key(row.cells, keys)) broken("the point key changed");
    again += line + "\n";
  }
  const auto reparsed = sim::parse_sweep_csv(again, header, keys, "fuzz-again.csv");
  if (reparsed.dropped != 0 || reparsed.rows.size() != csv.rows.size()) {
    broken(fmt::format("the re-serialised file kept {} rows and dropped {} of {}", reparsed.rows.size(), reparsed.dropped,
                       csv.rows.size()));
  }
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    if (reparsed.rows[i].cells != csv.rows[i].cells) broken(fmt::format("row {} changed in the re-serialised file", i));
  }
  return 0;
}

}  // namespace fq::fuzz
