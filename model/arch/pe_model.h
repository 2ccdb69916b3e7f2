// PE models: one registered implementation per processing-element kind (docs/extending.md).
// Everything that depends on what a PE is lives behind this interface: the `pe.*` keys it takes,
// the weight formats it runs, the beat rule, how a beat's work is counted, its energy and area
// terms, its RTL kind code and what the compiler needs to know. Engines, the compiler, the
// verifier, the cost model and the reports ask the model of `arch.pe_kind`; none of them
// switches on the kind. A new kind is one file here (plus its Verilog and a preset) and one line
// in pe_registry.cpp.
#pragma once

#include "model/arch/arch_config.h"
#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fq {

// What one stationary tile means to its PEs, gathered from the weights the way `preload`
// reads them (timing::tile_stats) or weight by weight as the cycle model writes them (tally).
struct TileStats {
  uint32_t k = 0, n = 0;  // extents of the tile
  uint32_t basis = 0;     // the kind's beat basis: temporal max |q|, bit-serial magnitude bits
  uint64_t pulses = 0;    // PE-cycles that add, summed over the tile, per activation row
  // PEs of the tile that add in a beat's first cycle: that add and the partial-sum load are one
  // register write (pulse kinds; rtl/fq_pe_*.v psum_we).
  uint64_t first_pulses = 0;
};

// The PE counters of timing::ActionCounts one op contributes (docs/architecture.md "Action counts").
struct PeActions {
  uint64_t pulses = 0, idle_cycles = 0;  // kinds that add in some cycles of a beat
  uint64_t macs = 0, idle_beats = 0;     // kinds that multiply once per beat
  uint64_t psum_writes = 0;              // partial-sum register writes (every kind)
};

// How the cycle model holds one weight in a PE register set: in phase p of a beat the PE adds
// `mul * a` shifted left by p (shift_by_phase) or by 0, when bit p of `mask` is set.
struct CycleWeight {
  int32_t mask = 0;
  int32_t mul = 0;
};

// A priced primitive of the cost tables (configs/costs.yaml), at the arch's node and voltage.
struct Price {
  double value = 0;
  std::string source;
  bool scaled = false;  // a factor other than 1 was applied
};
// The cost model's view of its tables, for the PE terms (implemented by cost::CostModel).
class PriceBook {
 public:
  virtual ~PriceBook() = default;
  virtual Price energy(const std::string& logic) const = 0;  // pJ per operation (register_bit: per bit)
  virtual Price area(const std::string& logic) const = 0;    // um2
};
// The partial-sum adder of `bits` bits (pe.acc_bits): Horowitz's 8- and 32-bit adders
// (configs/costs.yaml add_int8, add_int32), linear in width between them as Accelergy's Aladdin
// plug-in scales adders (anchors.md 4.3); 32 bits is add_int32.
Price accumulator_adder(const PriceBook& prices, bool energy, int bits);

// One energy term: `count` actions of `what` at `per` picojoules each.
using EnergyTerm = std::function<void(const std::string& name, double count, const Price& per, const std::string& what)>;

// A PE's area from the tables (when no synthesized array of the kind is cached).
struct TableArea {
  double um2_per_pe = 0;
  std::string detail;  // the entries and bit counts behind it
};

// The `pe.*` keys an architecture gave (besides pe.kind), with where each came from.
struct PeKeys {
  std::vector<std::pair<std::string, std::string>> given;  // key path, "line 7" or "--set ..."
  bool has(std::string_view path) const;
  // Throws "key 'PATH' (WHERE) applies to ... only; WHY" when `path` was given.
  void forbid(std::string_view path, std::string_view why) const;
  // Throws "missing key 'PATH' (WHAT) for KIND PEs" when `path` was not given.
  void require(std::string_view path, std::string_view what, std::string_view kind) const;
};

class PeModel {
 public:
  virtual ~PeModel() = default;

