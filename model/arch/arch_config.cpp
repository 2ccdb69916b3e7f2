#include "model/arch/arch_config.h"

#include "model/arch/pe_model.h"
#include "model/core/data_dir.h"
#include "model/core/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace fq {
namespace {

// One scalar of the YAML tree, with where it came from for messages.
struct Scalar {
  std::string text;
  std::string where;  // "line 12" or "--set"
};

// The schema: every key path, its meaning and unit, and how it is read into an ArchConfig.
// `parse` throws a plain message; the caller prefixes origin and key.
struct KeySpec {
  std::string path;
  std::string description;
  bool required;  // when not required, the default below applies and is documented
  std::function<void(ArchConfig&, const std::string&)> parse;
};

[[noreturn]] void bad(const std::string& what) { throw Error(what); }

int64_t parse_int(const std::string& s, int64_t lo, int64_t hi) {
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    bad(fmt::format("must be an integer in [{}, {}], got '{}'", lo, hi, s));
  }
  if (v < lo || v > hi) bad(fmt::format("must be in [{}, {}], got {}", lo, hi, v));
  return v;
}

double parse_double(const std::string& s, double lo, double hi) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (s.empty() || pos != s.size() || !std::isfinite(v)) bad(fmt::format("must be a number in [{}, {}], got '{}'", lo, hi, s));
  if (v < lo || v > hi) bad(fmt::format("must be in [{}, {}], got {}", lo, hi, v));
  return v;
}

template <typename E>
E parse_enum(const std::string& s, std::initializer_list<std::pair<const char*, E>> names) {
  std::string known;
  for (const auto& [name, value] : names) {
    if (s == name) return value;
    if (!known.empty()) known.append(", ");
    known.append(name);
  }
  bad(fmt::format("must be one of {}, got '{}'", known, s));
}

// "one of the registered PE kinds: temporal (...); mac (...); ..."
std::string kind_description() {
  std::string s = "a registered PE kind:";
  for (const PeModel* m : pe_models()) s += fmt::format(" {} ({});", m->name(), m->summary());
  s.pop_back();
  return s;
}

