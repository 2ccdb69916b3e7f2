#include "model/ckpt/random_layer.h"

#include "model/core/error.h"
#include "model/core/fp16.h"

#include <cmath>
#include <span>

namespace fq {
namespace {

// Uniform in [lo, lo * 2^octaves) on a log scale, from 53 random bits.
float log_uniform(uint64_t& state, double lo, int octaves) {
  const double u = static_cast<double>(splitmix64_next(state) >> 11) * 0x1.0p-53;
  return static_cast<float>(lo * std::exp2(u * octaves));
}

}  // namespace

QTensor random_qtensor(const std::string& name, HwFormat format, int n, int k, uint64_t seed) {
  if (n < 1 || k < 1) fail("random weights '{}': shape {} x {} must be positive", name, n, k);
  QTensor t;
  t.name = name;
  t.method = "random";
  EncodedMatrix& m = t.matrix;
  m.format = format;
  m.rows = n;
  m.cols = k;
  m.cols_padded = format == HwFormat::kFineqR ? 3 * ((k + 2) / 3) : k;
  uint64_t state = seed ^ 0x5eed0f0f5eed0f0full;
  const auto row_bytes = static_cast<size_t>(m.row_bytes());
  m.codes.resize(static_cast<size_t>(n) * row_bytes);
  if (format == HwFormat::kFineqR) {
    for (auto& b : m.codes) b = static_cast<uint8_t>(splitmix64_next(state) >> 56);
  } else {
    const int bits = format_int_bits(format);
    std::vector<int8_t> row(static_cast<size_t>(k));
    for (int r = 0; r < n; ++r) {
      for (auto& v : row) {
        v = static_cast<int8_t>(static_cast<int>(splitmix64_next(state) >> (64 - bits)) - (1 << (bits - 1)));
      }
      pack_int_row(row, bits, std::span<uint8_t>(m.codes).subspan(static_cast<size_t>(r) * row_bytes, row_bytes));
    }
  }
  for (int r = 0; r < n; ++r) m.scales.push_back(fp16_from_float(log_uniform(state, 0x1.0p-10, 6)));
  return t;
}

QuantizedActs random_acts(int m, int k, uint64_t seed) {
  if (m < 1 || k < 1) fail("random activations: shape {} x {} must be positive", m, k);
  QuantizedActs a;
  a.rows = m;
  a.cols = k;
  uint64_t state = seed ^ 0xac75ac75ac75ac75ull;
  a.q.resize(static_cast<size_t>(m) * static_cast<size_t>(k));
  for (auto& v : a.q) v = static_cast<int8_t>(static_cast<int>(splitmix64_next(state) % 255) - 127);
  for (int r = 0; r < m; ++r) a.scales.push_back(log_uniform(state, 0x1.0p-10, 5));
  return a;
}

}  // namespace fq
