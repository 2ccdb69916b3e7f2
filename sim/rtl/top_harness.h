// Runs a compiled tile program on a Verilated fq_top: loads the instructions through the
// instruction port (each with its per-unit dependency counts), serves the DRAM port from a
// MemoryImage with the bandwidth and latency rule of docs/architecture.md "DMA and DRAM", and
// records the cycle each op completes. Cycle 0 is the first cycle the controller runs.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"
#include "sim/rtl/fq_isa.h"
#include "sim/rtl/rtl_harness.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace fq::rtl {

inline uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct TopRun {
  std::vector<uint64_t> done;  // per op: first cycle it counts as done
  uint64_t total_cycles = 0;
  uint64_t pulses = 0;         // PE additions counted from the RTL, cycle by cycle
  uint64_t pe_valid_cycles = 0;
  // PE register writes, from the PEs' write enables (rtl/fq_pe_*.v), summed over PEs and cycles.
  uint64_t psum_writes = 0;    // 32-bit partial sums
  uint64_t operand_writes = 0; // activation and tag
  uint64_t valid_writes = 0;   // valid bits
  uint64_t weight_writes = 0;  // weight sets (preload writes and clears)
  uint64_t skew_writes = 0;    // the array's skew stage registers written (skew_we, 8 bits each)
  uint64_t deskew_writes = 0;  // its deskew stage registers written (deskew_we, ACC_W bits each)
  uint64_t skew_shifts = 0;    // cycles its skew history shifts (skew_shift)
  uint64_t deskew_shifts = 0;  // cycles its deskew history shifts (deskew_shift)
  // The units' control register writes by timing::CtrlReg: cycles each enable is high (the array
  // controller's ctrl_we, fin_we, set_rows_we; the other units' unit_we), summed over slots, sets
  // and units where a group has one enable per slot, set or unit.
  std::array<uint64_t, timing::kCtrlRegs> ctrl_writes{};
};

// The fields of op `id` in the RTL's instruction word (rtl/fq_isa.def), with `need[u]`: how
// many of unit u's ops must be done before it issues. isa::encode() keeps only its unit's fields.
inline isa::Instr instr_of(const ir::TileProgram& p, ir::OpId id, const std::array<uint32_t, 4>& need) {
  static_assert(isa::kOpDmaLoad == static_cast<uint32_t>(ir::Opcode::kDmaLoad) &&
                isa::kOpDmaStore == static_cast<uint32_t>(ir::Opcode::kDmaStore) &&
                isa::kOpPreload == static_cast<uint32_t>(ir::Opcode::kPreload) &&
                isa::kOpMatmul == static_cast<uint32_t>(ir::Opcode::kMatmul) &&
                isa::kOpDequant == static_cast<uint32_t>(ir::Opcode::kDequant));
  static_assert(isa::kUnitDmaIn == static_cast<int>(ir::Unit::kDmaIn) &&
                isa::kUnitArray == static_cast<int>(ir::Unit::kArray) &&
                isa::kUnitEpilogue == static_cast<int>(ir::Unit::kEpilogue) &&
                isa::kUnitDmaOut == static_cast<int>(ir::Unit::kDmaOut));
  const ir::TileOp& op = p.op(id);
  isa::Instr in;
  in.opcode = static_cast<uint64_t>(op.opcode);
  if (op.opcode == ir::Opcode::kPreload || op.opcode == ir::Opcode::kMatmul) {
    const HwFormat f = p.gemms[op.gemm].format;
    in.fmt = f == HwFormat::kFineqR ? 0 : static_cast<uint64_t>(format_int_bits(f));
  }
  in.buf = static_cast<uint64_t>(op.buf);
  in.acc = op.acc;
  in.src = op.src;
  in.src_stride = op.src_stride;
  in.dst = op.dst;
  in.dst_stride = op.dst_stride;
  in.rows = op.rows;
  in.bytes = op.bytes;
  in.m = op.m;
  in.k = op.k;
  in.n = op.n;
  in.ws = op.ws;
  in.as = op.as;
  in.need_dma_in = need[isa::kUnitDmaIn];
  in.need_array = need[isa::kUnitArray];
  in.need_epilogue = need[isa::kUnitEpilogue];
  in.need_dma_out = need[isa::kUnitDmaOut];
  return in;
}

// The instruction word of op `id` (rtl/fq_isa.def).
inline isa::Word encode(const ir::TileProgram& p, ir::OpId id, const std::array<uint32_t, 4>& need) {
  return isa::encode(instr_of(p, id, need));
}