constexpr int64_t kMaxBufferBytes = int64_t{1} << 32;

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> keys = {
      {"name", "preset name (informative, not in the fingerprint)", true,
       [](ArchConfig& a, const std::string& s) {
         if (s.empty() || s.find_first_of(" #=\t") != std::string::npos) bad(fmt::format("must be a token, got '{}'", s));
         a.name = s;
       }},
      {"array.rows", "PE rows: the K extent of a weight-stationary tile, 1..1024", true,
       [](ArchConfig& a, const std::string& s) { a.rows = static_cast<int>(parse_int(s, 1, 1024)); }},
      {"array.cols", "PE columns: the N extent of a weight-stationary tile, 1..1024", true,
       [](ArchConfig& a, const std::string& s) { a.cols = static_cast<int>(parse_int(s, 1, 1024)); }},
      {"pe.kind", kind_description(), true,
       [](ArchConfig& a, const std::string& s) {
         if (find_pe_model(s) == nullptr) bad(fmt::format("must be one of {}, got '{}'", pe_model_names(), s));
         a.pe_kind = s;
       }},
      {"pe.window", "beat window: fixed or tile (W = the tile's widest weight); temporal, and bitserial on FineQ-R", false,
       [](ArchConfig& a, const std::string& s) {
         a.window = parse_enum<BeatWindow>(s, {{"fixed", BeatWindow::kFixed}, {"tile", BeatWindow::kTile}});
       }},
      {"pe.weight_bits", "weight width of mac PEs: 8, 4, 3 or 2; mac only", false,
       [](ArchConfig& a, const std::string& s) {
         const int64_t v = parse_int(s, 2, 8);
         if (v != 8 && v != 4 && v != 3 && v != 2) bad(fmt::format("must be 8, 4, 3 or 2, got {}", v));
         a.weight_bits = static_cast<int>(v);
       }},
      {"pe.weight_sets", "weight register sets per PE, 1..8 (default 2): a preload may overwrite the set the "
                         "tile weight_sets - 1 tiles back used once its data has left; ws dataflow, default timing", false,
       [](ArchConfig& a, const std::string& s) { a.weight_sets = static_cast<int>(parse_int(s, 1, 8)); }},
      {"pe.acc_bits", "partial-sum bits of the PEs (the array's vertical chain), 8..32 (default 32): at least "
                      "min_acc_bits, the bits of the largest column sum of a tile (rows x the largest |activation x "
                      "weight|), so no sum can overflow and every result stays exact; ws dataflow", false,
       [](ArchConfig& a, const std::string& s) { a.acc_bits = static_cast<int>(parse_int(s, 8, 32)); }},
      {"pe.format", "weight format of bitserial PEs: fineq_r, int8, int4, int3 or int2; bitserial only", false,
       [](ArchConfig& a, const std::string& s) {
         a.pe_format = parse_enum<HwFormat>(s, {{"fineq_r", HwFormat::kFineqR}, {"int8", HwFormat::kInt8},
                                                {"int4", HwFormat::kInt4}, {"int3", HwFormat::kInt3},
                                                {"int2", HwFormat::kInt2}});
       }},
      {"dataflow", "ws (weight stationary, every PE kind) or os (output stationary, mac only)", true,
       [](ArchConfig& a, const std::string& s) {
         a.dataflow = parse_enum<Dataflow>(s, {{"ws", Dataflow::kWeightStationary}, {"os", Dataflow::kOutputStationary}});
       }},
      {"timing", "default (fqsim's overlapped timing) or scalesim (SCALE-Sim's serialised folds)", true,
       [](ArchConfig& a, const std::string& s) {
         a.timing = parse_enum<TimingModel>(s, {{"default", TimingModel::kDefault}, {"scalesim", TimingModel::kScaleSim}});
       }},
      {"buffers.weight_bytes", "weight buffer (encoded codes), bytes, 1..2^32", true,
       [](ArchConfig& a, const std::string& s) { a.weight_bytes = parse_int(s, 1, kMaxBufferBytes); }},
      {"buffers.weight_slots", "most weight tiles the weight buffer holds at once, 1..64 (default 2): the ring of slots "
                               "the DMA fills ahead of the array, as many as fit", false,
       [](ArchConfig& a, const std::string& s) { a.weight_slots = static_cast<int>(parse_int(s, 1, 64)); }},
      {"buffers.act_bytes", "INT8 activation buffer, bytes, 1..2^32", true,
       [](ArchConfig& a, const std::string& s) { a.act_bytes = parse_int(s, 1, kMaxBufferBytes); }},
      {"buffers.out_slots", "most output tiles the output buffer holds at once, 1..64 (default 2): the ring of "
                            "accumulator slots the array fills while earlier tiles are dequantised and stored, as many "
                            "as fit", false,
       [](ArchConfig& a, const std::string& s) { a.out_slots = static_cast<int>(parse_int(s, 1, 64)); }},
      {"buffers.out_bytes", "int32 accumulator and FP32 output buffer, bytes, 1..2^32", true,
       [](ArchConfig& a, const std::string& s) { a.out_bytes = parse_int(s, 1, kMaxBufferBytes); }},
      {"buffers.scale_bytes", "FP16 weight and FP32 activation scale buffer, bytes, 1..2^32", true,
       [](ArchConfig& a, const std::string& s) { a.scale_bytes = parse_int(s, 1, kMaxBufferBytes); }},
      {"dram.bytes_per_cycle", "DRAM bandwidth per direction (read, write), bytes per cycle, 1..4096", true,
       [](ArchConfig& a, const std::string& s) { a.dram_bytes_per_cycle = static_cast<int>(parse_int(s, 1, 4096)); }},
      {"dram.latency_cycles", "DRAM access latency, cycles, 0..100000", true,
       [](ArchConfig& a, const std::string& s) { a.dram_latency_cycles = static_cast<int>(parse_int(s, 0, 100000)); }},
      {"clock_mhz", "clock frequency, MHz, 1..10000", true,
       [](ArchConfig& a, const std::string& s) { a.clock_mhz = parse_double(s, 1, 10000); }},
      {"tech.node_nm", "technology node for energy and area: 7, 16, 22, 28, 32 or 45 (nm)", true,
       [](ArchConfig& a, const std::string& s) {
         const int64_t v = parse_int(s, 7, 45);
         if (v != 7 && v != 16 && v != 22 && v != 28 && v != 32 && v != 45) {
           bad(fmt::format("must be 7, 16, 22, 28, 32 or 45, got {}", v));
         }
         a.tech_node_nm = static_cast<int>(v);
       }},
      {"tech.vdd_v", "supply voltage, V, 0.5..1.5", true,
       [](ArchConfig& a, const std::string& s) { a.vdd_v = parse_double(s, 0.5, 1.5); }},
      {"compiler.tile_order",
       "order of a GEMM's weight tiles: loop (the loop nest's, default) or beat (tiles of equal beat W adjacent, "
       "fewer drains); pe.window: tile only",
       false,
       [](ArchConfig& a, const std::string& s) {
         a.tile_order = parse_enum<TileOrder>(s, {{"loop", TileOrder::kLoop}, {"beat", TileOrder::kBeat}});
       }},
  };
  return keys;
}

