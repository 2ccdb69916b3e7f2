// What the unit cores of the cycle-stepped machine share (docs/architecture.md "Micro-architecture
// and timing"): the four on-chip buffers, the record of every op's cycles and action counts, and
// the in-order completion every unit applies to its own ops.
// Contract: a core's take(id, c) is only called when can_take(id, c) holds; work(c) stamps
// finishes at c + 1 or later; retire(c) hands back, in program order, the ops of the unit that
// are done by cycle c.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

namespace fq::sim {

inline constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

// The buffers as byte arrays with independent ports (no bank conflicts are modelled).
class Buffers {
 public:
  explicit Buffers(const ArchConfig& arch) {
    m_buf[static_cast<size_t>(ir::Buffer::kWbuf)].resize(static_cast<size_t>(arch.weight_bytes));
    m_buf[static_cast<size_t>(ir::Buffer::kAbuf)].resize(static_cast<size_t>(arch.act_bytes));
    m_buf[static_cast<size_t>(ir::Buffer::kObuf)].resize(static_cast<size_t>(arch.out_bytes));
    m_buf[static_cast<size_t>(ir::Buffer::kSbuf)].resize(static_cast<size_t>(arch.scale_bytes));
  }
  uint8_t* at(ir::Buffer b, uint64_t addr) { return m_buf[static_cast<size_t>(b)].data() + addr; }
  const std::vector<uint8_t>& bytes(ir::Buffer b) const { return m_buf[static_cast<size_t>(b)]; }

 private:
  std::array<std::vector<uint8_t>, ir::kNumBuffers> m_buf;
};

// The record of each op's issue/finish/done/beat and the action counts per GEMM. The
// cores write it as they work; only a unit's own InOrder reads its finish stamps back (and the
// watchdog the last progress): no unit decides anything from another's entries.
class Ledger {
 public:
  explicit Ledger(const ir::TileProgram& p)
      : issue(p.size(), kNever), finish(p.size(), kNever), done(p.size(), kNever), beat(p.size(), 0),
        gemm_of(timing::op_gemms(p)), gacts(std::max<size_t>(1, p.gemms.size())) {}

  timing::ActionCounts& A(ir::OpId id) { return gacts[gemm_of[id]]; }
  uint64_t& rd(ir::OpId id, ir::Buffer b) { return A(id).buf_read_bytes[static_cast<size_t>(b)]; }
  uint64_t& wr(ir::OpId id, ir::Buffer b) { return A(id).buf_write_bytes[static_cast<size_t>(b)]; }
  // A control register group written (timing::CtrlReg), for op id's GEMM; only when the RTL has
  // these registers (weight stationary, default timing: `count_ctrl`).
  void ctrl(ir::OpId id, timing::CtrlReg r, uint64_t n = 1) {
    if (count_ctrl) A(id).ctrl_writes[static_cast<size_t>(r)] += n;
  }
  bool count_ctrl = false;
  void took(ir::OpId id, uint64_t c) {
    issue[id] = c;
    last_progress = std::max(last_progress, c);
  }
  void stamp(ir::OpId id, uint64_t f) {
    finish[id] = f;
    last_progress = std::max(last_progress, f);
  }
  timing::Timeline timeline(const ir::TileProgram& p) const;

  std::vector<uint64_t> issue, finish, done;
  std::vector<uint8_t> beat;
  std::vector<uint32_t> gemm_of;
  std::vector<timing::ActionCounts> gacts;
  uint64_t last_progress = 0;
};

// A unit's ops in flight, completed in order: done = max(finish, done of the previous op).
// Retiring also writes the controller's done count (timing::CtrlReg::kCtlDone): once per op for
// the units that complete one op per edge, once per edge for the array (`array`), whose slot
// pointer moves with it and whose ops set and clear a finished bit when they wait to retire.
class InOrder {
 public:
  explicit InOrder(bool array = false) : m_array(array) {}
  void push(ir::OpId id) { m_q.push_back(id); }
  bool empty() const { return m_q.empty(); }
  // Pops the front ops whose finish is known and whose done is <= c; returns how many.
  uint32_t retire(Ledger& log, uint64_t c) {
    uint32_t n = 0;
    while (!m_q.empty() && log.finish[m_q.front()] != kNever) {
      const ir::OpId id = m_q.front();
      const uint64_t d = std::max(log.finish[id], m_last_done);
      if (d > c) break;
      if (!m_array || !m_any || d != m_last_done) {  // the first op retiring at its edge
        log.ctrl(id, timing::CtrlReg::kCtlDone);
        if (m_array) log.ctrl(id, timing::CtrlReg::kSlotRd);
      }
      if (m_array && d > log.finish[id]) log.ctrl(id, timing::CtrlReg::kFin, 2);
      log.done[id] = d;
      m_last_done = d;
      m_any = true;
      m_q.pop_front();
      ++n;
    }
    return n;
  }

 private:
  std::deque<ir::OpId> m_q;
  uint64_t m_last_done = 0;
  bool m_any = false;  // an op has retired
  bool m_array;
};

// The context every core is built with.
struct UnitEnv {
  const ir::TileProgram& p;
  const ArchConfig& arch;
  Buffers& buf;
  Ledger& log;
  bool scalesim() const { return arch.timing == TimingModel::kScaleSim; }
};

}  // namespace fq::sim
