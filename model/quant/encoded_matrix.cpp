#include "model/quant/encoded_matrix.h"

#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/quant/cluster_codec.h"

#include <cmath>

namespace fq {

const char* format_name(HwFormat format) {
  switch (format) {
    case HwFormat::kFineqR: return "fineq_r";
    case HwFormat::kInt8: return "int8";
    case HwFormat::kInt4: return "int4";
    case HwFormat::kInt3: return "int3";
    case HwFormat::kInt2: return "int2";
    case HwFormat::kBfp8: return "bfp8";
    case HwFormat::kBfp6: return "bfp6";
    case HwFormat::kBfp4: return "bfp4";
    case HwFormat::kMxint8: return "mxint8";
    case HwFormat::kMxfp4: return "mxfp4";
  }
  return "unknown";
}

int format_int_bits(HwFormat format) {
  switch (format) {
    case HwFormat::kFineqR: return 0;
    case HwFormat::kInt8: return 8;
    case HwFormat::kInt4: return 4;
    case HwFormat::kInt3: return 3;
    case HwFormat::kInt2: return 2;
    default: return 0;
  }
}

bool is_block_format(HwFormat format) {
  return static_cast<int>(format) >= static_cast<int>(HwFormat::kBfp8) &&
         static_cast<int>(format) <= static_cast<int>(HwFormat::kMxfp4);
}

int format_element_bits(HwFormat format) {
  switch (format) {
    case HwFormat::kBfp8:
    case HwFormat::kMxint8: return 8;
    case HwFormat::kBfp6: return 6;
    case HwFormat::kBfp4:
    case HwFormat::kMxfp4: return 4;
    default: return format_int_bits(format);
  }
}

int block_fraction_bits(HwFormat format) {
  switch (format) {
    case HwFormat::kBfp8:
    case HwFormat::kBfp6:
    case HwFormat::kBfp4: return format_element_bits(format) - 1;
    case HwFormat::kMxint8: return 6;
    case HwFormat::kMxfp4: return 1;
    default: fail("format {} has no block exponent", format_name(format));
  }
}

HwFormat int_format(int bits) {
  switch (bits) {
    case 8: return HwFormat::kInt8;
    case 4: return HwFormat::kInt4;
    case 3: return HwFormat::kInt3;
    case 2: return HwFormat::kInt2;
    default: fail("no integer weight format with {} bits (supported: 8, 4, 3, 2)", bits);
  }
}

int EncodedMatrix::row_bytes() const {
  if (format == HwFormat::kFineqR) return cols_padded / 3;
  return static_cast<int>((static_cast<int64_t>(cols) * format_element_bits(format) + 7) / 8);
}

int EncodedMatrix::scale_groups() const {
  return group_size == 0 ? 1 : (cols_padded + group_size - 1) / group_size;
}

void validate(const EncodedMatrix& m, const std::string& what) {
  const int bits = format_element_bits(m.format);
  if (m.format != HwFormat::kFineqR && bits == 0) fail("{}: unknown weight format {}", what, static_cast<int>(m.format));
  const bool block = is_block_format(m.format);
  const bool mx = m.format == HwFormat::kMxint8 || m.format == HwFormat::kMxfp4;
  if (block && (m.group_size <= 0 || (mx && m.group_size != 32))) {
    fail("{}: format {} needs its block size as group size ({}), got {}", what, format_name(m.format),
         mx ? "32" : "> 0", m.group_size);
  }
  if (m.rows <= 0 || m.cols <= 0) fail("{}: shape [{}, {}] must be positive", what, m.rows, m.cols);
  const int expected_padded = m.format == HwFormat::kFineqR ? 3 * ((m.cols + 2) / 3) : m.cols;
  if (m.cols_padded != expected_padded) {
    fail("{}: padded K is {} but K = {} in format {} needs {}", what, m.cols_padded, m.cols, format_name(m.format),
         expected_padded);
  }
  if (m.group_size < 0 || (m.group_size > 0 && m.format == HwFormat::kFineqR && m.group_size % 3 != 0)) {
    fail("{}: group size {} must be 0 or positive (a multiple of 3 for fineq_r)", what, m.group_size);
  }
  const auto code_bytes = static_cast<size_t>(m.rows) * static_cast<size_t>(m.row_bytes());
  if (m.codes.size() != code_bytes) fail("{}: {} code bytes, expected {}", what, m.codes.size(), code_bytes);
  const auto n_scales = static_cast<size_t>(m.rows) * static_cast<size_t>(m.scale_groups());
  if (m.scales.size() != n_scales) fail("{}: {} scales, expected {}", what, m.scales.size(), n_scales);
  for (size_t i = 0; i < m.scales.size() && block; ++i) {
    if (m.scales[i] > (mx ? 254 : 255)) {
      fail("{}: block exponent {} (row {}) is {}, above {}", what, i, i / m.scale_groups(), m.scales[i], mx ? 254 : 255);
    }
  }
  for (size_t i = 0; i < m.scales.size() && !block; ++i) {
    if (!fp16_is_finite(m.scales[i]) || fp16_to_float(m.scales[i]) <= 0.0f) {
      fail("{}: scale {} (row {}) is 0x{:04x}, not a finite positive FP16", what, i, i / m.scale_groups(),
           m.scales[i]);
    }
  }
}

void pack_int_row(std::span<const int8_t> q, int bits, std::span<uint8_t> row_out) {
  std::fill(row_out.begin(), row_out.end(), uint8_t{0});
  const unsigned mask = (1u << bits) - 1u;
  for (size_t k = 0; k < q.size(); ++k) {
    const size_t bit = k * static_cast<size_t>(bits);
    const unsigned v = static_cast<unsigned>(static_cast<int>(q[k])) & mask;
    row_out[bit / 8] = static_cast<uint8_t>(row_out[bit / 8] | (v << (bit % 8)));
    if (bit % 8 + static_cast<size_t>(bits) > 8) {
      row_out[bit / 8 + 1] = static_cast<uint8_t>(row_out[bit / 8 + 1] | (v >> (8 - bit % 8)));
    }
  }
}

void unpack_int_row(std::span<const uint8_t> row, int bits, std::span<int8_t> q_out) {
  const unsigned mask = (1u << bits) - 1u;
  const unsigned sign = 1u << (bits - 1);
  for (size_t k = 0; k < q_out.size(); ++k) {
    const size_t bit = k * static_cast<size_t>(bits);
    unsigned v = static_cast<unsigned>(row[bit / 8]) >> (bit % 8);
    if (bit % 8 + static_cast<size_t>(bits) > 8) v |= static_cast<unsigned>(row[bit / 8 + 1]) << (8 - bit % 8);
    v &= mask;
    q_out[k] = static_cast<int8_t>(static_cast<int>(v ^ sign) - static_cast<int>(sign));
  }
}

void decode_row(const EncodedMatrix& m, int row, std::span<int8_t> out) {
  const auto stride = static_cast<size_t>(m.row_bytes());
  const std::span<const uint8_t> bytes(m.codes.data() + static_cast<size_t>(row) * stride, stride);
  if (m.format == HwFormat::kFineqR) {
    for (int k = 0; k < m.cols; k += 3) {
      const auto q = decode_cluster(bytes[static_cast<size_t>(k / 3)]);
      for (int p = 0; p < 3 && k + p < m.cols; ++p) out[static_cast<size_t>(k + p)] = q[static_cast<size_t>(p)];
    }
    return;
  }
  const auto q = out.first(static_cast<size_t>(m.cols));
  if (m.format == HwFormat::kBfp8 || m.format == HwFormat::kBfp6 || m.format == HwFormat::kBfp4 ||
      m.format == HwFormat::kMxfp4) {
    // Sign-magnitude fields: read them unsigned (as a wider two's complement) and split the sign.
    const int bits = format_element_bits(m.format);
    const int sign = 1 << (bits - 1);
    std::vector<int8_t> raw(q.size());
    unpack_int_row(bytes, bits, raw);
    static constexpr int kE2m1Twice[8] = {0, 1, 2, 3, 4, 6, 8, 12};
    for (size_t k = 0; k < q.size(); ++k) {
      const int field = static_cast<int>(raw[k]) & ((1 << bits) - 1);
      const int magnitude = field & (sign - 1);
      const int value = m.format == HwFormat::kMxfp4 ? kE2m1Twice[magnitude] : magnitude;
      q[k] = static_cast<int8_t>((field & sign) != 0 ? -value : value);
    }
    return;
  }
  unpack_int_row(bytes, format_element_bits(m.format), q);
}

std::vector<int8_t> decode_all(const EncodedMatrix& m) {
  std::vector<int8_t> q(static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols));
  for (int n = 0; n < m.rows; ++n) {
    decode_row(m, n, std::span<int8_t>(q).subspan(static_cast<size_t>(n) * static_cast<size_t>(m.cols),
                                                  static_cast<size_t>(m.cols)));
  }
  return q;
}

std::vector<float> dequantize(const EncodedMatrix& m) {
  const auto q = decode_all(m);
  std::vector<float> w(q.size());
  const bool block = is_block_format(m.format);
  const int fraction = block ? block_fraction_bits(m.format) : 0;
  for (int n = 0; n < m.rows; ++n) {
    for (int k = 0; k < m.cols; ++k) {
      const size_t i = static_cast<size_t>(n) * static_cast<size_t>(m.cols) + static_cast<size_t>(k);
      const uint16_t s = m.scales[static_cast<size_t>(m.scale_index(n, k))];
      w[i] = block ? std::ldexp(static_cast<float>(q[i]), static_cast<int>(s) - 127 - fraction)
                   : fp16_to_float(s) * static_cast<float>(q[i]);
    }
  }
  return w;
}

}  // namespace fq
