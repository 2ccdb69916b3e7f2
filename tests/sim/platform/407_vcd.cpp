// run_systemc() with a VCD trace (what `simulate --engine systemc --vcd` writes): the file
// appears whole, and read back cycle by cycle (sampled at each rising clock edge) it shows every
// op's issue in the cycle the timeline records, the DMA beats' bytes, and the array's streaming
// cycles. (Its own executable: the trace must be set up before the kernel first runs.)
#include "sim/systemc/sc_engine.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace {

// The signals of a VCD file sampled after the changes of every timestamp at which `clock` rose.
struct Samples {
  std::vector<uint64_t> time;
  std::map<std::string, std::vector<uint64_t>> value;  // by full dotted name
};

Samples read_vcd(const std::filesystem::path& path, const std::string& clock) {
  std::ifstream in(path);
  REQUIRE(in);
  std::map<std::string, std::string> name_of;  // id -> name
  std::vector<std::string> scope;
  std::string tok;
  while (in >> tok && tok != "$enddefinitions") {
    if (tok == "$scope") {
      std::string kind, n;
      in >> kind >> n;
      scope.push_back(n);
    } else if (tok == "$upscope") {
      scope.pop_back();
    } else if (tok == "$var") {
      std::string kind, width, id, n;
      in >> kind >> width >> id >> n;
      std::string full;
      for (size_t i = 1; i < scope.size(); ++i) full += scope[i] + ".";  // drop the "SystemC" root
      name_of[id] = full + n;
    }
  }
  std::map<std::string, uint64_t> now;
  Samples s;
  uint64_t t = 0;
  bool rose = false;
  auto flush = [&] {
    if (!rose) return;
    s.time.push_back(t);
    for (const auto& [n, v] : now) s.value[n].push_back(v);
    rose = false;
  };
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '$') continue;
    std::string id;
    uint64_t v = 0;
    if (line[0] == '#') {
      flush();
      t = std::stoull(line.substr(1));
      continue;
    }
    if (line[0] == 'b') {
      const auto sp = line.find(' ');
      v = std::stoull(line.substr(1, sp - 1), nullptr, 2);
      id = line.substr(sp + 1);
    } else if (line[0] == '0' || line[0] == '1') {
      v = static_cast<uint64_t>(line[0] - '0');
      id = line.substr(1);
    } else {
      continue;
    }
    const std::string& n = name_of.at(id);
    if (n == clock && v == 1 && now[n] == 0) rose = true;
    now[n] = v;
  }
  flush();
  return s;
}

}  // namespace

TEST_CASE("VCD trace of the SystemC model: issues, DMA beats and beat phase cycle by cycle", "[sim][vcd]") {
  fq::test::SimCase c;
  for (uint64_t seed = 1;; ++seed) {  // a weight-stationary program with DRAM timing
    c = fq::test::random_case(seed);
    if (c.arch.timing == fq::TimingModel::kDefault && c.arch.dataflow == fq::Dataflow::kWeightStationary &&
        c.layer.program.size() > 20) {
      break;
    }
  }
  INFO(c.describe());
  const auto dir = std::filesystem::temp_directory_path() / ("fq_vcd_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "run.vcd";
  fq::ir::MemoryImage mem = c.layer.memory;
  fq::sim::SystemcStats stats;
  fq::sim::SystemcOptions options;
  options.vcd = path;
  const auto tl = fq::sim::run_systemc(c.layer.program, c.arch, mem, &stats, {}, options);
  REQUIRE(std::filesystem::exists(path));
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator{}) == 1);

  const Samples s = read_vcd(path, "fqsim.top.clk");
  // The controller's reset cycle starts at the rising edge after `run` goes up; cycle 0 is next.
  const auto& run = s.value.at("fqsim.top.ctrl.run");
  size_t reset = 0;
  while (reset < run.size() && run[reset] == 0) ++reset;
  REQUIRE(reset < run.size());
  const size_t first = reset + 1;
  const char* units[] = {"dma_in", "array", "epilogue", "dma_out"};
  for (int u = 0; u < fq::ir::kNumUnits; ++u) {
    INFO(units[u]);
    std::vector<uint64_t> traced, expect;
    const auto& take = s.value.at(std::string("fqsim.top.") + units[u] + ".take");
    for (size_t i = first; i < take.size(); ++i) {
      if (take[i] != 0) traced.push_back(i - first);
    }
    for (fq::ir::OpId id = 0; id < c.layer.program.size(); ++id) {
      if (static_cast<int>(fq::ir::unit_of(c.layer.program.op(id).opcode)) == u) expect.push_back(tl.ops[id].issue);
    }
    CHECK(traced == expect);
  }
  uint64_t rd = 0, wr = 0, streaming = 0;
  for (size_t i = first; i < s.time.size(); ++i) {
    rd += s.value.at("fqsim.top.dma_in.beat_bytes")[i];
    wr += s.value.at("fqsim.top.dma_out.beat_bytes")[i];
    streaming += s.value.at("fqsim.top.array.beat_len")[i] != 0;
    CHECK(s.value.at("fqsim.top.array.beat_phase")[i] < std::max<uint64_t>(1, s.value.at("fqsim.top.array.beat_len")[i]));
  }
  CHECK(rd == tl.actions.dram_read_bytes);
  CHECK(wr == tl.actions.dram_write_bytes);
  CHECK(streaming * static_cast<uint64_t>(c.arch.rows * c.arch.cols) == stats.pe_cycles);
  std::filesystem::remove_all(dir);
}
