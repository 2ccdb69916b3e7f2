// Quantizer "fineq": FineQ-R (fineq-spec.md §1-§3) with a per-row (or per-group) FP16 scale chosen
// by search_and_encode() (quantizers.md §2, "FineQ-R scale search").
#include "model/core/error.h"
#include "model/core/parallel.h"
#include "model/quant/fineq_encoder.h"
#include "model/quant/impl/factories.h"
#include "model/quant/impl/fineq_options.h"

#include <fmt/format.h>

#include <climits>

namespace fq::impl {
namespace {

class FineqQuantizer final : public IQuantizer {
 public:
  explicit FineqQuantizer(const Params& options) {
    const FineqModeOptions mode = read_fineq_mode(options);
    m_policy = mode.policy;
    m_threshold = mode.threshold;
    m_group = static_cast<int>(options.get_int("group", 0, 0, INT_MAX));
    if (m_group % 3 != 0) {
      fail("{}: option 'group' must be 0 or a positive multiple of 3 (whole clusters), got {}", options.context(),
           m_group);
    }
  }

  std::string name() const override { return "fineq"; }

  std::map<std::string, std::string> describe() const override {
    std::map<std::string, std::string> d{{"group", fmt::format("{}", m_group)}};
    describe_fineq_mode(m_policy, m_threshold, d);
    return d;
  }

  EncodedMatrix encode(std::span<const float> w, int rows, int cols) const override {
    check_weights(w, rows, cols, "fineq");
    const auto n_cols = static_cast<size_t>(cols);
    EncodedMatrix m;
    m.format = HwFormat::kFineqR;
    m.rows = rows;
    m.cols = cols;
    m.cols_padded = 3 * ((cols + 2) / 3);
    m.group_size = m_group;
    const auto row_bytes = static_cast<size_t>(m.row_bytes());
    const int groups = m.scale_groups();
    const int group_len = m_group == 0 ? m.cols_padded : m_group;
    m.codes.assign(static_cast<size_t>(rows) * row_bytes, 0);
    m.scales.assign(static_cast<size_t>(rows) * static_cast<size_t>(groups), 0);
    parallel_for(rows, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) {
        const auto row = static_cast<size_t>(n);
        for (int g = 0; g < groups; ++g) {
          const int k0 = g * group_len;
          const int len = std::min(group_len, cols - k0);
          const auto slice = w.subspan(row * n_cols + static_cast<size_t>(k0), static_cast<size_t>(len));
          const auto out = std::span<uint8_t>(m.codes).subspan(row * row_bytes + static_cast<size_t>(k0 / 3));
          try {
            m.scales[row * static_cast<size_t>(groups) + static_cast<size_t>(g)] =
                search_and_encode(slice, m_policy, m_threshold, out);
          } catch (const Error& e) {
            fail("fineq: row {}, group {}: {}", n, g, e.what());
          }
        }
      }
    });
    validate(m, "fineq output");
    return m;
  }

 private:
  FineqPolicy m_policy = FineqPolicy::kRatio;
  double m_threshold = 4.0;
  int m_group = 0;
};

}  // namespace

std::unique_ptr<IQuantizer> make_fineq_r(const Params& options) { return std::make_unique<FineqQuantizer>(options); }

}  // namespace fq::impl
