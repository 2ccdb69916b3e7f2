// Bit-serial PE (rtl/fq_pe_bitserial.v): weight stationary, no multiplier. A weight is a sign
// and its magnitude bits; in phase p of a beat the PE adds (or subtracts) the activation shifted
// left by p when bit p of |q| is set, so a beat of W cycles, W the bit width of the tile's
// weights, computes a * q. FineQ-R tiles take W = 2 without outlier clusters (q in -2..1) and
// W = 3 with (q in -4..3); INTb takes W = b. Like temporal coding it trades cycles for a smaller
// PE; its pulses are popcount(|q|) rather than |q|.
#include "model/arch/pe_model.h"

#include "model/quant/cluster_codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>

namespace fq {
namespace {

// Per FineQ-R code byte: whether it is an outlier cluster, the popcount of |q| over its weights,
// and how many of them have bit 0 of |q| set (add in phase 0).
struct ClusterBits {
  std::array<uint8_t, 256> outlier{};
  std::array<uint8_t, 256> pulses{};
  std::array<uint8_t, 256> first{};
};

uint32_t magnitude_pulses(int8_t q) { return static_cast<uint32_t>(std::popcount(static_cast<unsigned>(std::abs(int{q})))); }
uint32_t first_pulse(int8_t q) { return static_cast<uint32_t>(std::abs(int{q}) & 1); }

const ClusterBits& cluster_bits() {
  static const ClusterBits table = [] {
    ClusterBits t;
    for (int b = 0; b < 256; ++b) {
      uint32_t pulses = 0, first = 0;
      for (int8_t v : decode_cluster(static_cast<uint8_t>(b))) {
        pulses += magnitude_pulses(v);
        first += first_pulse(v);
      }
      t.outlier[static_cast<size_t>(b)] = (b >> 6) != 0 ? 1 : 0;
      t.pulses[static_cast<size_t>(b)] = static_cast<uint8_t>(pulses);
      t.first[static_cast<size_t>(b)] = static_cast<uint8_t>(first);
    }
    return t;
  }();
  return table;
}

bool fineq(const ArchConfig& arch) { return arch.pe_format == HwFormat::kFineqR; }
// Magnitude bits of the widest weight the format holds: FineQ-R |-4| = 4, INTb |-2^(b-1)| = 2^(b-1).
int magnitude_bits(const ArchConfig& arch) { return fineq(arch) ? 3 : format_int_bits(arch.pe_format); }

class BitSerialPe final : public PeModel {
 public:
  std::string_view name() const override { return "bitserial"; }
  std::string_view summary() const override {
    return "bit-serial shift-and-add over the weight's magnitude bits (pe.format: FineQ-R W = 2 or 3, INTb W = b)";
  }
  void configure(ArchConfig& arch, const PeKeys& keys) const override {
    keys.forbid("pe.weight_bits", "applies to mac PEs only; bitserial PEs take pe.format");
    keys.require("pe.format", "fineq_r, int8, int4, int3 or int2", "bitserial");
    if (fineq(arch)) {
      keys.require("pe.window", "fixed or tile", "bitserial FineQ-R");
    } else {
      keys.forbid("pe.window", "applies to FineQ-R weights only; an INTb tile always takes W = b");
      arch.window = BeatWindow::kFixed;
    }
    arch.weight_bits = 8;
  }
  std::string yaml_keys(const ArchConfig& arch) const override {
    std::string s = fmt::format("  format: {}\n", format_name(arch.pe_format));
    if (fineq(arch)) s += fmt::format("  window: {}\n", to_string(arch.window));
    return s;
  }
  std::string describe(const ArchConfig& arch) const override {
    return fineq(arch) ? fmt::format("bit-serial PEs, FineQ-R, {} window", to_string(arch.window))
                       : fmt::format("bit-serial PEs, INT{}", format_int_bits(arch.pe_format));
  }
  bool uses_window(const ArchConfig& arch) const override { return fineq(arch); }

  HwFormat weight_format(const ArchConfig& arch) const override { return arch.pe_format; }
  int weight_register_bits(const ArchConfig& arch) const override { return magnitude_bits(arch) + 1; }  // and the sign
  int rtl_kind() const override { return 2; }
  // WBITS sizes the registers: FineQ-R needs 3 magnitude bits and a 4-bit write port, as INT3.
  int rtl_wbits(const ArchConfig& arch) const override { return fineq(arch) ? 3 : format_int_bits(arch.pe_format); }
  // The activation shifted by up to MW - 1 (MW = max(WBITS, 3) magnitude bits).
  int addend_bits(const ArchConfig& arch) const override { return 8 + std::max(rtl_wbits(arch), 3) - 1; }

