// Quantizers "gptq" and "quantease" for .q files: symmetric INTb codes with FP16 scales, the
// hardware format of the MAC presets. Each grid is fixed before the optimisation (clip search or
// absmax on the original weights, scale rounded to FP16 first), so the stored scale is exactly the
// one the algorithm rounded to and dequantize() reproduces its result bit for bit. GPTQ's groups
// are therefore static (fitted on the original weights). The literature variants with refitted
// groups, asymmetric grids and FP16 outliers have no .q format: `evaluate` runs them.
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/quant/gptq.h"
#include "model/quant/impl/factories.h"
#include "model/quant/quantease.h"
#include "model/quant/row_grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <vector>

namespace fq::impl {
namespace {

int bits_option(const Params& options, int fallback) {
  const int64_t bits = options.get_int("bits", fallback);
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
    fail("{}: option 'bits' must be 2, 3, 4 or 8, got {}", options.context(), bits);
  }
  return static_cast<int>(bits);
}

bool flag(const Params& options, const std::string& key, bool fallback) {
  return options.get_int(key, fallback ? 1 : 0, 0, 1) != 0;
}

// Base of both: storage and grids.
class CalibratedQuantizer : public CalibratedQuantizerBase {
 protected:
  // Symmetric grids [rows, groups] fitted on the original weights, scales rounded to FP16.
  std::vector<RowGrid> fixed_grids(std::span<const float> w, int rows, int cols, int group, bool clip_search,
                                   double norm, Rounding rounding, std::vector<uint16_t>& scales) const {
    const int group_len = group == 0 ? cols : group;
    const int groups = (cols + group_len - 1) / group_len;
    std::vector<RowGrid> grids(static_cast<size_t>(rows) * static_cast<size_t>(groups));
    scales.assign(grids.size(), 0);
    std::vector<double> x;
    for (int r = 0; r < rows; ++r) {
      for (int g = 0; g < groups; ++g) {
        const int k0 = g * group_len, len = std::min(group_len, cols - k0);
        const auto* src = w.data() + static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(k0);
        x.assign(src, src + len);
        const GridSpec spec{m_bits, true, true};
        const RowGrid fitted = clip_search ? fit_grid_mse(x, spec, norm, rounding) : fit_grid(x, spec, 1.0, rounding);
        const Fp16Scale s = fp16_scale(fitted.scale);
        if (!fp16_is_finite(s.bits)) fail("{}: row {}: scale {} exceeds the FP16 range", name(), r, fitted.scale);
        const size_t i = static_cast<size_t>(r) * static_cast<size_t>(groups) + static_cast<size_t>(g);
        grids[i] = make_grid(s.value, 0.0, m_bits, true);
        scales[i] = s.bits;
      }
    }
    return grids;
  }

  EncodedMatrix store(int rows, int cols, int group, std::span<const int16_t> codes, std::vector<uint16_t> scales) const {
    EncodedMatrix m;
    m.format = int_format(m_bits);
    m.rows = rows;
    m.cols = cols;
    m.cols_padded = cols;
    m.group_size = group;
    const auto row_bytes = static_cast<size_t>(m.row_bytes());
    m.codes.assign(static_cast<size_t>(rows) * row_bytes, 0);
    std::vector<int8_t> q(static_cast<size_t>(cols));
    for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
      for (size_t k = 0; k < q.size(); ++k) q[k] = static_cast<int8_t>(codes[r * q.size() + k]);
      pack_int_row(q, m_bits, std::span<uint8_t>(m.codes).subspan(r * row_bytes, row_bytes));
    }
    m.scales = std::move(scales);
    validate(m, fmt::format("{} output", name()));
    return m;
  }

  int m_bits = 4;
};

class GptqQuantizer final : public CalibratedQuantizer {
 public:
  explicit GptqQuantizer(const Params& options) {
    m_bits = bits_option(options, 4);
    m_group = static_cast<int>(options.get_int("group", 0, 0, INT_MAX));
    m_block = static_cast<int>(options.get_int("block", 128, 1, INT_MAX));
    m_damp = options.get_double("damp", 0.01);
    if (!(m_damp >= 0)) fail("{}: option 'damp' must be >= 0, got {}", options.context(), m_damp);
    m_act_order = flag(options, "act_order", false);
    m_clip = options.get_choice("clip", "mse", {"none", "mse"}) == "mse";
    m_norm = options.get_double("norm", 2.4);
    if (!(m_norm > 0)) fail("{}: option 'norm' must be > 0, got {}", options.context(), m_norm);
    m_rounding = parse_rounding(options.get_choice("rounding", "rne", {"half_away", "rne"}), "rounding");
  }

