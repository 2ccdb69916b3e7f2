// Quantizer "rtn": symmetric INTb round-to-nearest per row or per group, optional MSE clip search
// (quantizers.md §1, §2). Output: EncodedMatrix kIntB, codes packed LSB first, FP16 scales.
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/core/parallel.h"
#include "model/quant/impl/factories.h"
#include "model/quant/rtn.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <vector>

namespace fq::impl {
namespace {

enum class ClipMode { kNone, kMse };

class RtnQuantizer final : public IQuantizer {
 public:
  explicit RtnQuantizer(const Params& options) {
    const int64_t bits = options.get_int("bits", 4);
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
      fail("{}: option 'bits' must be 2, 3, 4 or 8, got {}", options.context(), bits);
    }
    m_bits = static_cast<int>(bits);
    m_group = static_cast<int>(options.get_int("group", 0, 0, INT_MAX));
    m_clip = options.get_choice("clip", "none", {"none", "mse"}) == "mse" ? ClipMode::kMse : ClipMode::kNone;
    m_norm = options.get_double("norm", 2.4);
    if (!(m_norm > 0.0)) fail("{}: option 'norm' must be > 0, got {}", options.context(), m_norm);
    m_rounding = parse_rounding(options.get_choice("rounding", "half_away", {"half_away", "rne"}), "rounding");
  }

  std::string name() const override { return "rtn"; }

  std::map<std::string, std::string> describe() const override {
    return {{"bits", fmt::format("{}", m_bits)},
            {"group", fmt::format("{}", m_group)},
            {"clip", m_clip == ClipMode::kMse ? "mse" : "none"},
            {"norm", fmt::format("{}", m_norm)},
            {"rounding", rounding_name(m_rounding)}};
  }

  EncodedMatrix encode(std::span<const float> w, int rows, int cols) const override {
    check_weights(w, rows, cols, "rtn");
    const auto n_rows = static_cast<size_t>(rows);
    const auto n_cols = static_cast<size_t>(cols);
    EncodedMatrix m;
    m.format = int_format(m_bits);
    m.rows = rows;
    m.cols = cols;
    m.cols_padded = cols;
    m.group_size = m_group;
    const auto row_bytes = static_cast<size_t>(m.row_bytes());
    const int groups = m.scale_groups();
    const int group_len = m_group == 0 ? cols : m_group;
    m.codes.assign(n_rows * row_bytes, 0);
    m.scales.assign(n_rows * static_cast<size_t>(groups), 0);

    parallel_for(rows, [&](int64_t begin, int64_t end) {
      std::vector<int8_t> q(n_cols);
      for (int64_t n = begin; n < end; ++n) {
        const auto row = static_cast<size_t>(n);
        for (int g = 0; g < groups; ++g) {
          const int k0 = g * group_len;
          const int len = std::min(group_len, cols - k0);
          const auto slice = w.subspan(row * n_cols + static_cast<size_t>(k0), static_cast<size_t>(len));
          const auto q_slice = std::span<int8_t>(q).subspan(static_cast<size_t>(k0), static_cast<size_t>(len));
          m.scales[row * static_cast<size_t>(groups) + static_cast<size_t>(g)] =
              encode_slice(slice, q_slice, static_cast<int>(n), g);
        }
        pack_int_row(q, m_bits, std::span<uint8_t>(m.codes).subspan(row * row_bytes, row_bytes));
      }
    });
    validate(m, "rtn output");
    return m;
  }

 private:
  // Codes of one row or group; returns the stored FP16 scale bits. The scale is rounded to FP16
  // before the codes are computed (see ScalePrecision::kFp16), so decode(bits) * q is the result.
  uint16_t encode_slice(std::span<const float> x, std::span<int8_t> q, int row, int group) const {
    const double full_scale = rtn_scale(abs_max(x), m_bits, 1.0);
    const Fp16Scale full = fp16_scale(full_scale);
    if (!fp16_is_finite(full.bits)) {
      fail("rtn: row {}, group {}: scale {} exceeds the FP16 range (|w| too large for INT{})", row, group,
           full_scale, m_bits);
    }
    if (m_clip == ClipMode::kNone) {
      rtn_quantize(x, m_bits, 1.0, m_rounding, ScalePrecision::kFp16, q);
      return full.bits;
    }
    // Only the choice is stored, not its error: the search may skip the exact scoring.
    const ClipChoice choice = mse_clip_search(x, m_bits, m_norm, m_rounding, ScalePrecision::kFp16, q, false);
    return fp16_scale(choice.scale).bits;  // choice.scale is an FP16 value: this returns its own bits
  }

  int m_bits = 4;
  int m_group = 0;
  ClipMode m_clip = ClipMode::kNone;
  double m_norm = 2.4;
  Rounding m_rounding = Rounding::kHalfAway;
};

}  // namespace

std::unique_ptr<IQuantizer> make_rtn(const Params& options) { return std::make_unique<RtnQuantizer>(options); }

}  // namespace fq::impl
