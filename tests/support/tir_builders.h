// Builders of tile programs for IR tests and bench/bench_tir.cpp: small arch configs, a DRAM
// layout for GEMMs, and a complete double-buffered schedule whose deps are exactly its hazards.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "model/arch/arch_config.h"
#include "model/ir/tile_program.h"

namespace fq::test {

inline constexpr const char* kTestFingerprint = "0123456789abcdef";

inline ArchConfig ir_arch(const std::string& pe, Dataflow dataflow, int rows, int cols, int weight_bits = 8) {
  ArchConfig a;
  a.name = "ir_test";
  a.rows = rows;
  a.cols = cols;
  a.pe_kind = pe;
  a.weight_bits = weight_bits;
  a.dataflow = dataflow;
  a.weight_bytes = 4096;
  a.act_bytes = 8192;
  a.out_bytes = 16384;
  a.scale_bytes = 1024;
  return a;
}

inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// Places one GEMM's six regions at `cursor` (64-byte aligned) and advances it.
inline ir::GemmDesc place_gemm(uint64_t& cursor, const std::string& name, HwFormat format, uint32_t m, uint32_t n,
                               uint32_t k) {
  ir::GemmDesc g;
  g.name = name;
  g.format = format;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a_stride = static_cast<uint32_t>(align_up(k, 16));
  const auto take = [&](uint64_t bytes) {
    const uint64_t at = align_up(cursor, 64);
    cursor = at + bytes;
    return at;
  };
  g.w_addr = take(uint64_t{n} * ir::weight_row_bytes(format, k));
  g.ws_addr = take(uint64_t{2} * n);
  g.a_addr = take(uint64_t{m} * g.a_stride);
  g.as_addr = take(uint64_t{4} * m);
  g.acc_addr = take(uint64_t{4} * m * n);
  g.y_addr = take(uint64_t{4} * m * n);
  cursor = align_up(cursor, 64);
  return g;
}

struct Tiling {
  uint32_t mt = 8, nt = 8, kt = 6;
};

// Bytes that make room for `tiling` in every buffer of `arch` (two slots of everything).
inline void size_buffers(ArchConfig& arch, HwFormat format, const Tiling& t) {
  arch.weight_bytes = static_cast<int64_t>(2 * t.nt * ir::weight_row_bytes(format, t.kt));
  arch.act_bytes = static_cast<int64_t>(2 * t.mt * t.kt);
  arch.out_bytes = static_cast<int64_t>(4 * 4 * t.mt * t.nt);
  arch.scale_bytes = static_cast<int64_t>(2 * align_up(2 * t.nt, 4) + 2 * 4 * t.mt);
}

// Every GEMM of `program.gemms`, tile by tile: weight and activation tiles double-buffered in
// wbuf/abuf, two accumulator and two output slots in obuf, two scale slots in sbuf; each tile's
// acc and y are stored to DRAM. ws dataflow: preload + matmul; os dataflow: os.matmul. Deps are
// exactly the RAW/WAR/WAW pairs between units, so check() accepts the result.
inline void schedule_all(ir::TileProgram& p, const ArchConfig& arch, const Tiling& t) {
  using namespace ir;
  const bool os = arch.dataflow == Dataflow::kOutputStationary;
  uint32_t w_slot_stride = 1;
  for (const GemmDesc& g : p.gemms) {
    w_slot_stride = std::max(w_slot_stride, static_cast<uint32_t>(weight_row_bytes(g.format, t.kt)));
  }
  const uint64_t w_slot = uint64_t{t.nt} * w_slot_stride;
  const uint64_t a_slot = uint64_t{t.mt} * t.kt;
  const uint64_t o_slot = uint64_t{4} * t.mt * t.nt;
  const uint64_t ws_slot = align_up(2 * t.nt, 4);
  const uint64_t as_base = 2 * ws_slot;
  const uint64_t as_slot = uint64_t{4} * t.mt;
  constexpr OpId kNone = ~OpId{0};
  OpId w_reader[2] = {kNone, kNone};    // last op reading each wbuf slot
  OpId a_reader[2] = {kNone, kNone};    // ... each abuf slot
  OpId acc_readers[2][2] = {{kNone, kNone}, {kNone, kNone}};  // dequant and store of each acc slot
  OpId y_reader[2] = {kNone, kNone};    // store of each y slot
  OpId s_reader[2] = {kNone, kNone};    // dequant reading each scale slot
  uint64_t step = 0;
  uint64_t tile = 0;
  std::vector<OpId> deps;
  const auto dep = [&](OpId id) {
    if (id != kNone) deps.push_back(id);
  };
  for (uint32_t g = 0; g < p.gemms.size(); ++g) {
    const GemmDesc gd = p.gemms[g];
    const uint64_t row_bytes = weight_row_bytes(gd.format, gd.k);
    for (uint32_t m0 = 0; m0 < gd.m; m0 += t.mt) {
      const uint32_t m = std::min(t.mt, gd.m - m0);
      for (uint32_t n0 = 0; n0 < gd.n; n0 += t.nt) {
        const uint32_t n = std::min(t.nt, gd.n - n0);
        const int ts = static_cast<int>(tile++ % 2);
        OpId last_mm = kNone;
        for (uint32_t k0 = 0; k0 < gd.k; k0 += t.kt) {
          const uint32_t k = std::min(t.kt, gd.k - k0);
          const int s = static_cast<int>(step++ % 2);
          const uint64_t k_byte = gd.format == HwFormat::kFineqR ? k0 / 3 : uint64_t{k0} * format_int_bits(gd.format) / 8;
          deps.clear();
          dep(w_reader[s]);
          const OpId wl = p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kWbuf,
                                       .src = gd.w_addr + n0 * row_bytes + k_byte,
                                       .src_stride = static_cast<uint32_t>(row_bytes), .dst = s * w_slot,
                                       .dst_stride = w_slot_stride, .rows = n,
                                       .bytes = static_cast<uint32_t>(weight_row_bytes(gd.format, k))},
                                deps);
          deps.clear();
          dep(a_reader[s]);
          const OpId al = p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf,
                                       .src = gd.a_addr + uint64_t{m0} * gd.a_stride + k0, .src_stride = gd.a_stride,
                                       .dst = s * a_slot, .dst_stride = t.kt, .rows = m, .bytes = k},
                                deps);
          deps.clear();
          dep(al);
          dep(wl);
          if (k0 == 0) {
            dep(acc_readers[ts][0]);
            dep(acc_readers[ts][1]);
          }
          const auto acc = static_cast<uint8_t>(k0 > 0);
          if (os) {
            last_mm = p.add(TileOp{.opcode = Opcode::kOsMatmul, .gemm = g, .src = s * a_slot, .src_stride = t.kt,
                                   .w_src = static_cast<uint32_t>(s * w_slot), .w_stride = w_slot_stride,
                                   .dst = ts * o_slot, .dst_stride = 4 * n, .m0 = m0, .m = m, .k0 = k0, .k = k,
                                   .n0 = n0, .n = n, .acc = acc},
                            deps);
            w_reader[s] = last_mm;
          } else {
            const OpId pl = p.add(TileOp{.opcode = Opcode::kPreload, .gemm = g, .src = s * w_slot,
                                         .src_stride = w_slot_stride, .k0 = k0, .k = k, .n0 = n0, .n = n},
                                  {wl});
            w_reader[s] = pl;
            deps.erase(std::find(deps.begin(), deps.end(), wl));
            last_mm = p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = g, .src = s * a_slot, .src_stride = t.kt,
                                   .dst = ts * o_slot, .dst_stride = 4 * n, .m0 = m0, .m = m, .acc = acc},
                            deps);
          }
          a_reader[s] = last_mm;
        }
        deps.clear();
        dep(s_reader[ts]);
        const OpId wsl = p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kSbuf, .src = gd.ws_addr + 2 * n0,
                                      .dst = ts * ws_slot, .rows = 1, .bytes = 2 * n},
                               deps);
        const OpId asl = p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kSbuf, .src = gd.as_addr + 4 * m0,
                                      .dst = as_base + ts * as_slot, .rows = 1, .bytes = 4 * m},
                               deps);
        deps.clear();
        dep(last_mm);
        dep(wsl);
        dep(asl);
        dep(y_reader[ts]);
        const OpId dq = p.add(TileOp{.opcode = Opcode::kDequant, .gemm = g, .src = ts * o_slot, .src_stride = 4 * n,
                                     .ws = static_cast<uint32_t>(ts * ws_slot),
                                     .as = static_cast<uint32_t>(as_base + ts * as_slot),
                                     .dst = (2 + ts) * o_slot, .dst_stride = 4 * n, .m0 = m0, .m = m, .n0 = n0,
                                     .n = n},
                              deps);
        s_reader[ts] = dq;
        const OpId sa = p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = ts * o_slot,
                                     .src_stride = 4 * n, .dst = gd.acc_addr + 4 * (uint64_t{m0} * gd.n + n0),
                                     .dst_stride = 4 * gd.n, .rows = m, .bytes = 4 * n},
                              {last_mm});
        const OpId sy = p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = (2 + ts) * o_slot,
                                     .src_stride = 4 * n, .dst = gd.y_addr + 4 * (uint64_t{m0} * gd.n + n0),
                                     .dst_stride = 4 * gd.n, .rows = m, .bytes = 4 * n},
                              {dq});
        acc_readers[ts][0] = dq;
        acc_readers[ts][1] = sa;
        y_reader[ts] = sy;
      }
    }
  }
}

}  // namespace fq::test