  std::string name() const override { return "gptq"; }

  std::map<std::string, std::string> describe() const override {
    return {{"bits", fmt::format("{}", m_bits)},   {"group", fmt::format("{}", m_group)},
            {"block", fmt::format("{}", m_block)}, {"damp", fmt::format("{}", m_damp)},
            {"act_order", m_act_order ? "1" : "0"}, {"clip", m_clip ? "mse" : "none"},
            {"norm", fmt::format("{}", m_norm)},   {"rounding", rounding_name(m_rounding)}};
  }

  EncodedMatrix encode_calibrated(std::span<const float> w, int rows, int cols,
                                  const CalibrationData& calib) const override {
    check_weights(w, rows, cols, "gptq");
    check_calibration("gptq", cols, calib);
    std::vector<uint16_t> scales;
    const auto grids = fixed_grids(w, rows, cols, m_group, m_clip, m_norm, m_rounding, scales);
    GptqOptions opt;
    opt.bits = m_bits;
    opt.group_size = m_group;
    opt.static_groups = m_group > 0;
    opt.block_size = m_block;
    opt.damp = m_damp;
    opt.act_order = m_act_order;
    opt.rounding = m_rounding;
    opt.fixed_grids = grids;
    const auto h = hessian_from_activations(calib.x, calib.tokens, cols);
    const auto r = gptq_quantize(w, rows, cols, h, opt);
    return store(rows, cols, m_group, r.codes, std::move(scales));
  }

 private:
  int m_group = 0, m_block = 128;
  double m_damp = 0.01, m_norm = 2.4;
  bool m_act_order = false, m_clip = true;
  Rounding m_rounding = Rounding::kHalfEven;
};

class QuantEaseQuantizer final : public CalibratedQuantizer {
 public:
  explicit QuantEaseQuantizer(const Params& options) {
    m_bits = bits_option(options, 4);
    m_sweeps = static_cast<int>(options.get_int("sweeps", 30, 1, 10000));
    m_act_order = flag(options, "act_order", false);
    m_relaxed = flag(options, "relaxed", false);
    m_rounding = parse_rounding(options.get_choice("rounding", "rne", {"half_away", "rne"}), "rounding");
  }

  std::string name() const override { return "quantease"; }

  std::map<std::string, std::string> describe() const override {
    return {{"bits", fmt::format("{}", m_bits)},
            {"sweeps", fmt::format("{}", m_sweeps)},
            {"act_order", m_act_order ? "1" : "0"},
            {"relaxed", m_relaxed ? "1" : "0"},
            {"rounding", rounding_name(m_rounding)}};
  }

  EncodedMatrix encode_calibrated(std::span<const float> w, int rows, int cols,
                                  const CalibrationData& calib) const override {
    check_weights(w, rows, cols, "quantease");
    check_calibration("quantease", cols, calib);
    std::vector<uint16_t> scales;
    const auto grids = fixed_grids(w, rows, cols, 0, false, 2.0, m_rounding, scales);
    QuantEaseOptions opt;
    opt.bits = m_bits;
    opt.symmetric = true;
    opt.sweeps = m_sweeps;
    opt.act_order = m_act_order;
    opt.relaxed_schedule = m_relaxed;
    opt.rounding = m_rounding;
    opt.fixed_grids = grids;
    auto sigma = hessian_from_activations(calib.x, calib.tokens, cols);
    for (double& s : sigma) s *= calib.tokens / 2.0;  // Σ = XᵀX; the Hessian helper returns (2/n)·XᵀX
    const auto r = quantease_quantize(w, rows, cols, sigma, opt);
    return store(rows, cols, 0, r.codes, std::move(scales));
  }

 private:
  int m_sweeps = 30;
  bool m_act_order = false, m_relaxed = false;
  Rounding m_rounding = Rounding::kHalfEven;
};

}  // namespace

std::unique_ptr<IQuantizer> make_gptq(const Params& options) { return std::make_unique<GptqQuantizer>(options); }
std::unique_ptr<IQuantizer> make_quantease(const Params& options) {
  return std::make_unique<QuantEaseQuantizer>(options);
}

}  // namespace fq::impl
