#include "sim/divergence.h"

#include "model/ir/tir_text.h"

#include <fmt/format.h>

#include <cmath>

namespace fq::sim {
namespace {

using Kind = Divergence::Kind;

Divergence make(Kind kind, const EngineResult& a, const EngineResult& b, std::string message) {
  Divergence d;
  d.kind = kind;
  d.a = a.engine;
  d.b = b.engine;
  d.message = fmt::format("{} vs {}: {}", a.engine, b.engine, message);
  return d;
}

// The dma.store that wrote DRAM byte `addr`, for the context of a divergence.
std::optional<ir::OpId> store_of(const ir::TileProgram& p, uint64_t addr) {
  for (ir::OpId id = 0; id < p.size(); ++id) {
    const auto& op = p.op(id);
    if (op.opcode != ir::Opcode::kDmaStore) continue;
    for (uint64_t r = 0; r < op.rows; ++r) {
      const uint64_t base = op.dst + r * op.dst_stride;
      if (addr >= base && addr < base + op.bytes) return id;
    }
  }
  return std::nullopt;
}

std::string op_context(const ir::TileProgram& p, ir::OpId id) {
  const auto& op = p.op(id);
  if (op.opcode == ir::Opcode::kMatmul || op.opcode == ir::Opcode::kDequant) {
    return fmt::format(" (gemm {}, rows {}..{})", p.gemms[op.gemm].name, op.m0, op.m0 + op.m - 1);
  }
  if (op.opcode == ir::Opcode::kPreload) return fmt::format(" (gemm {}, tile k0 {} n0 {})", p.gemms[op.gemm].name, op.k0, op.n0);
  return "";
}

// The first counter in which two action counts differ, "name x and y".
std::optional<std::string> first_action_difference(const timing::ActionCounts& x, const timing::ActionCounts& y) {
  const std::pair<const char*, uint64_t timing::ActionCounts::*> fields[] = {
      {"dram_read_bytes", &timing::ActionCounts::dram_read_bytes}, {"dram_write_bytes", &timing::ActionCounts::dram_write_bytes},
      {"decoder_bytes", &timing::ActionCounts::decoder_bytes},     {"pe_pulses", &timing::ActionCounts::pe_pulses},
      {"pe_idle_cycles", &timing::ActionCounts::pe_idle_cycles},   {"pe_macs", &timing::ActionCounts::pe_macs},
      {"pe_idle_beats", &timing::ActionCounts::pe_idle_beats},     {"pe_beats", &timing::ActionCounts::pe_beats},
      {"pe_psum_writes", &timing::ActionCounts::pe_psum_writes},   {"pe_valid_clears", &timing::ActionCounts::pe_valid_clears},
      {"weight_writes", &timing::ActionCounts::weight_writes},     {"weight_clears", &timing::ActionCounts::weight_clears},
      {"dequant_elems", &timing::ActionCounts::dequant_elems},     {"array_beats", &timing::ActionCounts::array_beats},
      {"array_rows", &timing::ActionCounts::array_rows},
      {"useful_macs", &timing::ActionCounts::useful_macs}};
  for (const auto& [name, f] : fields) {
    if (x.*f != y.*f) return fmt::format("{} {} and {}", name, x.*f, y.*f);
  }
  for (size_t b = 0; b < x.buf_read_bytes.size(); ++b) {
    const std::string buf = ir::buffer_name(static_cast<ir::Buffer>(b));
    if (x.buf_read_bytes[b] != y.buf_read_bytes[b]) return fmt::format("{}_read_bytes {} and {}", buf, x.buf_read_bytes[b], y.buf_read_bytes[b]);
    if (x.buf_write_bytes[b] != y.buf_write_bytes[b]) return fmt::format("{}_write_bytes {} and {}", buf, x.buf_write_bytes[b], y.buf_write_bytes[b]);
  }
  for (size_t r = 0; r < timing::kCtrlRegs; ++r) {
    if (x.ctrl_writes[r] != y.ctrl_writes[r]) {
      return fmt::format("ctrl_writes.{} {} and {}", timing::ctrl_reg_name(static_cast<timing::CtrlReg>(r)),
                         x.ctrl_writes[r], y.ctrl_writes[r]);
    }
  }
  return std::nullopt;
}

// PE additions counted by the engine, or (weight stationary) those its action counts say are due.
std::optional<uint64_t> additions(const ArchConfig& arch, const EngineResult& r) {
  if (r.pe_additions) return r.pe_additions;
  if (r.timeline && arch.dataflow == Dataflow::kWeightStationary) return r.timeline->actions.pe_pulses + r.timeline->actions.pe_macs;
  return std::nullopt;
}

}  // namespace

std::optional<Divergence> first_byte_divergence(const ir::TileProgram& p, const EngineResult& a, const EngineResult& b) {
  if (!a.memory || !b.memory) return std::nullopt;
  const ir::MemoryImage& want = *a.memory;
  const ir::MemoryImage& got = *b.memory;
  const auto& ws = want.segments();
  const auto& gs = got.segments();
  bool same_layout = ws.size() == gs.size();
  for (size_t i = 0; same_layout && i < ws.size(); ++i) {
    same_layout = ws[i].name == gs[i].name && ws[i].base == gs[i].base && ws[i].bytes.size() == gs[i].bytes.size();
  }
  if (!same_layout) return make(Kind::kBytes, a, b, "the memory images have different segments");

  // The GEMMs' outputs first, element by element: accumulators exact, FP32 outputs within 2^-20.
  const auto in_output = [&](uint64_t addr) {
    for (const auto& d : p.gemms) {
      if (addr >= d.y_addr && addr < d.y_addr + 4 * uint64_t{d.m} * d.n) return true;
    }
    return false;
  };
  for (size_t g = 0; g < p.gemms.size(); ++g) {
    const auto& d = p.gemms[g];
    for (int pass = 0; pass < 2; ++pass) {
      const uint64_t base = pass == 0 ? d.acc_addr : d.y_addr;
      for (uint64_t i = 0; i < uint64_t{d.m} * d.n; ++i) {
        const uint64_t addr = base + 4 * i;
        bool differ = false;
        std::string values;
        if (pass == 0) {
          const int32_t x = want.read_i32(addr), y = got.read_i32(addr);
          differ = x != y;
          values = fmt::format("expected {}, actual {}", x, y);
        } else {
          const float x = want.read_f32(addr), y = got.read_f32(addr);
          differ = !(std::fabs(x - y) <= std::ldexp(std::fabs(x), -20)) && !(x == y);
          values = fmt::format("expected {:.9g}, actual {:.9g}", x, y);
        }
        if (!differ) continue;
        const uint64_t m = i / d.n, n = i % d.n;
        uint64_t byte = addr;
        while (want.read_u8(byte) == got.read_u8(byte) && byte + 1 < addr + 4) ++byte;
        std::string where;
        const auto st = store_of(p, addr);
        if (st) where = fmt::format("\n  written by op {}: {}", *st, ir::tir_op_line(p, *st));
        Divergence dv = make(Kind::kBytes, a, b,
                             fmt::format("gemm {} ({}) {}[{}][{}]: {}{}", g, d.name, pass == 0 ? "acc" : "y", m, n, values, where));
        dv.op = st;
        dv.addr = byte;
        return dv;
      }
    }
  }
  // Then every other byte exactly (the FP32 outputs were compared within the tolerance above).
  for (size_t s = 0; s < ws.size(); ++s) {
    for (size_t i = 0; i < ws[s].bytes.size(); ++i) {
      if (ws[s].bytes[i] == gs[s].bytes[i]) continue;
      const uint64_t addr = ws[s].base + i;
      if (in_output(addr)) continue;
      const uint64_t word = ws[s].base + i / 4 * 4;
      std::string ctx;
      if (word + 4 <= ws[s].end()) {
        ctx = fmt::format(" (32-bit word at {}: expected {:#010x}, actual {:#010x})", word,
                          static_cast<uint32_t>(want.read_i32(word)), static_cast<uint32_t>(got.read_i32(word)));
      }
      const auto st = store_of(p, addr);
      std::string where;
      if (st) where = fmt::format("\n  written by op {}: {}", *st, ir::tir_op_line(p, *st));
      Divergence dv = make(Kind::kBytes, a, b,
                           fmt::format("segment {} byte {} (address {}): expected {:#04x}, actual {:#04x}{}{}", ws[s].name, i,
                                       addr, ws[s].bytes[i], gs[s].bytes[i], ctx, where));
      dv.op = st;
      dv.addr = addr;
      return dv;
    }
  }
  return std::nullopt;
}

std::optional<Divergence> first_cycle_divergence(const ir::TileProgram& p, const ArchConfig& arch, const EngineResult& a,
                                                 const EngineResult& b) {
  if (!a.timed() || !b.timed()) return std::nullopt;
  if (a.timeline && b.timeline) {
    const auto& x = a.timeline->ops;
    const auto& y = b.timeline->ops;
    for (ir::OpId id = 0; id < p.size(); ++id) {
      if (x[id] == y[id]) continue;
      Divergence d = make(Kind::kOpCycles, a, b,
                          fmt::format("op {}{} issue/finish/done/beat {}/{}/{}/{} and {}/{}/{}/{}\n  {}", id, op_context(p, id),
                                      x[id].issue, x[id].finish, x[id].done, x[id].beat, y[id].issue, y[id].finish,
                                      y[id].done, y[id].beat, ir::tir_op_line(p, id)));
      d.op = id;
      return d;
    }
  } else {
    for (ir::OpId id = 0; id < p.size(); ++id) {
      const uint64_t x = a.done_cycle(id), y = b.done_cycle(id);
      if (x == y) continue;
      Divergence d = make(Kind::kOpCycles, a, b,
                          fmt::format("op {}{} completes at cycle {} in {}, {} in {}\n  {}", id, op_context(p, id), x,
                                      a.engine, y, b.engine, ir::tir_op_line(p, id)));
      d.op = id;
      return d;
    }
  }
  if (a.total_cycles() != b.total_cycles()) {
    return make(Kind::kTotalCycles, a, b, fmt::format("total cycles {} and {}", a.total_cycles(), b.total_cycles()));
  }
  if (a.timeline && b.timeline) {
    if (const auto diff = first_action_difference(a.timeline->actions, b.timeline->actions)) {
      return make(Kind::kActions, a, b, "action counts differ: " + *diff);
    }
    const auto& ga = a.timeline->gemm_actions;
    const auto& gb = b.timeline->gemm_actions;
    if (ga.size() != gb.size()) {
      return make(Kind::kActions, a, b, fmt::format("action counts for {} and {} GEMMs", ga.size(), gb.size()));
    }
    for (size_t g = 0; g < ga.size(); ++g) {
      if (const auto diff = first_action_difference(ga[g], gb[g])) {
        return make(Kind::kActions, a, b, fmt::format("action counts of gemm {} differ: {}", g, *diff));
      }
    }
  }
  if (a.pe_additions || b.pe_additions) {
    const auto x = additions(arch, a), y = additions(arch, b);
    if (x && y && *x != *y) return make(Kind::kPeAdditions, a, b, fmt::format("{} and {} PE additions", *x, *y));
  }
  return std::nullopt;
}

std::vector<Divergence> compare_runs(const ir::TileProgram& p, const ArchConfig& arch, const std::vector<EngineResult>& runs) {
  std::vector<Divergence> out;
  const EngineResult* data_ref = nullptr;
  for (const auto& r : runs) {
    if (!r.memory) continue;
    if (data_ref == nullptr) {
      data_ref = &r;
    } else if (auto d = first_byte_divergence(p, *data_ref, r)) {
      out.push_back(*d);
    }
  }
  const EngineResult* cycle_ref = nullptr;
  for (const auto& r : runs) {
    if (!r.timed()) continue;
    if (cycle_ref == nullptr) {
      cycle_ref = &r;
    } else if (auto d = first_cycle_divergence(p, arch, *cycle_ref, r)) {
      out.push_back(*d);
    }
  }
  return out;
}

}  // namespace fq::sim
