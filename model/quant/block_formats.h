// Block formats of quantizers.md §6: BFP (Zhang et al.) and OCP MX (MXINT8, MXFP4), as pure functions.
//
// Contract: block_quantize() takes x [rows, cols] row-major in FP32; blocks of spec.block
// consecutive elements run along each row (along K) and never cross rows; the last block of a row
// may be short and is treated as if padded with zeros (padding never changes a block's max |x|).
// Arithmetic is double precision on the FP32 inputs; every scaling is an exact power of two
// (ldexp), and ceil/floor(log2 max|x|) are taken exactly from frexp, so results do not depend on
// libm. Every dequantised value is exactly representable in FP32, so values[i] equals
// block_dequantize(spec, codes[i], exponent of its block) bit for bit. NaN or Inf in x throws
// fq::Error naming the row and column.
//
// BFP, element width W (sign + W-1 magnitude bits, sign-magnitude, no implicit bit):
//   e   = clamp(ceil(log2 max|x|), -127, 128)                       shared exponent, 8 bits, bias 127
//   m   = clamp(round(|x| * 2^(W-1) / 2^e), 0, 2^(W-1) - 1)          round = spec.rounding
//   x̂  = sign * m * 2^(e - (W-1));  code = sign * m as a signed integer.
//   A block max that is an exact power of two saturates (T8). Because of the ceiling, BFP is not
//   idempotent: when the block max dequantises to exactly 2^(e-1), re-quantizing x̂ picks e - 1
//   and the max saturates one step lower (0.51 -> 0.5 -> 0.484375 in BFP6).
//   Differences from the reference code (llm-mixed-q block_fp.py), on purpose: no 1e-9 is added
//   to |x| before rounding (exact ties follow spec.rounding), zero maps to m = 0 (no isclose
//   pass-through), and an all-zero block gets e = -127 (kZeroBlockExponent) instead of borrowing
//   another block's max.
//
// MX (OCP Microscaling v1.0 as in the microxcaling library), block 32, E8M0 scale:
//   shared_exp = clamp(floor(log2 max|V|) - emax_elem, -127, 127);  scale = 2^shared_exp,
//   E8M0 byte = shared_exp + 127;  P = quantize_elem(V / 2^shared_exp) with saturation to ±max.
//   MXINT8 (emax_elem 0): code = clamp(round(v * 64), -127, 127), x̂ = 2^shared_exp * code / 64.
//     The library clamps to ±127/64, so code -128 (0x80, -2.0) is never produced; whether the
//     spec allows it is unverified. The block max lands in [64, 127]: never saturated except
//     when it rounds to 128 and is clamped to 127.
//   MXFP4 (E2M1, emax_elem 2): magnitudes {0, 0.5, 1, 1.5, 2, 3, 4, 6} (0.5 subnormal); code =
//     sign bit 3 | magnitude index 0..7. Rounding is to the E2M1 grid with the step of the
//     binade of |v| (0.5 below 2, 1 in [2, 4), 2 from 4), so a tie is broken within that binade:
//     kHalfEven picks the even magnitude index (= even mantissa bit), kHalfAway the larger
//     magnitude; results above 6 saturate to 6 (T10: 5 -> 4 under rne, 6 under half_away).
//     The sign of a value that rounds to 0 is kept: code 8 dequantises to -0.0f.
//   An all-zero block gets shared_exp = -127 (E8M0 byte 0); all its codes and values are 0.
//
// Codes of BFP and MXINT8 are signed integers and have no negative zero: a zero code
// dequantises to +0.0f.
#pragma once

#include "model/quant/rtn.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fq {

enum class BlockKind { kBfp, kMxint8, kMxfp4 };

struct BlockSpec {
  BlockKind kind = BlockKind::kBfp;
  int bits = 8;    // element width incl. sign: BFP 8, 6 or 4; 8 for MXINT8, 4 for MXFP4
  int block = 16;  // elements sharing one exponent: BFP 1..4096 (16 in Zhang et al.), MX exactly 32
  Rounding rounding = Rounding::kHalfEven;
};

// Exponent stored for an all-zero block (BFP e, MX shared_exp): the smallest legal value.
inline constexpr int kZeroBlockExponent = -127;
// Bits of one shared exponent (BFP: 8-bit biased exponent; MX: E8M0).
inline constexpr int kBlockExponentBits = 8;

struct BlockQuantized {
  int rows = 0;
  int cols = 0;
  int blocks_per_row = 0;  // ceil(cols / spec.block)
  // rows * cols, row-major. BFP: sign * m; MXINT8: two's complement code in [-127, 127];
  // MXFP4: 4-bit E2M1 code 0..15, bit 3 = sign.
  std::vector<int8_t> codes;
  // rows * blocks_per_row, row-major. BFP: e; MX: shared_exp (scale 2^shared_exp, E8M0 byte
  // shared_exp + 127).
  std::vector<int> exponents;
  std::vector<float> values;  // dequantised, rows * cols, row-major
};

const char* block_kind_name(BlockKind kind);  // "bfp", "mxint8", "mxfp4"
// Throws fq::Error naming `option` and the accepted names.
BlockKind parse_block_kind(const std::string& name, const std::string& option);

// The spec of a kind with its default block (BFP 16, MX 32); validated. `bits` is W for BFP and
// must be 8 for MXINT8, 4 for MXFP4.
BlockSpec make_block_spec(BlockKind kind, int bits, Rounding rounding);
// Throws fq::Error unless bits and block are legal for the kind (see BlockSpec).
void validate_block_spec(const BlockSpec& spec);

// emax_elem of an MX element format (MXINT8 0, MXFP4 2); throws for BFP.
int mx_emax_elem(BlockKind kind);

// Exact floor(log2 a) and ceil(log2 a) of a finite a > 0 (from frexp); throws otherwise.
int floor_log2(double a);
int ceil_log2(double a);

BlockQuantized block_quantize(std::span<const float> x, int rows, int cols, const BlockSpec& spec);

// The value one code means under its block's exponent (exact in double and in float).
// Throws fq::Error if the code is out of range for the format.
double block_dequantize(const BlockSpec& spec, int8_t code, int exponent);

// quantizers.md §7: element bits + 8 / block (BFP6-B16 6.5, BFP4-B16 4.5, MXFP4 4.25, MXINT8 8.25).
double block_bits_per_element(const BlockSpec& spec);
// Memory density vs FP32: 32 / block_bits_per_element (BFP6-B16 4.92x).
double block_memory_density(const BlockSpec& spec);
// Bits to store [rows, cols] with every row padded to whole blocks: rows * blocks_per_row *
// (block * bits + 8) (one BFP6-B16 block: 104).
int64_t block_storage_bits(const BlockSpec& spec, int rows, int cols);

}  // namespace fq
