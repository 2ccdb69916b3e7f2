#include "model/arch/pe_model.h"

#include "model/core/error.h"
#include "model/quant/cluster_codec.h"

#include <fmt/format.h>

#include <cstdlib>

namespace fq {

// Each kind's file defines its accessor; registering a kind is one line in the list below.
const PeModel& temporal_pe_model();
const PeModel& mac_pe_model();
const PeModel& bitserial_pe_model();

const std::vector<const PeModel*>& pe_models() {
  static const std::vector<const PeModel*> models = {&temporal_pe_model(), &mac_pe_model(), &bitserial_pe_model()};
  return models;
}

const PeModel* find_pe_model(std::string_view name) {
  for (const PeModel* m : pe_models()) {
    if (m->name() == name) return m;
  }
  return nullptr;
}

const PeModel& pe_model(const ArchConfig& arch) {
  const PeModel* m = find_pe_model(arch.pe_kind);
  if (m == nullptr) fail("pe.kind '{}' is not a registered PE kind ({})", arch.pe_kind, pe_model_names());
  return *m;
}

std::string pe_model_names() {
  std::string s;
  for (const PeModel* m : pe_models()) {
    if (!s.empty()) s.append(", ");
    s.append(m->name());
  }
  return s;
}

bool PeKeys::has(std::string_view path) const {
  for (const auto& [p, where] : given) {
    if (p == path) return true;
  }
  return false;
}

void PeKeys::forbid(std::string_view path, std::string_view why) const {
  for (const auto& [p, where] : given) {
    if (p == path) fail("key '{}' ({}) {}", p, where, why);
  }
}

void PeKeys::require(std::string_view path, std::string_view what, std::string_view kind) const {
  if (!has(path)) fail("missing key '{}' ({}) for {} PEs", path, what, kind);
}

TileStats PeModel::tile_stats(const ArchConfig& arch, HwFormat format, std::span<const uint8_t> wbuf, uint64_t src,
                              uint64_t stride, uint32_t k, uint32_t n) const {
  TileStats s;
  s.k = k;
  s.n = n;
  if (format == HwFormat::kFineqR) {
    for (uint32_t j = 0; j < n; ++j) {
      const uint8_t* row = wbuf.data() + src + uint64_t{j} * stride;
      for (uint32_t i = 0; i < k; ++i) {
        const uint8_t code = row[i / 3];
        tally(arch, s, decode_cluster(code)[i % 3], (code >> 6) != 0);
      }
    }
    return s;
  }
  const int bits = format_int_bits(format);
  std::vector<int8_t> w(k);
  for (uint32_t j = 0; j < n; ++j) {
    unpack_int_row({wbuf.data() + src + uint64_t{j} * stride, (uint64_t{k} * static_cast<uint64_t>(bits) + 7) / 8}, bits, w);
    for (int8_t v : w) tally(arch, s, v, false);
  }
  return s;
}

Price accumulator_adder(const PriceBook& prices, bool energy, int bits) {
  const Price a8 = energy ? prices.energy("add_int8") : prices.area("add_int8");
  const Price a32 = energy ? prices.energy("add_int32") : prices.area("add_int32");
  if (bits == 32) return a32;
  const double f = (bits - 8) / 24.0;
  return {a8.value + f * (a32.value - a8.value),
          fmt::format("{}-bit adder, linear in width (as Accelergy's Aladdin plug-in scales adders, anchors.md "
                      "4.3) between {} and {}",
                      bits, a8.source, a32.source),
          a8.scaled || a32.scaled};
}

}  // namespace fq
