// Temporal-coding PE (fineq-spec.md §5, rtl/fq_pe_temporal.v): no multiplier. A weight is a sign
// and |q| <= 4; in each cycle of a beat whose phase is below |q| the PE adds (or subtracts) the
// activation, so a beat of W = max |q| cycles (tile window) or 4 (fixed) computes a * q.
#include "model/arch/pe_model.h"

#include "model/quant/cluster_codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace fq {
namespace {

// Per FineQ-R code byte: the largest |q|, the sum of |q| and the nonzero count of its three weights.
struct ClusterMagnitudes {
  std::array<uint8_t, 256> max{};
  std::array<uint8_t, 256> sum{};
  std::array<uint8_t, 256> nonzero{};
};

const ClusterMagnitudes& cluster_magnitudes() {
  static const ClusterMagnitudes table = [] {
    ClusterMagnitudes t;
    for (int b = 0; b < 256; ++b) {
      int mx = 0, sum = 0, nonzero = 0;
      for (int8_t v : decode_cluster(static_cast<uint8_t>(b))) {
        mx = std::max(mx, std::abs(int{v}));
        sum += std::abs(int{v});
        nonzero += v != 0 ? 1 : 0;
      }
      t.max[static_cast<size_t>(b)] = static_cast<uint8_t>(mx);
      t.sum[static_cast<size_t>(b)] = static_cast<uint8_t>(sum);
      t.nonzero[static_cast<size_t>(b)] = static_cast<uint8_t>(nonzero);
    }
    return t;
  }();
  return table;
}

class TemporalPe final : public PeModel {
 public:
  std::string_view name() const override { return "temporal"; }
  std::string_view summary() const override {
    return "temporal coding (FineQ-R, spec section 5): adds the activation |q| times per beat, no multiplier";
  }
  void configure(ArchConfig& arch, const PeKeys& keys) const override {
    keys.forbid("pe.weight_bits", "applies to mac PEs only; temporal PEs run FineQ-R weights");
    keys.forbid("pe.format", "applies to bitserial PEs only; temporal PEs run FineQ-R weights");
    keys.require("pe.window", "fixed or tile", "temporal");
    arch.weight_bits = 8;
  }
  std::string yaml_keys(const ArchConfig& arch) const override {
    return fmt::format("  window: {}\n", to_string(arch.window));
  }
  std::string describe(const ArchConfig& arch) const override {
    return fmt::format("temporal PEs, {} window", to_string(arch.window));
  }
  bool uses_window(const ArchConfig&) const override { return true; }

  HwFormat weight_format(const ArchConfig&) const override { return HwFormat::kFineqR; }
  int weight_register_bits(const ArchConfig&) const override { return 4; }  // sign and 3-bit |q|
  int rtl_kind() const override { return 0; }
  int rtl_wbits(const ArchConfig&) const override { return 8; }  // unused by KIND 0

  Work work() const override { return Work::kPulses; }
  bool reads_weights() const override { return true; }
  void tally(const ArchConfig&, TileStats& s, int8_t q, bool) const override {
    const auto mag = static_cast<uint32_t>(std::abs(int{q}));
    s.basis = std::max(s.basis, mag);
    s.pulses += mag;
    s.first_pulses += mag != 0 ? 1 : 0;  // phase 0 < |q|
  }
  // The FineQ-R path reads one table entry per code byte: it is the fast engine's hot spot.
  TileStats tile_stats(const ArchConfig& arch, HwFormat format, std::span<const uint8_t> wbuf, uint64_t src,
                       uint64_t stride, uint32_t k, uint32_t n) const override {
    if (format != HwFormat::kFineqR) return PeModel::tile_stats(arch, format, wbuf, src, stride, k, n);
    TileStats s;
    s.k = k;
    s.n = n;
    const auto& lut = cluster_magnitudes();
    const uint32_t full = k / 3, rest = k % 3;
    for (uint32_t j = 0; j < n; ++j) {
      const uint8_t* row = wbuf.data() + src + uint64_t{j} * stride;
      uint32_t mx = s.basis;
      uint64_t sum = 0, nonzero = 0;
      for (uint32_t c = 0; c < full; ++c) {
        mx = std::max<uint32_t>(mx, lut.max[row[c]]);
        sum += lut.sum[row[c]];
        nonzero += lut.nonzero[row[c]];
      }
      s.basis = mx;
      s.pulses += sum;
      s.first_pulses += nonzero;
      // The unused positions of a split last cluster are not in the tile.
      if (rest != 0) {
        const auto q = decode_cluster(row[full]);
        for (uint32_t i = 0; i < rest; ++i) tally(arch, s, q[i], false);
      }
    }
    return s;
  }
  uint32_t beat(const ArchConfig& arch, const TileStats& s) const override {
    return arch.window == BeatWindow::kFixed ? 4 : std::max<uint32_t>(1, s.basis);
  }
  uint32_t beat_estimate(const ArchConfig&) const override { return 4; }
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
    const int32_t mag = std::abs(int32_t{q});
    return {.mask = (1 << mag) - 1, .mul = q < 0 ? -1 : 1};
  }

  void energy_terms(const ArchConfig& arch, const PeActions& a, const PriceBook& prices, const EnergyTerm& add) const override {
    const Price adder = accumulator_adder(prices, true, arch.acc_bits);
    const Price reg = prices.energy("register_bit");
    add("pe_pulses", static_cast<double>(a.pulses), adder,
        fmt::format("PE pulses (one {}-bit add each)", arch.acc_bits));
    // Every PE-cycle with data compares the beat phase with |q|: taken as 3 register bits clocked.
    add("pe_phase_compare", static_cast<double>(a.pulses + a.idle_cycles), {3 * reg.value, reg.source, reg.scaled},
        "PE-cycles with data (3-bit phase compare, approximated as 3 register bits)");
  }
  TableArea table_area(const ArchConfig& arch, const PriceBook& prices) const override {
    const Price adder = accumulator_adder(prices, false, arch.acc_bits);
    const Price reg = prices.area("register_bit");
    // Adder, 8-bit activation, the partial sum, the 4-bit weight registers, 3-bit counter.
    const int bits = 8 + arch.acc_bits + 4 * arch.weight_sets + 3;
    return {adder.value + bits * reg.value, fmt::format("adder: {}; {} register bits: {}", adder.source, bits, reg.source)};
  }
};

}  // namespace

const PeModel& temporal_pe_model() {
  static const TemporalPe model;
  return model;
}

}  // namespace fq