  // ---- identity and configuration ----
  virtual std::string_view name() const = 0;     // the `pe.kind` value
  virtual std::string_view summary() const = 0;  // one line: what it computes, which weights
  // Checks which `pe.*` keys were given for this kind and normalises the fields it does not use;
  // throws fq::Error naming the key that is missing or does not apply (the caller adds the file).
  virtual void configure(ArchConfig& arch, const PeKeys& keys) const = 0;
  // The kind's `pe.*` lines of to_yaml(), after `kind:` (two-space indent, newline-terminated).
  virtual std::string yaml_keys(const ArchConfig& arch) const = 0;
  // Short description for reports: "temporal PEs, tile window".
  virtual std::string describe(const ArchConfig& arch) const = 0;
  virtual bool uses_window(const ArchConfig& arch) const = 0;  // `pe.window` applies
  virtual bool output_stationary() const { return false; }  // dataflow: os
  virtual bool scalesim_timing() const { return false; }    // timing: scalesim

  // ---- weights ----
  virtual HwFormat weight_format(const ArchConfig& arch) const = 0;  // the format its weights use
  bool runs(const ArchConfig& arch, HwFormat f) const { return f == weight_format(arch); }
  virtual int weight_register_bits(const ArchConfig& arch) const = 0;  // bits per weight in a PE register set
  // Bits the synthesis cache records for this kind's designs (configs/synth_area.yaml weight_bits).
  virtual int synth_weight_bits(const ArchConfig& arch) const { return format_int_bits(weight_format(arch)); }
  // RTL parameters (rtl/fq_array.v): KIND and WBITS.
  virtual int rtl_kind() const = 0;
  virtual int rtl_wbits(const ArchConfig& arch) const = 0;
  // Bits of the widest value the PE adds to its partial sum in one cycle (rtl/fq_pe_*.v sign-
  // extends it into ACC_W bits, so pe.acc_bits must be wider): the INT8 activation by default.
  virtual int addend_bits(const ArchConfig&) const { return 8; }

  // ---- beat and work ----
  // Kinds that add in some cycles of a beat count pulses and idle PE-cycles; kinds that multiply
  // once per beat count MACs and idle PE-beats (timing::ActionCounts).
  enum class Work { kPulses, kMacs };
  virtual Work work() const = 0;
  // Whether the beat or the pulses depend on the weight values (the fast engine then reads wbuf).
  virtual bool reads_weights() const = 0;
  // One weight of the tile (`outlier`: its FineQ-R cluster is an outlier cluster).
  virtual void tally(const ArchConfig& arch, TileStats& s, int8_t q, bool outlier) const = 0;
  // The statistics of a tile in wbuf (default: decodes every weight and tallies it).
  virtual TileStats tile_stats(const ArchConfig& arch, HwFormat format, std::span<const uint8_t> wbuf, uint64_t src,
                               uint64_t stride, uint32_t k, uint32_t n) const;
  // The beat length W of the matmuls that use a tile (fineq-spec.md §5 for temporal).
  virtual uint32_t beat(const ArchConfig& arch, const TileStats& s) const = 0;
  // The compiler's beat for ranking mappings before the weights are known.
  virtual uint32_t beat_estimate(const ArchConfig& arch) const = 0;
  // A matmul of m rows through the tile at beat W (R*C PEs per beat).
  virtual PeActions matmul_actions(const ArchConfig& arch, const TileStats& s, uint64_t m, uint32_t beat) const = 0;
  // One beat of the cycle model: `valid` PE-beats with data, `due` pulses (sum of popcount(mask)),
  // `due_first` of them in the beat's first cycle (bit 0 of the mask).
  virtual PeActions beat_actions(uint64_t valid, uint64_t due, uint64_t due_first, uint32_t beat) const = 0;
  virtual CycleWeight cycle_weight(int8_t q) const = 0;
  virtual bool shift_by_phase() const { return false; }

  // ---- cost ----
  // The PE terms of the energy breakdown, each named pe_* (compare files them under "array");
  // registers, weight loads and decoders are shared terms the cost model adds.
  virtual void energy_terms(const ArchConfig& arch, const PeActions& a, const PriceBook& prices,
                            const EnergyTerm& add) const = 0;
  virtual TableArea table_area(const ArchConfig& arch, const PriceBook& prices) const = 0;
};

// The registered kinds, in registration order (pe_registry.cpp).
const std::vector<const PeModel*>& pe_models();
// The kind named `name`, or nullptr.
const PeModel* find_pe_model(std::string_view name);
// The model of arch.pe_kind (throws fq::Error naming the registered kinds when there is none).
const PeModel& pe_model(const ArchConfig& arch);
// "temporal, mac, bitserial"
std::string pe_model_names();

}  // namespace fq