  Work work() const override { return Work::kPulses; }
  bool reads_weights() const override { return true; }
  void tally(const ArchConfig& arch, TileStats& s, int8_t q, bool outlier) const override {
    s.basis = std::max<uint32_t>(s.basis, fineq(arch) ? (outlier ? 3 : 2) : static_cast<uint32_t>(magnitude_bits(arch)));
    s.pulses += magnitude_pulses(q);
    s.first_pulses += first_pulse(q);
  }
  TileStats tile_stats(const ArchConfig& arch, HwFormat format, std::span<const uint8_t> wbuf, uint64_t src,
                       uint64_t stride, uint32_t k, uint32_t n) const override {
    if (format != HwFormat::kFineqR) return PeModel::tile_stats(arch, format, wbuf, src, stride, k, n);
    TileStats s;
    s.k = k;
    s.n = n;
    if (k == 0 || n == 0) return s;
    const auto& lut = cluster_bits();
    const uint32_t full = k / 3, rest = k % 3;
    bool outlier = false;
    for (uint32_t j = 0; j < n; ++j) {
      const uint8_t* row = wbuf.data() + src + uint64_t{j} * stride;
      uint64_t pulses = 0, first = 0;
      for (uint32_t c = 0; c < full; ++c) {
        outlier |= lut.outlier[row[c]] != 0;
        pulses += lut.pulses[row[c]];
        first += lut.first[row[c]];
      }
      s.pulses += pulses;
      s.first_pulses += first;
      if (rest != 0) {  // a split last cluster: its index still says how wide its codes are
        const auto q = decode_cluster(row[full]);
        outlier |= (row[full] >> 6) != 0;
        for (uint32_t i = 0; i < rest; ++i) {
          s.pulses += magnitude_pulses(q[i]);
          s.first_pulses += first_pulse(q[i]);
        }
      }
    }
    s.basis = outlier ? 3 : 2;
    return s;
  }
  uint32_t beat(const ArchConfig& arch, const TileStats& s) const override {
    if (!fineq(arch)) return static_cast<uint32_t>(magnitude_bits(arch));
    return arch.window == BeatWindow::kFixed ? 3 : std::max<uint32_t>(2, s.basis);
  }
  uint32_t beat_estimate(const ArchConfig& arch) const override { return static_cast<uint32_t>(magnitude_bits(arch)); }
  PeActions matmul_actions(const ArchConfig& arch, const TileStats& s, uint64_t m, uint32_t beat) const override {
    const uint64_t rc = static_cast<uint64_t>(arch.rows) * static_cast<uint64_t>(arch.cols);
    // psum: one write per PE-beat with data (the load, with the phase-0 pulse) and per later pulse.
    return {.pulses = m * s.pulses, .idle_cycles = m * rc * beat - m * s.pulses,
            .psum_writes = m * rc + m * (s.pulses - s.first_pulses)};
  }
  PeActions beat_actions(uint64_t valid, uint64_t due, uint64_t due_first, uint32_t beat) const override {
    return {.pulses = due, .idle_cycles = valid * beat - due, .psum_writes = valid + due - due_first};
  }
  CycleWeight cycle_weight(int8_t q) const override {
    return {.mask = std::abs(int32_t{q}), .mul = q < 0 ? -1 : 1};
  }
  bool shift_by_phase() const override { return true; }

  void energy_terms(const ArchConfig& arch, const PeActions& a, const PriceBook& prices, const EnergyTerm& add) const override {
    const Price adder = accumulator_adder(prices, true, arch.acc_bits);
    const Price reg = prices.energy("register_bit");
    add("pe_pulses", static_cast<double>(a.pulses), adder,
        fmt::format("PE pulses (one {}-bit add of the shifted activation each; the shift is a mux, not priced)",
                    arch.acc_bits));
    // Every PE-cycle with data selects bit `phase` of |q|: taken as 3 register bits clocked, as
    // the temporal PE's phase compare.
    add("pe_phase_select", static_cast<double>(a.pulses + a.idle_cycles), {3 * reg.value, reg.source, reg.scaled},
        "PE-cycles with data (3-bit phase and bit select, approximated as 3 register bits)");
  }
  TableArea table_area(const ArchConfig& arch, const PriceBook& prices) const override {
    const Price adder = accumulator_adder(prices, false, arch.acc_bits);
    const Price reg = prices.area("register_bit");
    // Adder, 8-bit activation, the partial sum, the weight registers (sign and magnitude),
    // 3-bit phase; the shifter of the activation is a mux the tables do not price.
    const int bits = 8 + arch.acc_bits + arch.weight_sets * weight_register_bits(arch) + 3;
    return {adder.value + bits * reg.value,
            fmt::format("adder: {}; {} register bits: {}; activation shifter not priced", adder.source, bits,
                        reg.source)};
  }
};

}  // namespace

const PeModel& bitserial_pe_model() {
  static const BitSerialPe model;
  return model;
}

}  // namespace fq