// stall_percent > 0 makes the DRAM withhold read data in that share of the cycles (seeded):
// results must not change, cycle counts then do.
// With `wave`, it is called with the time of every half cycle of the run, to dump a waveform (a
// traced model's VerilatedFstC::dump): the harness itself needs no tracing library, so a runner
// built without --trace-fst uses it too.
// `idepth` is the model's IDEPTH: the instructions one unit's memory holds. A run in which no
// op completes for 2^22 cycles is reported as a deadlock.
template <typename V>
TopRun run_top(V& top, const ir::TileProgram& p, const ArchConfig& arch, ir::MemoryImage& mem,
               int stall_percent = 0, uint64_t seed = 1, const std::function<void(uint64_t)>& wave = {},
               uint64_t idepth = 4096) {
  uint64_t stall_state = seed;
  uint64_t wave_time = 0;
  auto dump = [&] {
    if (wave) wave(wave_time++);
  };
  // Per-unit instruction streams and dependency counts (units complete in order, so "op d is
  // done" is "at least seq(d) + 1 ops of d's unit are done").
  std::array<std::vector<ir::OpId>, 4> stream;
  std::vector<uint32_t> seq(p.size());
  for (ir::OpId id = 0; id < p.size(); ++id) {
    auto& s = stream[static_cast<size_t>(ir::unit_of(p.op(id).opcode))];
    seq[id] = static_cast<uint32_t>(s.size());
    s.push_back(id);
  }
  for (size_t u = 0; u < 4; ++u) {
    if (stream[u].size() > idepth) {
      throw std::runtime_error("the program has " + std::to_string(stream[u].size()) + " " +
                               ir::unit_name(static_cast<ir::Unit>(u)) + " ops; the RTL instruction memory holds " +
                               std::to_string(idepth));
    }
  }
  // The run-time configuration (rtl/fq_top.v): the model's parameters are capacities at least these.
  top.tile_window = arch.window == BeatWindow::kTile ? 1 : 0;
  top.wbuf_bytes = static_cast<uint32_t>(arch.weight_bytes);
  top.abuf_bytes = static_cast<uint32_t>(arch.act_bytes);
  top.obuf_bytes = static_cast<uint32_t>(arch.out_bytes);
  top.sbuf_bytes = static_cast<uint32_t>(arch.scale_bytes);
  top.dram_bytes = static_cast<uint32_t>(arch.dram_bytes_per_cycle);
  top.dram_lat = static_cast<uint32_t>(arch.dram_latency_cycles);
  top.rst = 1;
  top.start = 0;
  top.iw_en = 0;
  top.cfg_en = 0;
  top.rd_valid = 0;
  tick(top);
  tick(top);
  top.rst = 0;
  for (size_t u = 0; u < 4; ++u) {
    for (size_t i = 0; i < stream[u].size(); ++i) {
      const ir::OpId id = stream[u][i];
      std::array<uint32_t, 4> need{};
      for (ir::OpId d : p.deps(id)) {
        const auto du = static_cast<size_t>(ir::unit_of(p.op(d).opcode));
        need[du] = std::max(need[du], seq[d] + 1);
      }
      const auto w = encode(p, id, need);
      top.iw_en = 1;
      top.iw_unit = static_cast<uint8_t>(u);
      top.iw_addr = static_cast<std::remove_reference_t<decltype(top.iw_addr)>>(i);
      for (size_t k = 0; k < w.size(); ++k) put(top.iw_data, static_cast<int>(32 * k), 32, w[k]);
      tick(top);
    }
    top.iw_en = 0;
    top.cfg_en = 1;
    top.cfg_unit = static_cast<uint8_t>(u);
    top.cfg_count = static_cast<uint32_t>(stream[u].size());
    tick(top);
  }
  top.cfg_en = 0;
  top.start = 1;
  tick(top);
  top.start = 0;

  struct Read {
    uint64_t addr, stride, rows, bytes, ready, row = 0, off = 0;
  };
  std::deque<Read> reads;
  const auto B = static_cast<uint64_t>(arch.dram_bytes_per_cycle);
  const auto L = static_cast<uint64_t>(arch.dram_latency_cycles);
  TopRun run;
  run.done.assign(p.size(), 0);
  std::array<uint32_t, 4> seen{};
  std::vector<uint8_t> chunk(B);
  uint64_t last_progress = 0;
  const auto slots = static_cast<int>(std::bit_ceil(static_cast<uint64_t>(arch.rows + arch.cols + 4)));  // fq_array_ctrl SD
  for (uint64_t c = 0;; ++c) {
    if (c > last_progress + (uint64_t{1} << 22)) {
      throw std::runtime_error("fq_top: no op completed for 2^22 cycles at cycle " + std::to_string(c) + " (deadlock)");
    }
    top.clk = 0;
    top.rd_valid = 0;
    top.eval();
    dump();
    if (top.finished) {
      run.total_cycles = c;
      break;
    }
    if (top.rd_req) {
      reads.push_back({top.rd_req_addr, top.rd_req_stride, top.rd_req_rows, top.rd_req_bytes, c + L});
    }
    const bool stall = stall_percent > 0 && static_cast<int>(splitmix(stall_state) % 100) < stall_percent;
    if (!reads.empty() && reads.front().ready <= c && !stall) {
      Read& r = reads.front();
      const uint64_t n = std::min(B, r.bytes - r.off);
      std::fill(chunk.begin(), chunk.end(), uint8_t{0});
      mem.read(r.addr + r.row * r.stride + r.off, {chunk.data(), n});
      top.rd_valid = 1;
      for (uint64_t b = 0; b < B; ++b) put(top.rd_data, static_cast<int>(8 * b), 8, chunk[b]);
      r.off += n;
      if (r.off == r.bytes) {
        r.off = 0;
        if (++r.row == r.rows) reads.pop_front();
      }
    }
    top.eval();
    if (top.wr_valid) {
      for (uint64_t b = 0; b < top.wr_len; ++b) chunk[b] = static_cast<uint8_t>(get(top.wr_data, static_cast<int>(8 * b), 8));
      mem.write(top.wr_addr, {chunk.data(), static_cast<size_t>(top.wr_len)});
    }
    const int pes = arch.rows * arch.cols;
    run.pulses += popcount(top.pulses, pes);
    run.pe_valid_cycles += popcount(top.pe_valid, pes);
    run.psum_writes += popcount(top.psum_we, pes);
    run.operand_writes += popcount(top.opnd_we, pes);
    run.valid_writes += popcount(top.valid_we, pes);
    run.weight_writes += popcount(top.w_we, pes);
    // Skew stage s sits in rows s+1..R-1, deskew diagonal k holds k+1 stages (rtl/fq_array.v).
    for (int s = 0; s + 1 < arch.rows; ++s) run.skew_writes += get(top.skew_we, s, 1) * static_cast<uint64_t>(arch.rows - 1 - s);
    for (int k = 0; k + 1 < arch.cols; ++k) run.deskew_writes += get(top.deskew_we, k, 1) * static_cast<uint64_t>(k + 1);
    run.skew_shifts += top.skew_shift;
    run.deskew_shifts += top.deskew_shift;
    for (int e = 0; e < static_cast<int>(timing::CtrlReg::kFin); ++e) {  // ctrl_we: the groups before kFin
      run.ctrl_writes[static_cast<size_t>(e)] += get(top.ctrl_we, e, 1);
    }
    run.ctrl_writes[static_cast<size_t>(timing::CtrlReg::kFin)] += popcount(top.fin_we, slots);
    run.ctrl_writes[static_cast<size_t>(timing::CtrlReg::kSetRows)] += popcount(top.set_rows_we, arch.weight_sets);
    // The other units (fq_top `unit_we`): 4 instruction-pointer and 4 done-count enables, then one
    // bit per group from kDinIssue on.
    run.ctrl_writes[static_cast<size_t>(timing::CtrlReg::kCtlIssue)] += static_cast<uint64_t>(std::popcount(get(top.unit_we, 0, 4)));
    run.ctrl_writes[static_cast<size_t>(timing::CtrlReg::kCtlDone)] += static_cast<uint64_t>(std::popcount(get(top.unit_we, 4, 4)));
    for (size_t g = static_cast<size_t>(timing::CtrlReg::kDinIssue); g < timing::kCtrlRegs; ++g) {
      run.ctrl_writes[g] += get(top.unit_we, static_cast<int>(8 + g - static_cast<size_t>(timing::CtrlReg::kDinIssue)), 1);
    }
    top.clk = 1;
    top.eval();
    dump();
    for (size_t u = 0; u < 4; ++u) {
      const auto now = static_cast<uint32_t>(get(top.done_count, static_cast<int>(32 * u), 32));
      while (seen[u] < now) {
        run.done[stream[u][seen[u]++]] = c + 1;
        last_progress = c;
      }
    }
  }
  return run;
}

}  // namespace fq::rtl
