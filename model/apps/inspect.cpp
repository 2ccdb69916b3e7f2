// inspect: summarises the tensors of a .q file, or prints one tensor's codes row by row so that
// anyone can re-check the encoding independently:  <row> 0x<FP16 scale> <code bytes as hex>.
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/qfile/qfile.h"
#include "model/quant/metrics.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>

namespace {

constexpr const char* kUsage = R"(usage: inspect FILE.q [--codes TENSOR]

Without --codes: one line per tensor (method and options, format, shape, padded K, scale groups,
code bytes, effective bits per weight, FineQ-R outlier clusters, scale range).
With --codes TENSOR: one line per row, "<row> 0x<FP16 scale bits> <code bytes as contiguous hex>"
(with group scales, the row's scales are comma-separated).
)";

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"help"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const auto codes_of = cl.value("codes");
  const auto files = cl.positional();
  cl.finish();
  if (files.size() != 1) fq::fail("expected exactly one .q file (see --help)");
  const std::string& path = files.front();

  if (codes_of) {
    const fq::QTensor t = fq::read_qtensor(path, *codes_of);
    const auto& m = t.matrix;
    const auto stride = static_cast<size_t>(m.row_bytes());
    std::string line;
    for (int r = 0; r < m.rows; ++r) {
      line = fmt::format("{} ", r);
      for (int g = 0; g < m.scale_groups(); ++g) {
        line += fmt::format("{}0x{:04x}", g ? "," : "", m.scales[static_cast<size_t>(r * m.scale_groups() + g)]);
      }
      line += ' ';
      for (size_t b = 0; b < stride; ++b) line += fmt::format("{:02x}", m.codes[static_cast<size_t>(r) * stride + b]);
      line += '\n';
      std::fputs(line.c_str(), stdout);
    }
    return 0;
  }

  const auto tensors = fq::read_qfile(path);
  fmt::print("{}: {} tensors\n", path, tensors.size());
  fmt::print("{:<18} {:<8} {:<8} {:>13} {:>6} {:>6} {:>10} {:>8} {:>8} {:>21}  {}\n", "tensor", "method", "format",
             "shape [N x K]", "Kp", "groups", "code_B", "bits/w", "outlier", "scale range", "options");
  for (const auto& t : tensors) {
    const auto& m = t.matrix;
    size_t outliers = 0;
    if (m.format == fq::HwFormat::kFineqR) {
      for (const uint8_t b : m.codes) outliers += (b >> 6) != 0 ? 1 : 0;
    }
    // Block formats store a biased exponent E per block: shown as the block scale's exponent E - 127.
    const bool block = fq::is_block_format(m.format);
    const auto value = [&](uint16_t s) { return block ? static_cast<float>(s) - 127.0f : fq::fp16_to_float(s); };
    float lo = value(m.scales.front()), hi = lo;
    for (const uint16_t s : m.scales) {
      lo = std::min(lo, value(s));
      hi = std::max(hi, value(s));
    }
    const std::string range = block ? fmt::format("2^{:g}..2^{:g}", lo, hi) : fmt::format("{:.4g}..{:.4g}", lo, hi);
    std::string options;
    for (const auto& [k, v] : t.params) options += fmt::format("{}{}={}", options.empty() ? "" : " ", k, v);
    fmt::print("{:<18} {:<8} {:<8} {:>13} {:>6} {:>6} {:>10} {:>8.4f} {:>7.2f}% {:>21}  {}\n", t.name,
               t.method, fq::format_name(m.format), fmt::format("{} x {}", m.rows, m.cols), m.cols_padded,
               m.scale_groups(), m.codes.size(), fq::bits_per_weight(m),
               m.format == fq::HwFormat::kFineqR
                   ? 100.0 * static_cast<double>(outliers) / static_cast<double>(m.codes.size())
                   : 0.0,
               range, options);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("inspect", argc, argv, run); }
