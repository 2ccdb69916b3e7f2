// Quantizers "bfp", "mxint8" and "mxfp4": block formats of quantizers.md §6 (block_formats.h)
// stored as EncodedMatrix block formats: packed elements plus one biased exponent per block.
#include "model/core/error.h"
#include "model/quant/block_formats.h"
#include "model/quant/impl/factories.h"

#include <fmt/format.h>

namespace fq::impl {
namespace {

HwFormat storage_format(const BlockSpec& spec) {
  switch (spec.kind) {
    case BlockKind::kMxint8: return HwFormat::kMxint8;
    case BlockKind::kMxfp4: return HwFormat::kMxfp4;
    case BlockKind::kBfp: break;
  }
  return spec.bits == 8 ? HwFormat::kBfp8 : spec.bits == 6 ? HwFormat::kBfp6 : HwFormat::kBfp4;
}

class BlockQuantizer final : public IQuantizer {
 public:
  BlockQuantizer(BlockKind kind, const Params& options) {
    const bool bfp = kind == BlockKind::kBfp;
    const int bits = bfp ? static_cast<int>(options.get_int("bits", 6)) : (kind == BlockKind::kMxint8 ? 8 : 4);
    if (bfp && bits != 8 && bits != 6 && bits != 4) {
      fail("{}: option 'bits' must be 8, 6 or 4, got {}", options.context(), bits);
    }
    m_spec = make_block_spec(kind, bits,
                             parse_rounding(options.get_choice("rounding", bfp ? "rne" : "half_away", {"half_away", "rne"}),
                                            "rounding"));
    if (bfp) m_spec.block = static_cast<int>(options.get_int("block", 16, 1, 4096));
    validate_block_spec(m_spec);
  }

  std::string name() const override { return block_kind_name(m_spec.kind); }

  std::map<std::string, std::string> describe() const override {
    std::map<std::string, std::string> d = {{"rounding", rounding_name(m_spec.rounding)}};
    if (m_spec.kind == BlockKind::kBfp) {
      d["bits"] = fmt::format("{}", m_spec.bits);
      d["block"] = fmt::format("{}", m_spec.block);
    }
    return d;
  }

  EncodedMatrix encode(std::span<const float> w, int rows, int cols) const override {
    check_weights(w, rows, cols, name());
    const BlockQuantized b = block_quantize(w, rows, cols, m_spec);
    EncodedMatrix m;
    m.format = storage_format(m_spec);
    m.rows = rows;
    m.cols = cols;
    m.cols_padded = cols;
    m.group_size = m_spec.block;
    const auto row_bytes = static_cast<size_t>(m.row_bytes());
    const auto n_cols = static_cast<size_t>(cols);
    m.codes.assign(static_cast<size_t>(rows) * row_bytes, 0);
    std::vector<int8_t> fields(n_cols);
    for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
      for (size_t k = 0; k < n_cols; ++k) {
        const int code = b.codes[r * n_cols + k];
        // BFP stores sign-magnitude (its codes are sign * m); MX codes are already the stored fields.
        const int field = m_spec.kind == BlockKind::kBfp && code < 0 ? (-code) | (1 << (m_spec.bits - 1)) : code;
        fields[k] = static_cast<int8_t>(field);
      }
      pack_int_row(fields, m_spec.bits, std::span<uint8_t>(m.codes).subspan(r * row_bytes, row_bytes));
    }
    m.scales.resize(b.exponents.size());
    for (size_t i = 0; i < b.exponents.size(); ++i) m.scales[i] = static_cast<uint16_t>(b.exponents[i] + 127);
    validate(m, fmt::format("{} output", name()));
    return m;
  }

 private:
  BlockSpec m_spec;
};

}  // namespace

std::unique_ptr<IQuantizer> make_bfp(const Params& options) {
  return std::make_unique<BlockQuantizer>(BlockKind::kBfp, options);
}
std::unique_ptr<IQuantizer> make_mxint8(const Params& options) {
  return std::make_unique<BlockQuantizer>(BlockKind::kMxint8, options);
}
std::unique_ptr<IQuantizer> make_mxfp4(const Params& options) {
  return std::make_unique<BlockQuantizer>(BlockKind::kMxfp4, options);
}

}  // namespace fq::impl
