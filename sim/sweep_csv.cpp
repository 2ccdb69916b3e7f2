#include "sim/sweep_csv.h"

#include "model/core/error.h"

namespace fq::sim {

std::optional<std::vector<std::string>> split_csv_line(std::string_view line) {
  std::vector<std::string> cells(1);
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == '"' && cells.back().empty()) {
      // A quoted cell: up to the closing quote, "" standing for one quote.
      ++i;
      for (;;) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cells.back().push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cells.back().push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') return std::nullopt;
      if (i < line.size()) {
        cells.emplace_back();
        ++i;
      }
      continue;
    }
    if (line[i] == ',') {
      cells.emplace_back();
    } else {
      cells.back().push_back(line[i]);
    }
    ++i;
  }
  return cells;
}

SweepCsv parse_sweep_csv(std::string_view text, std::string_view header, size_t keys, const std::string& origin) {
  const size_t eol = text.find('\n');
  // A file cut inside its header line (the writer died before it finished the first line) holds
  // no row yet.
  if (eol == std::string_view::npos && header.substr(0, text.size()) == text) return SweepCsv{};
  if (text.substr(0, eol) != header) fail("{}: exists with other columns; remove it or choose another --out", origin);
  const auto columns = split_csv_line(header);
  SweepCsv csv;
  if (eol == std::string_view::npos || !columns || columns->size() <= keys) return csv;
  size_t pos = eol + 1;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (line.empty()) continue;
    // A last line without its newline is a row being written when the writer died.
    if (end == std::string_view::npos || line.back() == '\r') {
      ++csv.dropped;
      continue;
    }
    auto cells = split_csv_line(line);
    if (!cells || cells->size() != columns->size() || ((*cells)[keys] != "ok" && (*cells)[keys] != "invalid")) {
      ++csv.dropped;
      continue;
    }
    csv.rows.push_back({std::move(*cells), std::string(line)});
  }
  return csv;
}

std::string sweep_point_key(const std::vector<std::string>& cells, size_t keys) {
  std::string key;
  for (size_t i = 0; i < keys && i < cells.size(); ++i) key += cells[i] + ",";
  return key;
}

}  // namespace fq::sim
