#include "model/cost/cost_model.h"

#include "model/core/data_dir.h"
#include "model/core/error.h"
#include "model/cost/sha256.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>
#include <sstream>

namespace fq::cost {
namespace {

// The cost model's tables as the PE models see them.
class Prices final : public PriceBook {
 public:
  explicit Prices(const CostModel& m) : m_m(m) {}
  Price energy(const std::string& logic) const override { return m_m.logic_energy(logic); }
  Price area(const std::string& logic) const override { return m_m.logic_area(logic); }

 private:
  const CostModel& m_m;
};

const char* const kLogicNames[] = {"add_int32", "add_int8", "mult_int8", "mult_fp32", "register_bit"};

std::string line_of(const YAML::Node& n) { return fmt::format("line {}", n.Mark().line + 1); }

// Checks that `node` is a mapping with exactly the keys `keys`, and perhaps some of `optional`.
void check_keys(const YAML::Node& node, const std::string& origin, const std::string& path,
                const std::vector<std::string>& keys, const std::vector<std::string>& optional = {}) {
  std::vector<std::string> known = keys;
  known.insert(known.end(), optional.begin(), optional.end());
  if (!node.IsMap()) fail("{}: '{}' ({}) must be a mapping with keys {}", origin, path, line_of(node), fmt::join(known, ", "));
  std::set<std::string> seen;
  for (const auto& kv : node) {
    // A complex key ("? [a, b]") has no text: as<std::string>() would throw a YAML exception.
    if (!kv.first.IsScalar()) fail("{}: a key of '{}' ({}) is not a plain name", origin, path, line_of(kv.first));
    const auto key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      fail("{}: unknown key '{}.{}' ({}); known keys: {}", origin, path, key, line_of(kv.first), fmt::join(known, ", "));
    }
    if (!seen.insert(key).second) fail("{}: key '{}.{}' ({}) is given twice", origin, path, key, line_of(kv.first));
  }
  for (const auto& k : keys) {
    if (!seen.count(k)) fail("{}: missing key '{}.{}' ({})", origin, path, k, line_of(node));
  }
}

template <typename T>
T get(const YAML::Node& node, const std::string& key, const std::string& origin, const std::string& path) {
  try {
    return node[key].as<T>();
  } catch (const YAML::Exception&) {
    fail("{}: key '{}.{}' ({}) has the wrong type", origin, path, key, line_of(node[key]));
  }
}

double positive(double v, const std::string& origin, const std::string& path) {
  if (!(v > 0) || !std::isfinite(v)) fail("{}: '{}' must be a positive number, not {}", origin, path, v);
  return v;
}

std::string fmt_factor(double f) { return fmt::format("x{:.3g}", f); }

// The detail's warning for a synthesis figure whose RTL has changed since.
std::string stale_note(const SynthDesign& d) {
  return d.stale ? fmt::format("; STALE: {}", d.stale_reason) : std::string();
}

std::string read_text(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open {}", path, what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

YAML::Node load_yaml(const std::string& text, const std::string& origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail("{}: YAML syntax error at line {}, column {}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
}

// `rel` against the directory of the file `origin`, unless it is absolute.
std::string beside(const std::string& origin, const std::string& rel) {
  const std::filesystem::path p(rel);
  if (p.is_absolute()) return rel;
  return (std::filesystem::path(origin).parent_path() / p).lexically_normal().string();
}

}  // namespace

std::string default_cost_tables_path() { return (data_dir() / "configs/costs.yaml").string(); }

SynthTable parse_synth_table(const std::string& yaml_text, const std::string& origin) {
  const YAML::Node root = load_yaml(yaml_text, origin);
  check_keys(root, origin, "(top)", {"schema", "rtl_dir", "yosys", "liberty", "designs"});
  const auto schema = get<std::string>(root, "schema", origin, "(top)");
  if (schema != "fqsim.synth_area/1") {
    fail("{}: 'schema' ({}) is '{}', expected 'fqsim.synth_area/1'", origin, line_of(root["schema"]), schema);
  }
  SynthTable t;
  t.origin = origin;
  t.rtl_dir = beside(origin, get<std::string>(root, "rtl_dir", origin, "(top)"));
  t.yosys = get<std::string>(root, "yosys", origin, "(top)");
  const YAML::Node lib = root["liberty"];
  check_keys(lib, origin, "liberty", {"file", "package", "sha256", "nand2_cell", "nand2_area"});
  t.liberty = fmt::format("{} ({}), GE = area / {} area {}", get<std::string>(lib, "file", origin, "liberty"),
                          get<std::string>(lib, "package", origin, "liberty"),
                          get<std::string>(lib, "nand2_cell", origin, "liberty"),
                          get<double>(lib, "nand2_area", origin, "liberty"));
  const YAML::Node designs = root["designs"];
  if (!designs.IsSequence() || designs.size() == 0) fail("{}: 'designs' ({}) must be a non-empty list", origin, line_of(designs));
  for (size_t i = 0; i < designs.size(); ++i) {
    const YAML::Node e = designs[i];
    const std::string path = fmt::format("designs[{}]", i);
    check_keys(e, origin, path,
               {"name", "top", "params", "role", "kind", "weight_bits", "rows", "cols", "area_lib", "ge", "cells",
                "flops", "cell_types", "files", "rtl_sha256", "check"},
               {"black_boxes", "unmapped_memories"});
    SynthDesign d;
    d.name = get<std::string>(e, "name", origin, path);
    d.role = get<std::string>(e, "role", origin, path);
    static const std::set<std::string> kinded = {"pe", "decoder", "array", "array_ctrl"};
    static const std::set<std::string> units = {"controller", "dma_in", "dma_out", "epilogue"};
    if (kinded.count(d.role) == 0 && units.count(d.role) == 0) {
      fail("{}: '{}.role' ({}) must be pe, decoder, array, array_ctrl, controller, dma_in, dma_out or epilogue, not '{}'",
           origin, path, line_of(e["role"]), d.role);
    }
    d.kind = get<std::string>(e, "kind", origin, path);
    if (units.count(d.role) != 0) {
      if (d.kind != "any") {
        fail("{}: '{}.kind' ({}) must be 'any' for a {} (it has no PE kind), not '{}'", origin, path, line_of(e["kind"]),
             d.role, d.kind);
      }
    } else if (find_pe_model(d.kind) == nullptr) {
      fail("{}: '{}.kind' ({}) must be a PE kind ({}), not '{}'", origin, path, line_of(e["kind"]), pe_model_names(),
           d.kind);
    }
    if (e["black_boxes"]) d.black_boxes = get<std::vector<std::string>>(e, "black_boxes", origin, path);
    if (e["unmapped_memories"]) d.unmapped_memories = get<std::string>(e, "unmapped_memories", origin, path);
    d.weight_bits = get<int>(e, "weight_bits", origin, path);
    d.rows = get<int>(e, "rows", origin, path);
    d.cols = get<int>(e, "cols", origin, path);
    if (d.rows < 1 || d.cols < 1) fail("{}: '{}' ({}) needs rows and cols >= 1", origin, path, line_of(e));
    d.ge = positive(get<double>(e, "ge", origin, path), origin, path + ".ge");
    d.files = get<std::vector<std::string>>(e, "files", origin, path);
    d.rtl_sha256 = get<std::string>(e, "rtl_sha256", origin, path);
    // The Verilog parameters that are architecture choices; absent means the RTL's default.
    if (const YAML::Node params = e["params"]; params && params.IsMap()) {
      if (params["WSETS"]) d.weight_sets = get<int>(params, "WSETS", origin, path + ".params");
      if (params["ACC_W"]) d.acc_bits = get<int>(params, "ACC_W", origin, path + ".params");
    }
    if (d.weight_sets < 1 || d.acc_bits < 1) fail("{}: '{}.params' ({}) needs WSETS and ACC_W >= 1", origin, path, line_of(e));
    t.designs.push_back(d);
  }
  return t;
}

SynthTable load_synth_table(const std::string& path) {
  SynthTable t = parse_synth_table(read_text(path, "the synthesis cache (scripts/synth_area.sh --update writes it)"), path);
  for (auto& d : t.designs) {
    std::string rtl;
    bool readable = true;
    for (const auto& f : d.files) {
      std::ifstream in(t.rtl_dir + "/" + f, std::ios::binary);
      if (!in) {
        d.stale = true;
        d.stale_reason = fmt::format("cannot read {}/{} to check the RTL hash", t.rtl_dir, f);
        readable = false;
        break;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      rtl += ss.str();
    }
    if (readable && sha256_hex(rtl) != d.rtl_sha256) {
      d.stale = true;
      d.stale_reason = fmt::format("{} changed since synthesis (SHA-256 {} now, {} in {}); rerun scripts/synth_area.sh --update",
                                   fmt::join(d.files, " + "), sha256_hex(rtl).substr(0, 12), d.rtl_sha256.substr(0, 12), path);
    }
  }
  return t;
}

CostTables parse_cost_tables(const std::string& yaml_text, const std::string& origin) {
  const YAML::Node root = load_yaml(yaml_text, origin);
  CostTables t;
  t.origin = origin;
  check_keys(root, origin, "(top)", {"logic", "dram", "sram", "scaling", "area", "leakage"});
  const YAML::Node leakage = root["leakage"];
  check_keys(leakage, origin, "leakage", {"logic", "sram"});
  for (const char* part : {"logic", "sram"}) {
    const std::string path = fmt::format("leakage.{}", part);
    const YAML::Node e = leakage[part];
    check_keys(e, origin, path, {"nw_per_um2", "node_nm", "source"});
    const double density = positive(get<double>(e, "nw_per_um2", origin, path), origin, path + ".nw_per_um2");
    const std::string source = fmt::format("{} ({} nW/um2 @{} nm)", get<std::string>(e, "source", origin, path),
                                           density, get<int>(e, "node_nm", origin, path));
    (std::string(part) == "logic" ? t.logic_leak_nw_per_um2 : t.sram_leak_nw_per_um2) = density;
    (std::string(part) == "logic" ? t.logic_leak_source : t.sram_leak_source) = source;
  }
  const YAML::Node area = root["area"];
  check_keys(area, origin, "area", {"pe_source", "synthesis", "nand2"});
  const auto pe_source = get<std::string>(area, "pe_source", origin, "area");
  if (pe_source != "synthesis" && pe_source != "table") {
    fail("{}: 'area.pe_source' ({}) must be synthesis or table, not '{}'", origin, line_of(area["pe_source"]), pe_source);
  }
  t.pe_source = pe_source == "synthesis" ? PeAreaSource::kSynthesis : PeAreaSource::kTable;
  t.synth_path = get<std::string>(area, "synthesis", origin, "area");
  const YAML::Node nand2 = area["nand2"];
  check_keys(nand2, origin, "area.nand2", {"area_um2", "node_nm", "source"});
  t.nand2_um2 = positive(get<double>(nand2, "area_um2", origin, "area.nand2"), origin, "area.nand2.area_um2");
  t.nand2_node_nm = get<int>(nand2, "node_nm", origin, "area.nand2");
  t.nand2_source = get<std::string>(nand2, "source", origin, "area.nand2");
  const YAML::Node logic = root["logic"];
  check_keys(logic, origin, "logic", {std::begin(kLogicNames), std::end(kLogicNames)});
  for (const char* name : kLogicNames) {
    const std::string path = std::string("logic.") + name;
    const YAML::Node e = logic[name];
    check_keys(e, origin, path, {"energy_pj", "area_um2", "node_nm", "vdd_v", "source"});
    LogicCost c;
    c.energy_pj = positive(get<double>(e, "energy_pj", origin, path), origin, path + ".energy_pj");
    c.area_um2 = positive(get<double>(e, "area_um2", origin, path), origin, path + ".area_um2");
    c.node_nm = get<int>(e, "node_nm", origin, path);
    c.vdd_v = positive(get<double>(e, "vdd_v", origin, path), origin, path + ".vdd_v");
    c.source = get<std::string>(e, "source", origin, path);
    t.logic[name] = c;
  }
  const YAML::Node dram = root["dram"];
  check_keys(dram, origin, "dram", {"energy_pj_per_bit"});
  const YAML::Node d = dram["energy_pj_per_bit"];
  check_keys(d, origin, "dram.energy_pj_per_bit", {"value", "node_nm", "vdd_v", "source"});
  t.dram_pj_per_bit = positive(get<double>(d, "value", origin, "dram.energy_pj_per_bit"), origin, "dram.energy_pj_per_bit");
  t.dram_source = get<std::string>(d, "source", origin, "dram.energy_pj_per_bit");
  const YAML::Node sram = root["sram"];
  if (!sram.IsSequence() || sram.size() == 0) fail("{}: 'sram' ({}) must be a non-empty list", origin, line_of(sram));
  for (size_t i = 0; i < sram.size(); ++i) {
    const std::string path = fmt::format("sram[{}]", i);
    const YAML::Node e = sram[i];
    check_keys(e, origin, path, {"node_nm", "kib", "read_pj", "area_mm2", "vdd_v", "source"});
    SramPoint s;
    s.node_nm = get<int>(e, "node_nm", origin, path);
    s.kib = positive(get<double>(e, "kib", origin, path), origin, path + ".kib");
    s.read_pj = positive(get<double>(e, "read_pj", origin, path), origin, path + ".read_pj");
    s.area_mm2 = positive(get<double>(e, "area_mm2", origin, path), origin, path + ".area_mm2");
    s.vdd_v = positive(get<double>(e, "vdd_v", origin, path), origin, path + ".vdd_v");
    s.source = get<std::string>(e, "source", origin, path);
    t.sram.push_back(s);
  }
  const YAML::Node scaling = root["scaling"];
  if (!scaling.IsSequence()) fail("{}: 'scaling' ({}) must be a list", origin, line_of(scaling));
  for (size_t i = 0; i < scaling.size(); ++i) {
    const std::string path = fmt::format("scaling[{}]", i);
    check_keys(scaling[i], origin, path, {"node_nm", "area", "energy"});
    t.scaling.push_back({get<int>(scaling[i], "node_nm", origin, path),
                         positive(get<double>(scaling[i], "area", origin, path), origin, path + ".area"),
                         positive(get<double>(scaling[i], "energy", origin, path), origin, path + ".energy")});
  }
  return t;
}

CostTables load_cost_tables(const std::string& path) {
  CostTables t = parse_cost_tables(read_text(path, "the cost tables"), path);
  if (t.pe_source == PeAreaSource::kSynthesis) t.synth = load_synth_table(beside(path, t.synth_path));
  return t;
}

CostModel::CostModel(CostTables tables, const ArchConfig& arch) : m_t(std::move(tables)), m_arch(arch) {
  scale_factor(m_arch.tech_node_nm, true);  // fails early for a node the table lacks
  scale_factor(m_t.nand2_node_nm, false);
  std::vector<int> nodes;
  for (const auto& s : m_t.sram) nodes.push_back(s.node_nm);
  if (nodes.empty()) fail("{}: no SRAM rows", m_t.origin);
  m_area = compute_area();  // fixed by the tables and the arch: energy_pj's leakage reuses it
}

double CostModel::scale_factor(int from_node, bool energy) const {
  auto find = [&](int node) -> const NodeScale& {
    for (const auto& s : m_t.scaling) {
      if (s.node_nm == node) return s;
    }
    fail("{}: 'scaling' has no row for {} nm", m_t.origin, node);
  };
  const NodeScale& to = find(m_arch.tech_node_nm);
  const NodeScale& from = find(from_node);
  return energy ? to.energy / from.energy : to.area / from.area;
}

CostModel::Scaled CostModel::logic_energy(const std::string& name) const {
  const LogicCost& c = m_t.logic.at(name);
  const double node = scale_factor(c.node_nm, true);
  const double v = (m_arch.vdd_v / c.vdd_v) * (m_arch.vdd_v / c.vdd_v);
  return {c.energy_pj * node * v,
          fmt::format("{} {} pJ @{} nm {} V, {} to {} nm, {} for {} V", c.source, c.energy_pj, c.node_nm, c.vdd_v,
                      fmt_factor(node), m_arch.tech_node_nm, fmt_factor(v), m_arch.vdd_v),
          node != 1.0 || v != 1.0};
}

CostModel::Scaled CostModel::logic_area(const std::string& name) const {
  const LogicCost& c = m_t.logic.at(name);
  const double node = scale_factor(c.node_nm, false);
  return {c.area_um2 * node,
          fmt::format("{} {} um2 @{} nm, {} to {} nm", c.source, c.area_um2, c.node_nm, fmt_factor(node),
                      m_arch.tech_node_nm),
          node != 1.0};
}

// Log-log interpolation in size at each of the two table nodes around the arch's node, then
// linear in node between them; outside the table's nodes, the nearest node scaled by the
// Stillmaker-Baas factors.
SramPoint CostModel::sram_at(double kib) const {
  std::set<int> nodes;
  for (const auto& s : m_t.sram) nodes.insert(s.node_nm);
  auto at_node = [&](int node) {
    std::vector<SramPoint> rows;
    for (const auto& s : m_t.sram) {
      if (s.node_nm == node) rows.push_back(s);
    }
    std::sort(rows.begin(), rows.end(), [](const SramPoint& a, const SramPoint& b) { return a.kib < b.kib; });
    SramPoint p = rows.front();
    p.kib = kib;
    if (rows.size() == 1) return p;
    size_t hi = 1;
    while (hi + 1 < rows.size() && rows[hi].kib < kib) ++hi;
    const SramPoint& a = rows[hi - 1];
    const SramPoint& b = rows[hi];
    const double f = std::log(kib / a.kib) / std::log(b.kib / a.kib);
    p.read_pj = std::exp(std::log(a.read_pj) + f * std::log(b.read_pj / a.read_pj));
    p.area_mm2 = std::exp(std::log(a.area_mm2) + f * std::log(b.area_mm2 / a.area_mm2));
    p.vdd_v = a.vdd_v;
    p.source = fmt::format("{} ({} and {} KiB, log-log interpolated to {:.4g} KiB)", a.source, a.kib, b.kib, kib);
    return p;
  };
  const int node = m_arch.tech_node_nm;
  if (nodes.count(node)) return at_node(node);
  auto above = nodes.upper_bound(node);  // smallest table node larger than the arch's
  if (above != nodes.end() && above != nodes.begin()) {
    const int big = *above, small = *std::prev(above);
    SramPoint a = at_node(big), b = at_node(small);
    const double f = static_cast<double>(big - node) / static_cast<double>(big - small);
    a.read_pj += f * (b.read_pj - a.read_pj);
    a.area_mm2 += f * (b.area_mm2 - a.area_mm2);
    a.source = fmt::format("CACTI 7 LSTP, linear in node between {} and {} nm: {}", big, small, b.source);
    return a;
  }
  const int nearest = above == nodes.end() ? *nodes.rbegin() : *nodes.begin();
  SramPoint p = at_node(nearest);
  const double fe = scale_factor(nearest, true), fa = scale_factor(nearest, false);
  p.read_pj *= fe;
  p.area_mm2 *= fa;
  p.source = fmt::format("{}, Stillmaker-Baas {} energy, {} area to {} nm", p.source, fmt_factor(fe), fmt_factor(fa), node);
  return p;
}

CostModel::Scaled CostModel::sram_pj_per_byte(int64_t bytes) const {
  const SramPoint p = sram_at(static_cast<double>(bytes) / 1024.0);
  const double v = (m_arch.vdd_v / p.vdd_v) * (m_arch.vdd_v / p.vdd_v);
  return {p.read_pj / 8.0 * v,
          fmt::format("{}: {:.4g} pJ per 64-bit read / 8, writes taken equal to reads, {} for {} V", p.source,
                      p.read_pj, fmt_factor(v), m_arch.vdd_v),
          true};
}

CostModel::Scaled CostModel::sram_area_um2(int64_t bytes) const {
  const SramPoint p = sram_at(static_cast<double>(bytes) / 1024.0);
  return {p.area_mm2 * 1e6, fmt::format("{}: {:.4g} mm2", p.source, p.area_mm2), true};
}

Breakdown CostModel::energy_pj(const timing::ActionCounts& a, uint64_t cycles) const {
  Breakdown b;
  // Energy = count x per-action energy; the kind is the per-action value's (table or scaled).
  auto add = [&](const std::string& name, double count, const Scaled& per, const std::string& what) {
    const double v = count * per.value;
    b.items.push_back({name, v, per.scaled ? "scaled" : "table",
                       fmt::format("{:.0f} {} x {:.4g} pJ; {}", count, what, per.value, per.source)});
    b.total += v;
  };
  const PeModel& pe = pe_model(m_arch);
  const Scaled reg = logic_energy("register_bit");
  pe.energy_terms(m_arch, {a.pe_pulses, a.pe_idle_cycles, a.pe_macs, a.pe_idle_beats, a.pe_psum_writes}, Prices(*this),
                  add);
  // The PE registers' writes, as the RTL's enables make them (rtl/fq_pe_*.v psum_we, opnd_we,
  // valid_we, w_we; tests/rtl counts them). A register that holds is not charged: no clock gating
  // is modelled either way, the enables are muxes in front of ungated flip-flops.
  add("pe_psum_writes", static_cast<double>(a.pe_psum_writes), {m_arch.acc_bits * reg.value, reg.source, reg.scaled},
      fmt::format("{}-bit partial-sum register writes (the beat's load of the upper neighbour's sum, and each "
                  "later pulse)",
                  m_arch.acc_bits));
  const int tag = weight_set_tag_bits(m_arch);
  add("pe_operand_regs", static_cast<double>(a.pe_beats), {(9 + tag) * reg.value, reg.source, reg.scaled},
      fmt::format("PE-beats with data (8-bit activation, {}-bit weight-set tag and valid bit written at the beat start)",
                  tag));
  add("pe_valid_clears", static_cast<double>(a.pe_valid_clears), {reg.value, reg.source, reg.scaled},
      "valid bits cleared after a row stream has passed (1 bit each)");
  // The array's input skew (row i: i stages of an activation) and output deskew (column j:
  // C - 1 - j stages of a partial sum): a stage is written when a row's data reaches it, so each
  // row streamed writes every stage once (rtl/fq_array.v `skew_we`, `deskew_we`); the valid and tag
  // histories that qualify them shift once per beat of the running grid (`advance`).
  const double R = m_arch.rows, C = m_arch.cols;
  const double skew_bits = 8.0 * R * (R - 1) / 2.0;
  const double deskew_bits = static_cast<double>(m_arch.acc_bits) * C * (C - 1) / 2.0;
  add("array_chains", static_cast<double>(a.array_rows), {(skew_bits + deskew_bits) * reg.value, reg.source, reg.scaled},
      fmt::format("rows streamed ({:.0f} input-skew and {:.0f} output-deskew register bits written each)", skew_bits,
                  deskew_bits));
  const double history_bits = (1.0 + tag) * (R - 1) + std::max(0.0, C - 2);
  add("array_history", static_cast<double>(a.array_beats), {history_bits * reg.value, reg.source, reg.scaled},
      fmt::format("beats of the running grid ({:.0f} valid and tag history bits shift each)", history_bits));
  const double wbits = pe.weight_register_bits(m_arch);
  add("weight_load", static_cast<double>(a.weight_writes + a.weight_clears), {wbits * reg.value, reg.source, reg.scaled},
      fmt::format("PE weight registers written ({} bits each): {} weights preloaded, {} cleared at preload issue",
                  wbits, a.weight_writes, a.weight_clears));
  // The units' control and pipeline registers (rtl/fq_array_ctrl.v, fq_controller.v, fq_dma_*.v,
  // fq_epilogue.v; their write enables are brought out of fq_top): each write of a group stores
  // its bits (timing::ctrl_reg_bits). Weight stationary, default timing only: the RTL runs no other.
  if (m_arch.dataflow == Dataflow::kWeightStationary && m_arch.timing == TimingModel::kDefault) {
    const auto bits = timing::ctrl_reg_bits(m_arch);
    double array_bits = 0, epilogue_bits = 0, unit_bits = 0;
    for (size_t r = 0; r < timing::kCtrlRegs; ++r) {
      const auto g = static_cast<timing::CtrlReg>(r);
      const double written = static_cast<double>(a.ctrl_writes[r] * bits[r]);
      (timing::ctrl_reg_is_array(g) ? array_bits : timing::ctrl_reg_is_epilogue(g) ? epilogue_bits : unit_bits) += written;
    }
    const auto n = [&a](timing::CtrlReg g) { return a.ctrl_writes[static_cast<size_t>(g)]; };
    add("array_control", array_bits, reg,
        fmt::format("array controller register bits written ({} preloads, {} matmuls, {} rows, {} grid beats)",
                    n(timing::CtrlReg::kPreIssue), n(timing::CtrlReg::kMmIssue), n(timing::CtrlReg::kInject),
                    n(timing::CtrlReg::kBeat)));
    add("epilogue_regs", epilogue_bits, reg,
        fmt::format("epilogue register bits written ({} dequants, {} chunks of {} lanes through its two stages)",
                    n(timing::CtrlReg::kEpiIssue), n(timing::CtrlReg::kEpiChunk), m_arch.cols));
    add("unit_control", unit_bits, reg,
        fmt::format("instruction controller and DMA register bits written ({} ops issued, {} DMA chunks)",
                    n(timing::CtrlReg::kCtlIssue), n(timing::CtrlReg::kDinChunk) + n(timing::CtrlReg::kDoutChunk)));
  }
  if (pe.weight_format(m_arch) == HwFormat::kFineqR) {
    add("decoder", static_cast<double>(a.decoder_bytes), logic_energy("add_int8"),
        "code bytes decoded (an 8-bit add as the decoder's stand-in)");
  }
  const struct {
    const char* name;
    ir::Buffer buf;
    int64_t bytes;
  } bufs[] = {{"wbuf", ir::Buffer::kWbuf, m_arch.weight_bytes},
              {"abuf", ir::Buffer::kAbuf, m_arch.act_bytes},
              {"obuf", ir::Buffer::kObuf, m_arch.out_bytes},
              {"sbuf", ir::Buffer::kSbuf, m_arch.scale_bytes}};
  for (const auto& bf : bufs) {
    const auto i = static_cast<size_t>(bf.buf);
    add(bf.name, static_cast<double>(a.buf_read_bytes[i] + a.buf_write_bytes[i]), sram_pj_per_byte(bf.bytes),
        "bytes read and written");
  }
  const Scaled fp32 = logic_energy("mult_fp32");
  add("epilogue", static_cast<double>(a.dequant_elems), {2 * fp32.value, fp32.source, fp32.scaled},
      "dequantised elements (two FP32 multiplies each)");
  add("dram", static_cast<double>(a.dram_read_bytes + a.dram_write_bytes),
      {8 * m_t.dram_pj_per_bit, fmt::format("{} ({} pJ/bit x 8)", m_t.dram_source, m_t.dram_pj_per_bit), false},
      "DRAM bytes read and written");
  // Leakage: area x density x time (1 nW for 1 s is 1000 pJ).
  const double seconds = static_cast<double>(cycles) / (m_arch.clock_mhz * 1e6);
  double logic_um2 = 0, sram_um2 = 0;
  for (const auto& item : m_area.items) {
    const bool sram = item.name == "wbuf" || item.name == "abuf" || item.name == "obuf" || item.name == "sbuf";
    (sram ? sram_um2 : logic_um2) += item.value;
  }
  for (const auto& [name, um2, density, source] :
       {std::tuple{"leakage_logic", logic_um2, m_t.logic_leak_nw_per_um2, m_t.logic_leak_source},
        std::tuple{"leakage_sram", sram_um2, m_t.sram_leak_nw_per_um2, m_t.sram_leak_source}}) {
    const double v = um2 * density * seconds * 1e3;
    b.items.push_back({name, v, "derived",
                       fmt::format("{:.0f} um2 x {} nW/um2 x {:.4g} s ({} cycles at {} MHz); {}", um2, density, seconds,
                                   cycles, m_arch.clock_mhz, source)});
    b.total += v;
  }
  return b;
}

const SynthDesign* CostModel::synth_array() const {
  if (m_t.pe_source != PeAreaSource::kSynthesis || !m_t.synth) return nullptr;
  const double want = std::log(static_cast<double>(m_arch.rows) * m_arch.cols);
  const SynthDesign* best = nullptr;
  double best_dist = 0;
  for (const auto& d : m_t.synth->designs) {
    // The accumulators of the engines are 32-bit (fineq-spec.md): narrower designs are studies.
    if (d.role != "array" || d.kind != m_arch.pe_kind || d.weight_sets != m_arch.weight_sets ||
        d.acc_bits != m_arch.acc_bits) {
      continue;
    }
    if (d.weight_bits != pe_model(m_arch).synth_weight_bits(m_arch)) continue;
    const double rc = static_cast<double>(d.rows) * d.cols;
    const double dist = std::abs(std::log(rc) - want);
    // Ties go to the larger array: its per-PE share of the skew and deskew registers is closer
    // to that of the (usually larger) configured array.
    if (!best || dist < best_dist - 1e-12 ||
        (std::abs(dist - best_dist) <= 1e-12 && rc > static_cast<double>(best->rows) * best->cols)) {
      best = &d;
      best_dist = dist;
    }
  }
  return best;
}

std::pair<double, std::string> CostModel::ge_basis() const {
  const double ge_scale = scale_factor(m_t.nand2_node_nm, false);
  const double ge_um2 = m_t.nand2_um2 * ge_scale;
  return {ge_um2, fmt::format("{} um2 per GE ({} {} um2 @{} nm, {} to {} nm)", ge_um2, m_t.nand2_source, m_t.nand2_um2,
                              m_t.nand2_node_nm, fmt_factor(ge_scale), m_arch.tech_node_nm)};
}

std::vector<const SynthDesign*> CostModel::synth_designs(const std::string& role) const {
  std::vector<const SynthDesign*> out;
  if (m_t.pe_source != PeAreaSource::kSynthesis || !m_t.synth) return out;
  for (const auto& d : m_t.synth->designs) {
    if (d.role == role) out.push_back(&d);
  }
  return out;
}

const SynthDesign* CostModel::synth_decoder() const {
  const auto d = synth_designs("decoder");
  return d.empty() ? nullptr : d.front();
}

Breakdown CostModel::compute_area() const {
  Breakdown b;
  auto add = [&](const std::string& name, double v, const std::string& source, const std::string& detail,
                 bool stale = false) {
    b.items.push_back({name, v, source, detail, stale});
    b.total += v;
  };
  const PeModel& pe = pe_model(m_arch);
  const bool fineq = pe.weight_format(m_arch) == HwFormat::kFineqR;  // cluster decoders feed the array
  const double pes = static_cast<double>(m_arch.rows) * m_arch.cols;
  // One NAND2 gate equivalent at the arch's node.
  const auto [ge_um2, ge_detail] = ge_basis();
  // Why the tables are used although area.pe_source asks for synthesis.
  std::string fallback;
  if (m_t.pe_source == PeAreaSource::kSynthesis) {
    fallback = !m_t.synth ? "no synthesis cache loaded; from the tables: "
               : fmt::format("{} has no {} array with {} weight sets and a {}-bit accumulator; from the tables: ",
                             m_t.synth->origin,
                             pe.synth_weight_bits(m_arch) == 0
                                 ? m_arch.pe_kind
                                 : fmt::format("{} {}-bit", m_arch.pe_kind, pe.synth_weight_bits(m_arch)),
                             m_arch.weight_sets, m_arch.acc_bits);
  }

  if (const SynthDesign* arr = synth_array()) {
    const double pe_ge = arr->ge / (static_cast<double>(arr->rows) * arr->cols);
    add("pe_array", pes * pe_ge * ge_um2, "synthesis",
        fmt::format("{} PEs x {:.1f} GE per PE ({}: {:.1f} GE / {} PEs, skew and deskew registers included; "
                    "the synthesized size nearest {}x{}) x {}; {}, {}{}",
                    pes, pe_ge, arr->name, arr->ge, arr->rows * arr->cols, m_arch.rows, m_arch.cols, ge_detail,
                    m_t.synth->yosys, m_t.synth->liberty, stale_note(*arr)),
        arr->stale);
  } else {
    const TableArea t = pe.table_area(m_arch, Prices(*this));
    add("pe_array", pes * t.um2_per_pe, "derived",
        fmt::format("{}{} PEs x {:.4g} um2 ({})", fallback, pes, t.um2_per_pe, t.detail));
  }
  if (fineq) {
    if (const SynthDesign* dec = synth_decoder()) {
      add("decoders", m_arch.cols * dec->ge * ge_um2, "synthesis",
          fmt::format("{} cluster decoders x {:.1f} GE ({}) x {}; {}, {}{}", m_arch.cols, dec->ge, dec->name, ge_detail,
                      m_t.synth->yosys, m_t.synth->liberty, stale_note(*dec)),
          dec->stale);
    } else {
      const Scaled add8 = logic_area("add_int8");
      add("decoders", m_arch.cols * add8.value, "derived",
          fmt::format("{}{} cluster decoders x {:.4g} um2 (an 8-bit adder as stand-in: {})",
                      m_t.pe_source == PeAreaSource::kSynthesis ? "no synthesized decoder; " : "", m_arch.cols,
                      add8.value, add8.source));
    }
  }
  // The units around the array, from their synthesis (docs/energy.md "Area of the control units");
  // none without the synthesis cache.
  // The array controller of the arch's PE kind, preferring designs with its weight bits, weight
  // sets and accumulator width; its size is R + C (the row metadata ring, the per-column weight
  // addresses and accumulate adders and the per-row activation masks grow with R and C).
  std::vector<const SynthDesign*> same, kind;
  for (const SynthDesign* d : synth_designs("array_ctrl")) {
    if (d->kind != m_arch.pe_kind) continue;
    kind.push_back(d);
    if (d->weight_bits == pe.synth_weight_bits(m_arch) && d->weight_sets == m_arch.weight_sets &&
        d->acc_bits == m_arch.acc_bits) {
      same.push_back(d);
    }
  }
  if (!kind.empty()) {
    const bool exact_params = !same.empty();
    add_unit_area(
        b, "array_ctrl", exact_params ? same : kind, m_arch.rows + m_arch.cols,
        [](const SynthDesign& d) { return static_cast<double>(d.rows + d.cols); }, "R + C",
        fmt::format("array controller {}x{}", m_arch.rows, m_arch.cols),
        exact_params ? std::string()
                     : fmt::format("no synthesized {} controller with {} weight bits, {} weight sets and {}-bit "
                                   "sums; from the kind's synthesized controllers, whose parameters differ",
                                   m_arch.pe_kind, pe.synth_weight_bits(m_arch), m_arch.weight_sets,
                                   m_arch.acc_bits));
  }
  // No size parameter: one design each.
  for (const char* unit : {"controller", "dma_in", "dma_out"}) {
    const auto c = synth_designs(unit);
    if (!c.empty()) add_unit_area(b, unit, c, 1.0, [](const SynthDesign&) { return 1.0; }, "size", unit, "");
  }
  const struct {
    const char* name;
    int64_t bytes;
  } bufs[] = {{"wbuf", m_arch.weight_bytes}, {"abuf", m_arch.act_bytes}, {"obuf", m_arch.out_bytes},
              {"sbuf", m_arch.scale_bytes}};
  for (const auto& bf : bufs) {
    const Scaled s = sram_area_um2(bf.bytes);
    // A CACTI row of the arch's node and the buffer's size is a table value; anything else is
    // interpolated.
    const bool row = std::any_of(m_t.sram.begin(), m_t.sram.end(), [&](const SramPoint& p) {
      return p.node_nm == m_arch.tech_node_nm && p.kib * 1024 == static_cast<double>(bf.bytes);
    });
    add(bf.name, s.value, row ? "table" : "derived", s.source);
  }
  const std::vector<const SynthDesign*> epi = synth_designs("epilogue");
  if (!epi.empty()) {
    add_unit_area(b, "epilogue", epi, m_arch.cols, [](const SynthDesign& d) { return static_cast<double>(d.cols); },
                  "lanes", fmt::format("epilogue of {} lanes", m_arch.cols), "");
  } else {
    const Scaled fp = logic_area("mult_fp32");
    add("epilogue", 2.0 * m_arch.cols * fp.value, "derived",
        fmt::format("{}{} lanes x 2 FP32 multipliers x {:.4g} um2 ({})",
                    m_t.pe_source == PeAreaSource::kSynthesis ? "no synthesized epilogue; " : "", m_arch.cols, fp.value,
                    fp.source));
  }
  return b;
}

void CostModel::add_unit_area(Breakdown& b, const std::string& name, const std::vector<const SynthDesign*>& cands,
                              double x, double (*x_of)(const SynthDesign&), const std::string& x_name,
                              const std::string& what, const std::string& mismatch) const {
  const auto [ge_um2, ge_detail] = ge_basis();
  // One design per size, by size. `a` is the nearest; `c` the other end of the line: the next
  // size on the far side of x when x lies between two sizes, else the next size inward.
  std::vector<const SynthDesign*> by;
  for (const SynthDesign* d : cands) {
    if (std::none_of(by.begin(), by.end(), [&](const SynthDesign* e) { return x_of(*e) == x_of(*d); })) by.push_back(d);
  }
  std::stable_sort(by.begin(), by.end(), [&](const SynthDesign* p, const SynthDesign* q) { return x_of(*p) < x_of(*q); });
  size_t hi = 0;
  while (hi < by.size() && x_of(*by[hi]) < x) ++hi;
  const SynthDesign* a = nullptr;
  const SynthDesign* c = nullptr;
  if (hi == by.size()) {  // above every size
    a = by[hi - 1];
    c = hi >= 2 ? by[hi - 2] : nullptr;
  } else if (x_of(*by[hi]) == x || hi == 0) {  // a synthesized size, or below every size
    a = by[hi];
    c = x_of(*a) != x && hi + 1 < by.size() ? by[hi + 1] : nullptr;
  } else {  // between by[hi - 1] and by[hi]
    const bool lower = x - x_of(*by[hi - 1]) <= x_of(*by[hi]) - x;
    a = lower ? by[hi - 1] : by[hi];
    c = lower ? by[hi] : by[hi - 1];
  }
  auto excluded = [](const SynthDesign& d) {
    std::string s;
    if (!d.black_boxes.empty()) s += fmt::format(" without {} (priced apart)", fmt::join(d.black_boxes, ", "));
    if (!d.unmapped_memories.empty()) s += fmt::format(" without its memories {} (not priced)", d.unmapped_memories);
    return s;
  };
  const std::string tail = fmt::format("{}; {}, {}", ge_detail, m_t.synth->yosys, m_t.synth->liberty);
  const std::string pre = mismatch.empty() ? std::string() : mismatch + "; ";
  if (x_of(*a) == x && mismatch.empty()) {
    b.items.push_back({name, a->ge * ge_um2, "synthesis",
                       fmt::format("{}: {:.1f} GE ({}{}) x {}{}", what, a->ge, a->name, excluded(*a), tail, stale_note(*a)),
                       a->stale});
  } else {
    double ge = a->ge * x / x_of(*a);
    std::string how = x_of(*a) == x ? fmt::format("{:.1f} GE of {}{}", a->ge, a->name, excluded(*a))
                                    : fmt::format("{:.1f} GE of {}{} x {} {} / {}", a->ge, a->name, excluded(*a),
                                                  x_name, x, x_of(*a));
    if (c) {
      const double lin = a->ge + (c->ge - a->ge) * (x - x_of(*a)) / (x_of(*c) - x_of(*a));
      // Linear through the two nearest sizes; in proportion to the nearest where the line would
      // reach zero (far below both).
      if (lin > 0) {
        ge = lin;
        how = fmt::format("linear in {} through {} ({} {}, {:.1f} GE) and {} ({} {}, {:.1f} GE){}", x_name, a->name,
                          x_name, x_of(*a), a->ge, c->name, x_name, x_of(*c), c->ge, excluded(*a));
      }
    }
    const bool stale = a->stale || (c && c->stale);
    b.items.push_back({name, ge * ge_um2, "derived",
                       fmt::format("{}{}: {:.1f} GE ({} = {}: {}) x {}{}{}", pre, what, ge, x_name, x, how, tail,
                                   stale_note(*a), c ? stale_note(*c) : std::string()),
                       stale});
  }
  b.total += b.items.back().value;
}

}  // namespace fq::cost