const KeySpec* find_key(const std::string& path) {
  for (const auto& k : schema()) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

bool is_section(const std::string& path) {
  for (const auto& k : schema()) {
    if (k.path.rfind(path + ".", 0) == 0) return true;
  }
  return false;
}

std::string known_paths() {
  std::string s;
  for (const auto& k : schema()) {
    if (!s.empty()) s.append(", ");
    s.append(k.path);
  }
  return s;
}

void flatten(const YAML::Node& node, const std::string& prefix, const std::string& origin,
             std::map<std::string, Scalar>& out) {
  for (const auto& item : node) {
    // A complex key ("? [a, b]") has no text: as<std::string>() would throw a YAML exception.
    if (!item.first.IsScalar()) fail("{}: the key at line {} is not a plain name", origin, item.first.Mark().line + 1);
    const std::string key = item.first.as<std::string>();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node& value = item.second;
    const std::string where = fmt::format("line {}", item.first.Mark().line + 1);
    if (find_key(path) == nullptr && !is_section(path)) {
      fail("{}: unknown key '{}' ({}); known keys: {}", origin, path, where, known_paths());
    }
    if (value.IsMap()) {
      if (!is_section(path)) fail("{}: key '{}' ({}) must be a scalar, not a mapping", origin, path, where);
      flatten(value, path, origin, out);
    } else if (value.IsScalar()) {
      if (find_key(path) == nullptr) fail("{}: key '{}' ({}) must be a mapping", origin, path, where);
      if (out.count(path)) fail("{}: key '{}' ({}) is given twice", origin, path, where);
      out[path] = {value.Scalar(), where};
    } else {
      fail("{}: key '{}' ({}) must be {}", origin, path, where, is_section(path) ? "a mapping" : "a scalar");
    }
  }
}

}  // namespace

