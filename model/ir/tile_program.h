// TileProgram: the accelerator's instruction stream (docs/isa.md), the contract between the
// compiler and every engine (golden, fast, SystemC, Verilog).
// Contract: an op's id is its index; its deps name earlier ops; the fields an opcode does not
// use (op_fields()) are zero, so parse(print(p)) == p. check()/verify() (verifier.h) decide
// whether a program is executable on a given ArchConfig; nothing here validates.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/quant/encoded_matrix.h"

namespace fq::ir {

inline constexpr int kTirVersion = 1;  // the `fqtir <version>` line; see docs/isa.md "Version policy"

using OpId = uint32_t;

enum class Opcode : uint8_t { kDmaLoad, kDmaStore, kPreload, kMatmul, kOsMatmul, kDequant };
inline constexpr int kNumOpcodes = 6;

// Units issue their ops in program order and complete them in order (docs/isa.md "Units").
enum class Unit : uint8_t { kDmaIn, kArray, kEpilogue, kDmaOut };
inline constexpr int kNumUnits = 4;

// On-chip buffers, each byte addressed from 0.
enum class Buffer : uint8_t { kWbuf, kAbuf, kObuf, kSbuf };
inline constexpr int kNumBuffers = 4;

// Every named operand of any opcode, in the canonical text order. An opcode uses a subset
// (op_fields()), always in this relative order.
enum class Field : uint8_t {
  kGemm, kBuf, kSrc, kSrcStride, kWSrc, kWStride, kWs, kAs, kDst, kDstStride,
  kRows, kBytes, kM0, kM, kK0, kK, kN0, kN, kAcc
};
inline constexpr int kNumFields = 19;

// One instruction. Member order = Field order, so designated initializers can list an
// opcode's fields in their text order: TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 0, ...}.
// Addresses: `src`/`dst` are DRAM byte addresses for the DMA side that touches DRAM, buffer byte
// addresses otherwise. Strides are bytes between consecutive rows of a 2-D region.
struct TileOp {
  Opcode opcode = Opcode::kDmaLoad;
  uint32_t gemm = 0;         // index into TileProgram::gemms (all but DMA ops)
  Buffer buf = Buffer::kWbuf;  // dma.load: wbuf | abuf | sbuf; dma.store: obuf
  uint64_t src = 0;          // first source byte
  uint32_t src_stride = 0;   // bytes between source rows
  uint32_t w_src = 0;        // os.matmul: wbuf address of the weight tile
  uint32_t w_stride = 0;     // os.matmul: wbuf bytes between weight rows
  uint32_t ws = 0;           // dequant: sbuf address of n FP16 weight scales
  uint32_t as = 0;           // dequant: sbuf address of m FP32 activation scales
  uint64_t dst = 0;          // first destination byte
  uint32_t dst_stride = 0;   // bytes between destination rows
  uint32_t rows = 0;         // DMA: rows moved
  uint32_t bytes = 0;        // DMA: bytes per row
  uint32_t m0 = 0, m = 0;    // first M index, M extent of the tile
  uint32_t k0 = 0, k = 0;    // first K index, K extent
  uint32_t n0 = 0, n = 0;    // first N index, N extent
  uint8_t acc = 0;           // matmul, os.matmul: 1 adds to dst, 0 overwrites

  bool operator==(const TileOp&) const = default;
};

// One GEMM acc[M][N] = A[M][K] . W[N][K]^T and its DRAM layout (docs/isa.md "GEMM table").
struct GemmDesc {
  std::string name;                    // a token: printable ASCII without space, '#', '='
  HwFormat format = HwFormat::kFineqR;
  uint32_t m = 0, n = 0, k = 0;
  uint64_t w_addr = 0;    // N rows of weight_row_bytes(format, K) codes, row-major, no gaps
  uint64_t ws_addr = 0;   // N FP16 weight row scales
  uint64_t a_addr = 0;    // M rows of a_stride bytes: INT8 activations, zero beyond K
  uint32_t a_stride = 0;  // >= K
  uint64_t as_addr = 0;   // M FP32 activation row scales
  uint64_t acc_addr = 0;  // M x N int32 accumulators, row-major
  uint64_t y_addr = 0;    // M x N FP32 dequantised outputs, row-major

  bool operator==(const GemmDesc&) const = default;
};

class TileProgram {
 public:
  int version = kTirVersion;
  std::string arch_fingerprint;  // 16 lowercase hex digits: fingerprint() of the target arch
  std::string arch_name;         // a token, informative only
  std::vector<GemmDesc> gemms;

  // Appends an op and returns its id (= index). Deps are stored as given (check() validates).
  OpId add(const TileOp& op, std::span<const OpId> deps = {});
  OpId add(const TileOp& op, std::initializer_list<OpId> deps) {
    return add(op, std::span<const OpId>(deps.begin(), deps.size()));
  }

  size_t size() const { return m_ops.size(); }
  const std::vector<TileOp>& ops() const { return m_ops; }
  const TileOp& op(OpId id) const { return m_ops[id]; }
  TileOp& op(OpId id) { return m_ops[id]; }
  std::span<const OpId> deps(OpId id) const {
    return {m_deps.data() + m_dep_begin[id], m_deps.data() + m_dep_begin[id + 1]};
  }
  size_t total_deps() const { return m_deps.size(); }
  // Replaces the deps of one op; O(total deps), meant for tools and tests, not for emission.
  void set_deps(OpId id, std::span<const OpId> deps);
  void reserve(size_t ops, size_t deps);

  bool operator==(const TileProgram&) const = default;

 private:
  std::vector<TileOp> m_ops;
  std::vector<uint32_t> m_dep_begin{0};  // size() + 1 offsets into m_deps
  std::vector<OpId> m_deps;
};

// Names used in the text form and in messages.
const char* opcode_name(Opcode opcode);  // "dma.load", "dma.store", "preload", "matmul", "os.matmul", "dequant"
const char* unit_name(Unit unit);        // "dma_in", "array", "epilogue", "dma_out"
const char* buffer_name(Buffer buffer);  // "wbuf", "abuf", "obuf", "sbuf"
const char* field_name(Field field);     // "gemm", "buf", "src", "src_stride", ...

Unit unit_of(Opcode opcode);
// The fields an opcode uses, in canonical text order.
std::span<const Field> op_fields(Opcode opcode);
bool op_uses(Opcode opcode, Field field);
// Field access by name for generic code (printer, parser, tools). `kBuf` reads as the enum value.
uint64_t get_field(const TileOp& op, Field field);
void set_field(TileOp& op, Field field, uint64_t value);  // truncates to the member's width
uint64_t field_max(Field field);   // largest value the member holds (kAcc: 1, kBuf: 3)
bool field_is_address(Field field);  // printed in hex

// Bytes of one weight row holding `k` consecutive weights starting on a cluster (FineQ-R) or a
// byte (INTb): ceil(k / 3) or ceil(k * B / 8).
uint64_t weight_row_bytes(HwFormat format, uint64_t k);
// Names usable in the text form: 1..255 printable ASCII characters except space, '#', '='.
bool is_token(std::string_view name);

}  // namespace fq::ir
