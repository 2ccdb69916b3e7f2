#include "model/cost/cost_model.h"

#include "model/core/error.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace fq::cost {
namespace {

const char* const kLogicNames[] = {"add_int32", "add_int8", "mult_int8", "mult_fp32", "register_bit"};

std::string line_of(const YAML::Node& n) { return fmt::format("line {}", n.Mark().line + 1); }

// Checks that `node` is a mapping with exactly the keys `keys`.
void check_keys(const YAML::Node& node, const std::string& origin, const std::string& path,
                const std::vector<std::string>& keys) {
  if (!node.IsMap()) fail("{}: '{}' ({}) must be a mapping with keys {}", origin, path, line_of(node), fmt::join(keys, ", "));
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      fail("{}: unknown key '{}.{}' ({}); known keys: {}", origin, path, key, line_of(kv.first), fmt::join(keys, ", "));
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

}  // namespace

std::string default_cost_tables_path() { return std::string(FQ_CONFIG_DIR) + "/costs.yaml"; }

CostTables parse_cost_tables(const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    fail("{}: YAML syntax error at line {}, column {}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  CostTables t;
  t.origin = origin;
  check_keys(root, origin, "(top)", {"logic", "dram", "sram", "scaling"});
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
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the cost tables", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_cost_tables(ss.str(), path);
}

CostModel::CostModel(CostTables tables, const ArchConfig& arch) : m_t(std::move(tables)), m_arch(arch) {
  scale_factor(m_arch.tech_node_nm, true);  // fails early for a node the table lacks
  std::vector<int> nodes;
  for (const auto& s : m_t.sram) nodes.push_back(s.node_nm);
  if (nodes.empty()) fail("{}: no SRAM rows", m_t.origin);
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

Breakdown CostModel::energy_pj(const timing::ActionCounts& a) const {
  Breakdown b;
  // Energy = count x per-action energy; the kind is the per-action value's (table or scaled).
  auto add = [&](const std::string& name, double count, const Scaled& per, const std::string& what) {
    const double v = count * per.value;
    b.items.push_back({name, v, per.scaled ? "scaled" : "table",
                       fmt::format("{:.0f} {} x {:.4g} pJ; {}", count, what, per.value, per.source)});
    b.total += v;
  };
  const bool temporal = m_arch.pe_kind == PeKind::kTemporal;
  const Scaled add32 = logic_energy("add_int32");
  const Scaled reg = logic_energy("register_bit");
  if (temporal) {
    add("pe_pulses", static_cast<double>(a.pe_pulses), add32, "PE pulses (one 32-bit add each)");
    // Every PE-cycle with data compares the beat phase with |q|: taken as 3 register bits clocked.
    add("pe_phase_compare", static_cast<double>(a.pe_pulses + a.pe_idle_cycles), {3 * reg.value, reg.source, reg.scaled},
        "PE-cycles with data (3-bit phase compare, approximated as 3 register bits)");
  } else {
    const Scaled mult = logic_energy("mult_int8");
    const double bits = m_arch.weight_bits;
    add("pe_macs", static_cast<double>(a.pe_macs),
        {mult.value * bits / 8.0 + add32.value,
         mult.source + " scaled linearly to 8 x " + std::to_string(m_arch.weight_bits) + " bits, plus " + add32.source,
         true},
        "PE multiply-accumulates");
  }
  add("pe_registers", static_cast<double>(a.pe_beats), {40 * reg.value, reg.source, reg.scaled},
      "PE-beats with data (8-bit activation and 32-bit partial sum registers passed on)");
  const double wbits = temporal ? 4 : m_arch.weight_bits;
  add("weight_load", static_cast<double>(a.weight_writes), {wbits * reg.value, reg.source, reg.scaled},
      fmt::format("weights written into PE registers ({} bits each)", wbits));
  if (temporal) {
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
  return b;
}

Breakdown CostModel::area_um2() const {
  Breakdown b;
  auto add = [&](const std::string& name, double v, const std::string& kind, const std::string& detail) {
    b.items.push_back({name, v, kind, detail});
    b.total += v;
  };
  const bool temporal = m_arch.pe_kind == PeKind::kTemporal;
  const Scaled add32 = logic_area("add_int32");
  const Scaled reg = logic_area("register_bit");
  const double pes = static_cast<double>(m_arch.rows) * m_arch.cols;
  if (temporal) {
    // Adder, 8-bit activation, 32-bit partial sum, two 4-bit weight registers, 3-bit counter.
    const double pe = add32.value + (8 + 32 + 8 + 3) * reg.value;
    add("pe_array", pes * pe, "derived",
        fmt::format("{} PEs x {:.4g} um2 (32-bit adder: {}; 51 register bits: {})", pes, pe, add32.source,
                    reg.source));
    const Scaled add8 = logic_area("add_int8");
    add("decoders", m_arch.cols * add8.value, "derived",
        fmt::format("{} cluster decoders x {:.4g} um2 (an 8-bit adder as stand-in: {})", m_arch.cols,
                    add8.value, add8.source));
  } else {
    const Scaled mult = logic_area("mult_int8");
    const double bits = m_arch.weight_bits;
    const double pe = mult.value * bits / 8.0 + add32.value + (8 + 32 + 2 * bits) * reg.value;
    add("pe_array", pes * pe, "derived",
        fmt::format("{} PEs x {:.4g} um2 (8x{} multiplier, linear in width: {}; 32-bit adder: {}; {} "
                    "register bits: {})",
                    pes, pe, m_arch.weight_bits, mult.source, add32.source, 40 + 2 * m_arch.weight_bits, reg.source));
  }
  const struct {
    const char* name;
    int64_t bytes;
  } bufs[] = {{"wbuf", m_arch.weight_bytes}, {"abuf", m_arch.act_bytes}, {"obuf", m_arch.out_bytes},
              {"sbuf", m_arch.scale_bytes}};
  for (const auto& bf : bufs) {
    const Scaled s = sram_area_um2(bf.bytes);
    add(bf.name, s.value, "derived", s.source);
  }
  const Scaled fp = logic_area("mult_fp32");
  add("epilogue", 2.0 * m_arch.cols * fp.value, "derived",
      fmt::format("{} lanes x 2 FP32 multipliers x {:.4g} um2 ({})", m_arch.cols, fp.value, fp.source));
  return b;
}

}  // namespace fq::cost