ArchConfig parse_arch(const std::string& yaml_text, const std::string& origin, const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail("{}: YAML syntax error at line {}, column {}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (!root.IsMap()) fail("{}: the architecture must be a YAML mapping of the keys {}", origin, known_paths());
  std::map<std::string, Scalar> values;
  flatten(root, "", origin, values);

  for (const std::string& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) fail("--set '{}': expected KEY=VALUE", o);
    const std::string key = o.substr(0, eq);
    if (find_key(key) == nullptr) fail("--set '{}': unknown key '{}'; known keys: {}", o, key, known_paths());
    values[key] = {o.substr(eq + 1), fmt::format("--set {}", o)};
  }

  ArchConfig arch;
  for (const KeySpec& k : schema()) {
    const auto it = values.find(k.path);
    if (it == values.end()) {
      if (k.required) fail("{}: missing key '{}' ({})", origin, k.path, k.description);
      continue;
    }
    try {
      k.parse(arch, it->second.text);
    } catch (const Error& e) {
      fail("{}: key '{}' ({}): {}", origin, k.path, it->second.where, e.what());
    }
  }
  auto where = [&](const char* path) { return values.count(path) ? values.at(path).where : std::string("default"); };
  const PeModel& pe = pe_model(arch);
  PeKeys keys;
  for (const auto& [path, scalar] : values) {
    if (path.rfind("pe.", 0) == 0 && path != "pe.kind" && path != "pe.weight_sets" && path != "pe.acc_bits") {
      keys.given.emplace_back(path, scalar.where);
    }
  }
  try {
    pe.configure(arch, keys);
  } catch (const Error& e) {
    fail("{}: {}", origin, e.what());
  }
  if (arch.dataflow == Dataflow::kOutputStationary && !pe.output_stationary()) {
    fail("{}: key 'dataflow' ({}): os (output stationary) needs mac PEs; {} PEs are weight stationary", origin,
         where("dataflow"), arch.pe_kind);
  }
  if (values.count("pe.weight_sets") && (arch.dataflow != Dataflow::kWeightStationary || arch.timing != TimingModel::kDefault)) {
    fail("{}: key 'pe.weight_sets' ({}) applies to the weight-stationary dataflow with default timing (os.matmul and "
         "SCALE-Sim's serialised folds use no weight sets)",
         origin, where("pe.weight_sets"));
  }
  if (values.count("pe.acc_bits")) {
    if (arch.dataflow != Dataflow::kWeightStationary) {
      fail("{}: key 'pe.acc_bits' ({}) applies to the weight-stationary dataflow (an output-stationary PE sums a "
           "whole K, whose width depends on the GEMM)",
           origin, where("pe.acc_bits"));
    }
    if (arch.acc_bits < min_acc_bits(arch)) {
      fail("{}: key 'pe.acc_bits' ({}): {} bits can overflow: a column of {} rows sums up to {} ({} bits with the sign)",
           origin, where("pe.acc_bits"), arch.acc_bits, arch.rows, max_column_sum(arch), min_acc_bits(arch));
    }
  }
  // Only a beat that follows the tile's codes can change between tiles; elsewhere every tile has
  // the same W and beat order would be the loop nest's program again. `loop` is what every
  // compiler run does, so it stays valid everywhere (a sweep may cross it with pe.window).
  if (arch.tile_order == TileOrder::kBeat && !(pe.uses_window(arch) && arch.window == BeatWindow::kTile)) {
    fail("{}: key 'compiler.tile_order' ({}): beat applies to PEs whose beat W follows the tile (pe.window: tile); "
         "{} run every tile at the same W, so no order of the tiles changes anything",
         origin, where("compiler.tile_order"), pe.describe(arch));
  }
  if (arch.timing == TimingModel::kScaleSim && !pe.scalesim_timing()) {
    fail("{}: key 'timing' ({}): scalesim models SCALE-Sim's one-cycle MAC PEs; it needs pe.kind: mac", origin,
         where("timing"));
  }
  return arch;
}

ArchConfig load_arch(const std::string& arg, const std::vector<std::string>& overrides) {
  const std::string path = resolve_arch_path(arg);
  std::ifstream in(path, std::ios::binary);
  const bool bare = arg.find('/') == std::string::npos && !std::filesystem::path(arg).has_extension();
  if (!in && !bare) fail("{}: cannot open the architecture file", path);
  if (!in) {
    // A bare name is a preset: say which there are.
    std::vector<std::string> presets;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(data_dir() / "configs", ec)) {
      if (e.path().extension() == ".yaml" && e.path().stem() != "costs" && e.path().stem() != "synth_area") {
        presets.push_back(e.path().stem().string());
      }
    }
    std::sort(presets.begin(), presets.end());
    fail("{}: cannot open the architecture file (nor a preset of {}/configs: {})", path, data_dir().string(),
         fmt::join(presets, ", "));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_arch(text.str(), path, overrides);
}

