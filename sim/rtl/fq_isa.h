// Generated from rtl/fq_isa.def by cmake/FqIsa.cmake (cmake --build build --target fq_isa): do not edit.
// The instruction word of rtl/fq_top.v as C++: Instr holds every field of any unit, encode() packs
// the fields of the opcode's unit (and the common ones) into the word, decode() reads them back.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace fq::rtl::isa {

inline constexpr int kWordBits = 512;
using Word = std::array<uint32_t, 16>;

inline constexpr int kUnitDmaIn = 0;
inline constexpr int kUnitArray = 1;
inline constexpr int kUnitEpilogue = 2;
inline constexpr int kUnitDmaOut = 3;

inline constexpr uint32_t kOpDmaLoad = 0;  // dma.load, unit dma_in
inline constexpr uint32_t kOpDmaStore = 1;  // dma.store, unit dma_out
inline constexpr uint32_t kOpPreload = 2;  // preload, unit array
inline constexpr uint32_t kOpMatmul = 3;  // matmul, unit array
inline constexpr uint32_t kOpDequant = 5;  // dequant, unit epilogue

struct Instr {
  uint64_t opcode = 0;
  uint64_t need_dma_in = 0;
  uint64_t need_array = 0;
  uint64_t need_epilogue = 0;
  uint64_t need_dma_out = 0;
  uint64_t buf = 0;
  uint64_t src = 0;
  uint64_t src_stride = 0;
  uint64_t dst = 0;
  uint64_t dst_stride = 0;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  uint64_t acc = 0;
  uint64_t fmt = 0;
  uint64_t m = 0;
  uint64_t k = 0;
  uint64_t n = 0;
  uint64_t ws = 0;
  uint64_t as = 0;

  bool operator==(const Instr&) const = default;
};

struct Field {
  int unit;  // -1: every instruction
  const char* name;
  int lsb, width;
  uint64_t Instr::*member;
  const char* meaning;
};

inline constexpr Field kFields[] = {
    {-1, "opcode", 0, 3, &Instr::opcode, "the opcode (model/ir Opcode)"},
    {-1, "need_dma_in", 384, 32, &Instr::need_dma_in, "how many dma_in ops must be done before this op issues"},
    {-1, "need_array", 416, 32, &Instr::need_array, "how many array ops must be done before this op issues"},
    {-1, "need_epilogue", 448, 32, &Instr::need_epilogue, "how many epilogue ops must be done before this op issues"},
    {-1, "need_dma_out", 480, 32, &Instr::need_dma_out, "how many dma_out ops must be done before this op issues"},
    {0, "buf", 8, 2, &Instr::buf, "destination buffer: 0 wbuf, 1 abuf, 3 sbuf"},
    {0, "src", 32, 64, &Instr::src, "DRAM address of the first byte"},
    {0, "src_stride", 96, 32, &Instr::src_stride, "DRAM bytes between rows"},
    {0, "dst", 128, 32, &Instr::dst, "buffer address of the first byte"},
    {0, "dst_stride", 192, 32, &Instr::dst_stride, "buffer bytes between rows"},
    {0, "rows", 224, 32, &Instr::rows, "rows moved"},
    {0, "bytes", 256, 32, &Instr::bytes, "bytes per row"},
    {1, "acc", 16, 1, &Instr::acc, "matmul: 1 adds to the obuf row, 0 overwrites it"},
    {1, "fmt", 24, 4, &Instr::fmt, "weight format: 0 FineQ-R, else the INT weight bits (8, 4, 3, 2)"},
    {1, "src", 32, 32, &Instr::src, "preload: wbuf address of the tile; matmul: abuf address of row 0"},
    {1, "src_stride", 96, 32, &Instr::src_stride, "source bytes between rows"},
    {1, "dst", 128, 32, &Instr::dst, "matmul: obuf address of the first accumulator row"},
    {1, "dst_stride", 192, 32, &Instr::dst_stride, "matmul: obuf bytes between accumulator rows"},
    {1, "m", 224, 32, &Instr::m, "matmul: rows of activations streamed (M extent)"},
    {1, "k", 256, 32, &Instr::k, "K extent of the tile"},
    {1, "n", 288, 32, &Instr::n, "N extent of the tile"},
    {2, "src", 32, 32, &Instr::src, "obuf address of the first int32 accumulator row"},
    {2, "src_stride", 96, 32, &Instr::src_stride, "obuf bytes between accumulator rows"},
    {2, "dst", 128, 32, &Instr::dst, "obuf address of the first FP32 output row"},
    {2, "dst_stride", 192, 32, &Instr::dst_stride, "obuf bytes between output rows"},
    {2, "m", 224, 32, &Instr::m, "rows (M extent)"},
    {2, "n", 288, 32, &Instr::n, "columns (N extent)"},
    {2, "ws", 320, 32, &Instr::ws, "sbuf address of the n FP16 weight scales"},
    {2, "as", 352, 32, &Instr::as, "sbuf address of the m FP32 activation scales"},
    {3, "src", 32, 32, &Instr::src, "obuf address of the first byte"},
    {3, "src_stride", 96, 32, &Instr::src_stride, "obuf bytes between rows"},
    {3, "dst", 128, 64, &Instr::dst, "DRAM address of the first byte"},
    {3, "dst_stride", 192, 32, &Instr::dst_stride, "DRAM bytes between rows"},
    {3, "rows", 224, 32, &Instr::rows, "rows moved"},
    {3, "bytes", 256, 32, &Instr::bytes, "bytes per row"},
};

