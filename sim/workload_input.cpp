#include "sim/workload_input.h"

#include "model/arch/pe_model.h"
#include "model/arch/workload.h"
#include "model/ckpt/random_layer.h"
#include "model/core/data_dir.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/qfile/qfile.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace fq::sim {
namespace {

HwFormat pe_format(const ArchConfig& arch) { return pe_model(arch).weight_format(arch); }

int parse_dim(const std::string& text, const std::string& what, const std::string& where) {
  Params p(where);
  p.set(what, text);
  return static_cast<int>(p.get_int(what, 1, 1, 1 << 24));
}

// The operands of a synthetic GEMM are generated in memory, so a short topology row or --gemm
// must not ask for 2^48 weights: each of M*K, N*K and M*N is bounded.
void check_gemm_size(const std::string& where, int64_t m, int64_t n, int64_t k) {
  constexpr int64_t kMax = int64_t{1} << 31;
  if (m * k > kMax || n * k > kMax || m * n > kMax) {
    fail("{}: GEMM M = {}, N = {}, K = {} is too large (M*K, N*K and M*N at most 2^31)", where, m, n, k);
  }
}

void add_random_gemm(Workload& w, const ArchConfig& arch, const std::string& name, int m, int n, int k,
                     uint64_t seed) {
  const uint64_t s = seed * 1000003 + w.weights.size();
  w.weights.push_back(random_qtensor(name, pe_format(arch), n, k, s));
  w.acts.push_back(random_acts(m, k, s + 7));
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) {
    const auto b = cell.find_first_not_of(" \t\r");
    const auto e = cell.find_last_not_of(" \t\r");
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace

// SCALE-Sim's GEMM topology: "name, M, N, K," per row; its parser drops the last field, so the
// trailing comma is what keeps K (anchors.md 2.3). Here a row without it is an error, not a
// silently lost K.
std::vector<GemmShape> read_topology(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the topology file", path);
  std::vector<GemmShape> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto cells = split_csv(line);
    const std::string where = fmt::format("{} line {}", path, line_no);
    if (cells.size() < 4) fail("{}: expected 'name, M, N, K,' (4 fields and a trailing comma), got '{}'", where, line);
    if (line_no == 1 && cells[1].find_first_not_of("0123456789") != std::string::npos) continue;  // header
    if (line.find_last_not_of(" \t\r") == std::string::npos || line[line.find_last_not_of(" \t\r")] != ',') {
      fail("{}: the row must end with a comma (SCALE-Sim drops the last field, so without it K would be lost)", where);
    }
    std::string name = cells[0];
    for (char& c : name) {
      if (c == ' ' || c == '#' || c == '=') c = '_';
    }
    out.push_back({name, parse_dim(cells[1], "M", where), parse_dim(cells[2], "N", where), parse_dim(cells[3], "K", where)});
    check_gemm_size(where, out.back().m, out.back().n, out.back().k);
  }
  if (out.empty()) fail("{}: no GEMM rows", path);
  return out;
}

Workload make_workload(const WorkloadRequest& request, const ArchConfig& arch) {
  Workload w;
  const auto& layer = request.layer;
  const auto& gemm = request.gemm;
  const auto& topology = request.topology;
  const int tokens = request.tokens;
  const uint64_t seed = request.seed;
  if (int(layer.has_value()) + int(gemm.has_value()) + int(topology.has_value()) > 1) {
    fail("give one of --layer, --gemm and --topology");
  }
  if (layer) {
    w.weights = read_qfile(*layer);
    for (size_t g = 0; g < w.weights.size(); ++g) {
      const int k = w.weights[g].matrix.cols;
      w.acts.push_back(synthetic_quantized_activations(tokens, k, seed + g));
    }
    w.description = fmt::format("{} (M = {})", *layer, tokens);
  } else if (gemm) {
    const auto cells = split_csv(*gemm);
    if (cells.size() != 3) fail("--gemm '{}': expected M,N,K", *gemm);
    const int m = parse_dim(cells[0], "M", "--gemm"), n = parse_dim(cells[1], "N", "--gemm"),
              k = parse_dim(cells[2], "K", "--gemm");
    check_gemm_size("--gemm", m, n, k);
    add_random_gemm(w, arch, "gemm", m, n, k, seed);
    w.description = fmt::format("GEMM M = {}, N = {}, K = {}", cells[0], cells[1], cells[2]);
  } else if (topology) {
    for (const auto& g : read_topology(*topology)) {
      add_random_gemm(w, arch, g.name, static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), seed);
    }
    w.description = "topology " + *topology;
  } else {
    const std::string path = (data_dir() / "traces/stories-260k.yaml").string();
    for (const auto& s : load_workload(path, tokens)) {
      if (s.name.rfind("layers.0.", 0) != 0) continue;
      add_random_gemm(w, arch, s.name, static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), seed);
    }
    w.description = fmt::format("stories260K-shaped layer 0, random weights (M = {})", tokens);
  }
  return w;
}


}  // namespace fq::sim