std::string to_yaml(const ArchConfig& a) {
  std::string s = fmt::format("name: {}\narray:\n  rows: {}\n  cols: {}\npe:\n  kind: {}\n", a.name, a.rows, a.cols,
                              a.pe_kind);
  s += pe_model(a).yaml_keys(a);
  // Written only when not the default, so the fingerprints of existing programs stay valid.
  if (a.weight_sets != 2) s += fmt::format("  weight_sets: {}\n", a.weight_sets);
  if (a.acc_bits != 32) s += fmt::format("  acc_bits: {}\n", a.acc_bits);
  s += fmt::format(
      "dataflow: {}\ntiming: {}\nbuffers:\n  weight_bytes: {}\n{}  act_bytes: {}\n  out_bytes: {}\n{}  scale_bytes: {}\n"
      "dram:\n  bytes_per_cycle: {}\n  latency_cycles: {}\n"
      "clock_mhz: {}\ntech:\n  node_nm: {}\n  vdd_v: {}\n",
      to_string(a.dataflow), to_string(a.timing), a.weight_bytes,
      // Like weight_sets: the default is not written, so existing fingerprints hold.
      a.weight_slots != 2 ? fmt::format("  weight_slots: {}\n", a.weight_slots) : std::string(), a.act_bytes,
      a.out_bytes, a.out_slots != 2 ? fmt::format("  out_slots: {}\n", a.out_slots) : std::string(), a.scale_bytes,
      a.dram_bytes_per_cycle, a.dram_latency_cycles, a.clock_mhz,
      a.tech_node_nm, a.vdd_v);
  // Like weight_slots: the default is not written, so existing fingerprints hold.
  if (a.tile_order != TileOrder::kLoop) s += fmt::format("compiler:\n  tile_order: {}\n", to_string(a.tile_order));
  return s;
}

int64_t max_column_sum(const ArchConfig& arch) {
  const HwFormat f = pe_model(arch).weight_format(arch);
  const int64_t largest_weight = f == HwFormat::kFineqR ? 4 : int64_t{1} << (format_int_bits(f) - 1);
  return int64_t{arch.rows} * 128 * largest_weight;
}

int weight_set_tag_bits(const ArchConfig& arch) {
  int bits = 1;
  while ((1 << bits) < arch.weight_sets) ++bits;
  return bits;
}

int min_acc_bits(const ArchConfig& arch) {
  // A two's-complement field of b bits holds [-2^(b-1), 2^(b-1) - 1]; the sum may be +max. The
  // RTL sign-extends each addend into the sum, which is therefore at least one bit wider.
  int bits = pe_model(arch).addend_bits(arch) + 1;
  while ((int64_t{1} << (bits - 1)) - 1 < max_column_sum(arch)) ++bits;
  return bits;
}

std::string fingerprint(const ArchConfig& arch) {
  ArchConfig unnamed = arch;
  unnamed.name = std::string(1, '-');  // the name is informative only
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : to_yaml(unnamed)) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

std::vector<std::pair<std::string, std::string>> arch_key_paths() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : schema()) out.emplace_back(k.path, k.description);
  return out;
}

const char* to_string(BeatWindow window) { return window == BeatWindow::kTile ? "tile" : "fixed"; }
const char* to_string(Dataflow dataflow) { return dataflow == Dataflow::kOutputStationary ? "os" : "ws"; }
const char* to_string(TimingModel timing) { return timing == TimingModel::kScaleSim ? "scalesim" : "default"; }
const char* to_string(TileOrder order) { return order == TileOrder::kBeat ? "beat" : "loop"; }

}  // namespace fq
