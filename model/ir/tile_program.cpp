#include "model/ir/tile_program.h"

#include <array>
#include <limits>

#include "model/core/error.h"

namespace fq::ir {
namespace {

using F = Field;
constexpr F kDmaFields[] = {F::kBuf, F::kSrc, F::kSrcStride, F::kDst, F::kDstStride, F::kRows, F::kBytes};
constexpr F kPreloadFields[] = {F::kGemm, F::kSrc, F::kSrcStride, F::kK0, F::kK, F::kN0, F::kN};
constexpr F kMatmulFields[] = {F::kGemm, F::kSrc, F::kSrcStride, F::kDst, F::kDstStride, F::kM0, F::kM, F::kAcc};
constexpr F kOsMatmulFields[] = {F::kGemm, F::kSrc, F::kSrcStride, F::kWSrc, F::kWStride, F::kDst, F::kDstStride,
                                 F::kM0,   F::kM,   F::kK0,        F::kK,    F::kN0,      F::kN,   F::kAcc};
constexpr F kDequantFields[] = {F::kGemm, F::kSrc, F::kSrcStride, F::kWs, F::kAs, F::kDst, F::kDstStride,
                                F::kM0,   F::kM,   F::kN0,        F::kN};

constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();

}  // namespace

OpId TileProgram::add(const TileOp& op, std::span<const OpId> deps) {
  if (m_ops.size() >= kU32Max - 1 || m_deps.size() + deps.size() >= kU32Max) {
    fail("tile program: more than 2^32 - 2 ops or 2^32 - 1 deps");
  }
  m_ops.push_back(op);
  m_deps.insert(m_deps.end(), deps.begin(), deps.end());
  m_dep_begin.push_back(static_cast<uint32_t>(m_deps.size()));
  return static_cast<OpId>(m_ops.size() - 1);
}

void TileProgram::set_deps(OpId id, std::span<const OpId> deps) {
  if (id >= m_ops.size()) fail("tile program: set_deps on op {} of {}", id, m_ops.size());
  const uint32_t begin = m_dep_begin[id];
  const uint32_t end = m_dep_begin[id + 1];
  const std::vector<OpId> copy(deps.begin(), deps.end());  // deps may alias m_deps
  m_deps.erase(m_deps.begin() + begin, m_deps.begin() + end);
  m_deps.insert(m_deps.begin() + begin, copy.begin(), copy.end());
  const int64_t delta = static_cast<int64_t>(copy.size()) - static_cast<int64_t>(end - begin);
  for (size_t i = id + 1; i < m_dep_begin.size(); ++i) {
    m_dep_begin[i] = static_cast<uint32_t>(static_cast<int64_t>(m_dep_begin[i]) + delta);
  }
}

void TileProgram::reserve(size_t ops, size_t deps) {
  m_ops.reserve(ops);
  m_dep_begin.reserve(ops + 1);
  m_deps.reserve(deps);
}

const char* opcode_name(Opcode opcode) {
  switch (opcode) {
    case Opcode::kDmaLoad: return "dma.load";
    case Opcode::kDmaStore: return "dma.store";
    case Opcode::kPreload: return "preload";
    case Opcode::kMatmul: return "matmul";
    case Opcode::kOsMatmul: return "os.matmul";
    case Opcode::kDequant: return "dequant";
  }
  return "invalid";
}

const char* unit_name(Unit unit) {
  switch (unit) {
    case Unit::kDmaIn: return "dma_in";
    case Unit::kArray: return "array";
    case Unit::kEpilogue: return "epilogue";
    case Unit::kDmaOut: return "dma_out";
  }
  return "invalid";
}

const char* buffer_name(Buffer buffer) {
  switch (buffer) {
    case Buffer::kWbuf: return "wbuf";
    case Buffer::kAbuf: return "abuf";
    case Buffer::kObuf: return "obuf";
    case Buffer::kSbuf: return "sbuf";
  }
  return "invalid";
}

const char* field_name(Field field) {
  static constexpr const char* kNames[kNumFields] = {"gemm", "buf", "src", "src_stride", "w_src", "w_stride", "ws",
                                                     "as", "dst", "dst_stride", "rows", "bytes", "m0", "m",
                                                     "k0", "k", "n0", "n", "acc"};
  const auto i = static_cast<size_t>(field);
  return i < kNumFields ? kNames[i] : "invalid";
}

Unit unit_of(Opcode opcode) {
  switch (opcode) {
    case Opcode::kDmaLoad: return Unit::kDmaIn;
    case Opcode::kDmaStore: return Unit::kDmaOut;
    case Opcode::kPreload:
    case Opcode::kMatmul:
    case Opcode::kOsMatmul: return Unit::kArray;
    case Opcode::kDequant: return Unit::kEpilogue;
  }
  fail("invalid opcode {}", static_cast<int>(opcode));
}

std::span<const Field> op_fields(Opcode opcode) {
  switch (opcode) {
    case Opcode::kDmaLoad:
    case Opcode::kDmaStore: return kDmaFields;
    case Opcode::kPreload: return kPreloadFields;
    case Opcode::kMatmul: return kMatmulFields;
    case Opcode::kOsMatmul: return kOsMatmulFields;
    case Opcode::kDequant: return kDequantFields;
  }
  fail("invalid opcode {}", static_cast<int>(opcode));
}

bool op_uses(Opcode opcode, Field field) {
  static const auto kMasks = [] {
    std::array<uint32_t, kNumOpcodes> masks{};
    for (int o = 0; o < kNumOpcodes; ++o) {
      for (const Field f : op_fields(static_cast<Opcode>(o))) masks[static_cast<size_t>(o)] |= 1u << static_cast<int>(f);
    }
    return masks;
  }();
  const auto o = static_cast<size_t>(opcode);
  return o < kNumOpcodes && (kMasks[o] >> static_cast<int>(field) & 1u) != 0;
}

uint64_t get_field(const TileOp& op, Field field) {
  switch (field) {
    case F::kGemm: return op.gemm;
    case F::kBuf: return static_cast<uint64_t>(op.buf);
    case F::kSrc: return op.src;
    case F::kSrcStride: return op.src_stride;
    case F::kWSrc: return op.w_src;
    case F::kWStride: return op.w_stride;
    case F::kWs: return op.ws;
    case F::kAs: return op.as;
    case F::kDst: return op.dst;
    case F::kDstStride: return op.dst_stride;
    case F::kRows: return op.rows;
    case F::kBytes: return op.bytes;
    case F::kM0: return op.m0;
    case F::kM: return op.m;
    case F::kK0: return op.k0;
    case F::kK: return op.k;
    case F::kN0: return op.n0;
    case F::kN: return op.n;
    case F::kAcc: return op.acc;
  }
  return 0;
}

void set_field(TileOp& op, Field field, uint64_t value) {
  const auto u32 = static_cast<uint32_t>(value);
  switch (field) {
    case F::kGemm: op.gemm = u32; break;
    case F::kBuf: op.buf = static_cast<Buffer>(value); break;
    case F::kSrc: op.src = value; break;
    case F::kSrcStride: op.src_stride = u32; break;
    case F::kWSrc: op.w_src = u32; break;
    case F::kWStride: op.w_stride = u32; break;
    case F::kWs: op.ws = u32; break;
    case F::kAs: op.as = u32; break;
    case F::kDst: op.dst = value; break;
    case F::kDstStride: op.dst_stride = u32; break;
    case F::kRows: op.rows = u32; break;
    case F::kBytes: op.bytes = u32; break;
    case F::kM0: op.m0 = u32; break;
    case F::kM: op.m = u32; break;
    case F::kK0: op.k0 = u32; break;
    case F::kK: op.k = u32; break;
    case F::kN0: op.n0 = u32; break;
    case F::kN: op.n = u32; break;
    case F::kAcc: op.acc = static_cast<uint8_t>(value); break;
  }
}

uint64_t field_max(Field field) {
  switch (field) {
    case F::kSrc:
    case F::kDst: return std::numeric_limits<uint64_t>::max();
    case F::kBuf: return kNumBuffers - 1;
    case F::kAcc: return 1;
    default: return kU32Max;
  }
}

bool field_is_address(Field field) {
  return field == F::kSrc || field == F::kDst || field == F::kWSrc || field == F::kWs || field == F::kAs;
}

uint64_t weight_row_bytes(HwFormat format, uint64_t k) {
  if (format == HwFormat::kFineqR) return (k + 2) / 3;
  return (k * static_cast<uint64_t>(format_int_bits(format)) + 7) / 8;
}

bool is_token(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (const char c : name) {
    if (c <= ' ' || c > '~' || c == '#' || c == '=') return false;
  }
  return true;
}

}  // namespace fq::ir