// The unit that runs `opcode`, or -1 when the RTL has no such opcode.
inline constexpr int unit_of_opcode(uint64_t opcode) {
  switch (opcode) {
    case 0: return 0;  // dma.load
    case 1: return 3;  // dma.store
    case 2: return 1;  // preload
    case 3: return 1;  // matmul
    case 5: return 2;  // dequant
    default: return -1;
  }
}

// The word of `in`; throws when the opcode has no RTL unit or a field's value does not fit.
inline Word encode(const Instr& in) {
  const int unit = unit_of_opcode(in.opcode);
  if (unit < 0) throw std::runtime_error("opcode " + std::to_string(in.opcode) + " has no RTL encoding");
  Word w{};
  for (const Field& f : kFields) {
    if (f.unit != -1 && f.unit != unit) continue;
    const uint64_t v = in.*f.member;
    if (f.width < 64 && (v >> f.width) != 0) {
      throw std::runtime_error(std::string("instruction field ") + f.name + " = " + std::to_string(v) +
                               " does not fit its " + std::to_string(f.width) + " bits");
    }
    for (int b = 0; b < f.width; ++b) {
      if ((v >> b) & 1) w[static_cast<size_t>((f.lsb + b) / 32)] |= uint32_t{1} << ((f.lsb + b) % 32);
    }
  }
  return w;
}

// The fields of the word's unit (the others 0); throws when the opcode has no RTL unit.
inline Instr decode(const Word& w) {
  auto get = [&](const Field& f) {
    uint64_t v = 0;
    for (int b = 0; b < f.width; ++b) v |= uint64_t{(w[static_cast<size_t>((f.lsb + b) / 32)] >> ((f.lsb + b) % 32)) & 1U} << b;
    return v;
  };
  Instr in;
  for (const Field& f : kFields) {
    if (f.unit == -1) in.*f.member = get(f);
  }
  const int unit = unit_of_opcode(in.opcode);
  if (unit < 0) throw std::runtime_error("opcode " + std::to_string(in.opcode) + " has no RTL encoding");
  for (const Field& f : kFields) {
    if (f.unit == unit) in.*f.member = get(f);
  }
  return in;
}

}  // namespace fq::rtl::isa
