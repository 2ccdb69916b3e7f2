// EncodedMatrix: one quantized weight matrix W [rows = N, cols = K] exactly as stored in a .q
// file and in the accelerator's DRAM. Decoding depends only on the format, never on the
// quantizer that produced the codes (fineq-spec.md §2).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace fq {

// Storage format of the codes. FineQ-R: one code byte per 3-weight cluster (spec §2).
// kIntB: B-bit two's complement per weight, bit-packed LSB first, each row starting on a byte.
// Block formats (quantizers.md §6; no accelerator runs them, they exist for storage and accuracy
// studies): W-bit elements packed like kIntB, blocks of group_size along K, and one shared
// exponent per block in place of a scale. kBfpW: sign-magnitude (sign in bit W-1), blocks of any
// size (16 in Zhang et al.); kMxint8: two's complement; kMxfp4: E2M1 code (bit 3 sign); MX blocks
// are 32. MXFP4 keeps the sign of a zero in its code, but decode_row() yields q = 0 for it.
enum class HwFormat : uint8_t {
  kFineqR = 1, kInt8 = 2, kInt4 = 3, kInt3 = 4, kInt2 = 5,
  kBfp8 = 6, kBfp6 = 7, kBfp4 = 8, kMxint8 = 9, kMxfp4 = 10
};
inline constexpr int kLastHwFormat = 10;

// "fineq_r", "int8", "int4", "int3", "int2", "bfp8", "bfp6", "bfp4", "mxint8", "mxfp4"
const char* format_name(HwFormat format);
int format_int_bits(HwFormat format);       // B for kIntB; 0 for every other format
HwFormat int_format(int bits);              // 8, 4, 3, 2 -> kIntB; throws fq::Error otherwise
bool is_block_format(HwFormat format);
int format_element_bits(HwFormat format);   // stored bits per weight: B, or W of a block format; 0 for FineQ-R
// Block formats: the integer weight q of decode_row() means q · 2^(E - 127 - f), E the stored
// biased exponent and f this value: W - 1 for BFP, 6 for MXINT8, 1 for MXFP4 (q = 2 · E2M1 value).
int block_fraction_bits(HwFormat format);

struct EncodedMatrix {
  HwFormat format = HwFormat::kFineqR;
  int rows = 0;         // N, output channels
  int cols = 0;         // K, input channels
  int cols_padded = 0;  // kFineqR: 3 * ceil(K / 3) (spec §1); kIntB: K
  int group_size = 0;   // 0: one scale per row (the hardware path); else one per G weights along K;
                        // block formats: the block size (> 0)
  std::vector<uint8_t> codes;    // rows * row_bytes(), row-major
  // rows * scale_groups(), row-major: FP16 bits; block formats: the biased shared exponent E
  // (BFP: e + 127 in 0..255; MX: the E8M0 byte, 0..254).
  std::vector<uint16_t> scales;

  int row_bytes() const;     // kFineqR: cols_padded / 3; others: ceil(cols * element bits / 8)
  int scale_groups() const;  // 1, or ceil(cols_padded / group_size)
  int scale_index(int row, int k) const { return row * scale_groups() + (group_size ? k / group_size : 0); }
};

// A named tensor of a .q file: the codes plus how they were made.
struct QTensor {
  std::string name;                           // e.g. "layers.0.wq"
  std::string method;                         // quantizer registry key, e.g. "fineq"
  std::map<std::string, std::string> params;  // the quantizer's describe(): every option, resolved
  EncodedMatrix matrix;
};

// Throws fq::Error (naming `what`) if sizes, format or scales are inconsistent or not finite.
void validate(const EncodedMatrix& m, const std::string& what);

// Integer weights of one row: out[k] for k < cols (padded positions are never returned).
void decode_row(const EncodedMatrix& m, int row, std::span<int8_t> out);
std::vector<int8_t> decode_all(const EncodedMatrix& m);  // [rows, cols]
// ŵ = fp16_to_float(scale) * q in float, [rows, cols]; block formats: q · 2^(E - 127 - f), exact.
std::vector<float> dequantize(const EncodedMatrix& m);

// Bit packing of kIntB rows (LSB first); `q` values must fit in B-bit two's complement.
void pack_int_row(std::span<const int8_t> q, int bits, std::span<uint8_t> row_out);
void unpack_int_row(std::span<const uint8_t> row, int bits, std::span<int8_t> q_out);

}  // namespace fq
