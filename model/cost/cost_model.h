// Energy and area from cited per-action and per-component tables (configs/costs.yaml,
// docs/energy.md) and from yosys synthesis of rtl/ (configs/synth_area.yaml, written by
// scripts/synth_area.sh): the simulators count actions (timing::ActionCounts), this turns counts
// into picojoules and an architecture into square micrometres, and says where every number came
// from. Contract: load_cost_tables() rejects unknown or missing keys, naming the file, key and
// line; every CostItem has a `source` (synthesis, table, scaled or derived) and a `detail` naming
// the entries and the scaling applied; a synthesis figure whose RTL has changed since it was
// cached is still used but marked `stale`.
#pragma once

#include "model/arch/arch_config.h"
#include "model/arch/pe_model.h"
#include "model/timing/timing.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
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

// One synthesized design of configs/synth_area.yaml.
struct SynthDesign {
  std::string name;
  // pe, decoder, array; array_ctrl (fq_array_ctrl without its PE array and decoders); the units
  // around the array: controller, dma_in, dma_out, epilogue (cols = its lanes).
  std::string role;
  std::string kind = "temporal";  // a registered PE kind (model/arch/pe_model.h); `any` for the units
  std::vector<std::string> black_boxes;  // modules synthesized as black boxes (priced by other entries)
  std::string unmapped_memories;         // memories left as memories, not in the area (a name pattern)
  int weight_bits = 0;  // the PE model's synth_weight_bits(): INTb weights b, FineQ-R 0
  int rows = 1, cols = 1;
  int weight_sets = 2;  // params.WSETS: weight register sets per PE (pe.weight_sets)
  int acc_bits = 32;    // params.ACC_W: partial-sum bits (pe.acc_bits)
  double ge = 0;  // NAND2 gate equivalents
  std::vector<std::string> files;
  std::string rtl_sha256;  // of `files` concatenated, as cached
  bool stale = false;      // rtl/ no longer hashes to rtl_sha256 (or cannot be read)
  std::string stale_reason;
};

struct SynthTable {
  std::string origin;
  std::string yosys;
  std::string liberty;
  std::string rtl_dir;  // resolved against the table's directory
  std::vector<SynthDesign> designs;
};

SynthTable parse_synth_table(const std::string& yaml_text, const std::string& origin);
// Parses the table and re-hashes every design's files under its rtl_dir to set `stale`.
SynthTable load_synth_table(const std::string& path);

enum class PeAreaSource { kSynthesis, kTable };

struct CostTables {
  std::string origin;
  // area.pe_source: synthesis takes the PE array and decoder areas from `synth` when it has the
  // arch's PE kind (and falls back to the tables otherwise); table always uses the tables.
  PeAreaSource pe_source = PeAreaSource::kSynthesis;
  std::string synth_path;  // area.synthesis, as written (relative to costs.yaml)
  double nand2_um2 = 0;    // area.nand2: one gate equivalent at nand2_node_nm
  int nand2_node_nm = 0;
  std::string nand2_source;
  std::optional<SynthTable> synth;  // loaded by load_cost_tables(), not by parse_cost_tables()
  std::map<std::string, LogicCost> logic;  // add_int32, add_int8, mult_int8, mult_fp32, register_bit
  double dram_pj_per_bit = 0;
  std::string dram_source;
  std::vector<SramPoint> sram;
  std::vector<NodeScale> scaling;
  // leakage.logic / leakage.sram: static power density (nW per um2) and its citation.
  double logic_leak_nw_per_um2 = 0, sram_leak_nw_per_um2 = 0;
  std::string logic_leak_source, sram_leak_source;
};

CostTables load_cost_tables(const std::string& path);
CostTables parse_cost_tables(const std::string& yaml_text, const std::string& origin);
// configs/costs.yaml of the source tree this binary was built from.
std::string default_cost_tables_path();

struct CostItem {
  std::string name;
  double value = 0;
  std::string source;  // "synthesis" (from configs/synth_area.yaml), "table" (a table value as is),
                       // "scaled" (to another node or Vdd), "derived" (composed from several
                       // entries or interpolated)
  std::string detail;  // the entries, factors and counts behind the value
  bool stale = false;  // synthesis of RTL that has changed since (scripts/synth_area.sh --update)
};

struct Breakdown {
  double total = 0;
  std::vector<CostItem> items;
};

class CostModel {
 public:
  CostModel(CostTables tables, const ArchConfig& arch);
  // Dynamic energy of the actions plus leakage of area_um2() over `cycles` at the arch's clock.
  Breakdown energy_pj(const timing::ActionCounts& actions, uint64_t cycles) const;
  Breakdown area_um2() const { return m_area; }

  // A logic primitive of the tables (add_int32, ...) at the arch's node and Vdd.
  Price logic_energy(const std::string& name) const;
  Price logic_area(const std::string& name) const;

 private:
  using Scaled = Price;
  double scale_factor(int from_node, bool energy) const;
  // Read energy per byte (writes assumed equal) and area of an SRAM of `bytes` at the arch's node.
  Scaled sram_pj_per_byte(int64_t bytes) const;
  Scaled sram_area_um2(int64_t bytes) const;
  SramPoint sram_at(double kib) const;
  // The synthesized array of the arch's PE kind whose R*C is nearest the arch's (in log), or none.
  const SynthDesign* synth_array() const;
  const SynthDesign* synth_decoder() const;
  // The synthesized designs of one role (none without the synthesis cache), and one GE in um2 at
  // the arch's node with the detail that says how.
  std::vector<const SynthDesign*> synth_designs(const std::string& role) const;
  std::pair<double, std::string> ge_basis() const;
  Breakdown compute_area() const;
  // GE of a unit from the synthesized designs `cands` (one role) at size x (x_of a design):
  // `synthesis` when one has x (and `mismatch` is empty), else linear in x between the sizes
  // around x (beyond them, through the two nearest; in proportion to a lone one), `derived`.
  // Adds the item to `b` with the detail; `what` names the unit, `mismatch` why none fits exactly.
  void add_unit_area(Breakdown& b, const std::string& name, const std::vector<const SynthDesign*>& cands, double x,
                     double (*x_of)(const SynthDesign&), const std::string& x_name, const std::string& what,
                     const std::string& mismatch) const;

  CostTables m_t;
  ArchConfig m_arch;
  Breakdown m_area;
};

}  // namespace fq::cost
