// Energy and area from cited per-action and per-component tables (configs/costs.yaml,
// docs/energy.md): the simulators count actions (timing::ActionCounts), this turns counts into
// picojoules and an architecture into square micrometres, and says where every number came from.
// Contract: load_cost_tables() rejects unknown or missing keys, naming the file, key and line;
// every CostItem's `source` names the table entries and the scaling applied.
#pragma once

#include "model/arch/arch_config.h"
#include "model/timing/timing.h"

#include <map>
#include <string>
#include <vector>

namespace fq::cost {

struct LogicCost {
  double energy_pj = 0;  // per operation (register_bit: per bit written)
  double area_um2 = 0;
  int node_nm = 0;
  double vdd_v = 0;
  std::string source;
};

struct SramPoint {
  int node_nm = 0;
  double kib = 0;
  double read_pj = 0;   // per 64-bit access
  double area_mm2 = 0;
  double vdd_v = 0;
  std::string source;
};

struct NodeScale {
  int node_nm = 0;
  double area = 0;    // relative to 45 nm
  double energy = 0;  // relative to 45 nm, same Vdd
};

struct CostTables {
  std::string origin;
  std::map<std::string, LogicCost> logic;  // add_int32, add_int8, mult_int8, mult_fp32, register_bit
  double dram_pj_per_bit = 0;
  std::string dram_source;
  std::vector<SramPoint> sram;
  std::vector<NodeScale> scaling;
};

CostTables load_cost_tables(const std::string& path);
CostTables parse_cost_tables(const std::string& yaml_text, const std::string& origin);
// configs/costs.yaml of the source tree this binary was built from.
std::string default_cost_tables_path();

struct CostItem {
  std::string name;
  double value = 0;
  std::string kind;    // "table" (a table value as is), "scaled" (to another node or Vdd), "derived"
                       // (composed from several entries or interpolated)
  std::string detail;  // the entries, factors and counts behind the value
};

struct Breakdown {
  double total = 0;
  std::vector<CostItem> items;
};

class CostModel {
 public:
  CostModel(CostTables tables, const ArchConfig& arch);
  Breakdown energy_pj(const timing::ActionCounts& actions) const;
  Breakdown area_um2() const;

 private:
  struct Scaled {
    double value = 0;
    std::string source;
    bool scaled = false;  // a factor other than 1 was applied
  };
  Scaled logic_energy(const std::string& name) const;
  Scaled logic_area(const std::string& name) const;
  double scale_factor(int from_node, bool energy) const;
  // Read energy per byte (writes assumed equal) and area of an SRAM of `bytes` at the arch's node.
  Scaled sram_pj_per_byte(int64_t bytes) const;
  Scaled sram_area_um2(int64_t bytes) const;
  SramPoint sram_at(double kib) const;

  CostTables m_t;
  ArchConfig m_arch;
};

}  // namespace fq::cost
