// Multiply-accumulate PE (rtl/fq_pe_mac.v): INT8 activation x INTb weight (b = 8, 4, 3, 2), one
// beat of one cycle per activation. The baseline of the comparisons; the only kind that also
// runs output-stationary and SCALE-Sim's timing.
#include "model/arch/pe_model.h"

#include <fmt/format.h>

namespace fq {
namespace {

class MacPe final : public PeModel {
 public:
  std::string_view name() const override { return "mac"; }
  std::string_view summary() const override {
    return "multiply-accumulate (INT8 x INTb, b = pe.weight_bits), one product per beat of one cycle";
  }
  void configure(ArchConfig& arch, const PeKeys& keys) const override {
    keys.forbid("pe.window", "applies to temporal and bitserial PEs only");
    keys.forbid("pe.format", "applies to bitserial PEs only; mac PEs take pe.weight_bits");
    keys.require("pe.weight_bits", "8, 4, 3 or 2", "mac");
    arch.window = BeatWindow::kFixed;
  }
  std::string yaml_keys(const ArchConfig& arch) const override {
    return fmt::format("  weight_bits: {}\n", arch.weight_bits);
  }
  std::string describe(const ArchConfig& arch) const override { return fmt::format("INT{} MAC PEs", arch.weight_bits); }
  bool uses_window(const ArchConfig&) const override { return false; }
  bool output_stationary() const override { return true; }
  bool scalesim_timing() const override { return true; }

  HwFormat weight_format(const ArchConfig& arch) const override { return int_format(arch.weight_bits); }
  // The weight and its in-tile flag (rtl/fq_pe_mac.v q0/t0).
  int weight_register_bits(const ArchConfig& arch) const override { return arch.weight_bits + 1; }
  int rtl_kind() const override { return 1; }
  int rtl_wbits(const ArchConfig& arch) const override { return arch.weight_bits; }
  int addend_bits(const ArchConfig& arch) const override { return 8 + arch.weight_bits; }  // the product

  Work work() const override { return Work::kMacs; }
  // One-cycle beats and a product per PE inside the tile whatever the weights: no need to read them.
  bool reads_weights() const override { return false; }
  void tally(const ArchConfig&, TileStats&, int8_t, bool) const override {}
  TileStats tile_stats(const ArchConfig&, HwFormat, std::span<const uint8_t>, uint64_t, uint64_t, uint32_t k,
                       uint32_t n) const override {
    return {.k = k, .n = n};
  }
  uint32_t beat(const ArchConfig&, const TileStats&) const override { return 1; }
  uint32_t beat_estimate(const ArchConfig&) const override { return 1; }
  PeActions matmul_actions(const ArchConfig& arch, const TileStats& s, uint64_t m, uint32_t) const override {
    const uint64_t rc = static_cast<uint64_t>(arch.rows) * static_cast<uint64_t>(arch.cols);
    const uint64_t kn = uint64_t{s.k} * s.n;
    return {.macs = m * kn, .idle_beats = m * (rc - kn), .psum_writes = m * rc};  // one per PE-beat
  }
  PeActions beat_actions(uint64_t valid, uint64_t due, uint64_t, uint32_t) const override {
    return {.macs = due, .idle_beats = valid - due, .psum_writes = valid};
  }
  CycleWeight cycle_weight(int8_t q) const override { return {.mask = 1, .mul = q}; }

  void energy_terms(const ArchConfig& arch, const PeActions& a, const PriceBook& prices, const EnergyTerm& add) const override {
    const Price adder = accumulator_adder(prices, true, arch.acc_bits);
    const Price mult = prices.energy("mult_int8");
    const double bits = arch.weight_bits;
    add("pe_macs", static_cast<double>(a.macs),
        {mult.value * bits / 8.0 + adder.value,
         mult.source + " scaled linearly to 8 x " + std::to_string(arch.weight_bits) + " bits, plus " + adder.source,
         true},
        "PE multiply-accumulates");
  }
  TableArea table_area(const ArchConfig& arch, const PriceBook& prices) const override {
    const Price adder = accumulator_adder(prices, false, arch.acc_bits);
    const Price reg = prices.area("register_bit");
    const Price mult = prices.area("mult_int8");
    const double bits = arch.weight_bits;
    const int regs = 8 + arch.acc_bits + arch.weight_sets * arch.weight_bits;  // activation, sum, weights
    return {mult.value * bits / 8.0 + adder.value + regs * reg.value,
            fmt::format("8x{} multiplier, linear in width: {}; adder: {}; {} register bits: {}", arch.weight_bits,
                        mult.source, adder.source, regs, reg.source)};
  }
};

}  // namespace

const PeModel& mac_pe_model() {
  static const MacPe model;
  return model;
}

}  // namespace fq
