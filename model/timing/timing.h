// The accelerator's timing contract (docs/architecture.md "Micro-architecture and timing"):
// per-op durations in closed form, the per-op record every timed engine produces, and the
// action counts energy is computed from. The fast engine schedules with these formulas; the
// SystemC model steps the same machine cycle by cycle; both must produce identical OpTimes and
// ActionCounts for every verified program.
#pragma once

#include "model/arch/arch_config.h"
#include "model/arch/pe_model.h"
#include "model/ir/tile_program.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fq::timing {

// Cycle numbers start at 0. `issue` is the cycle an op starts (its unit takes it), `finish` the
// first cycle after its last effect, `done` the first cycle in which ops depending on it may
// issue: max(finish, done of the previous op of its unit), because units complete in order.
struct OpTime {
  uint64_t issue = 0;
  uint64_t finish = 0;
  uint64_t done = 0;
  uint8_t beat = 0;  // array ops: the beat length W in cycles; 0 for other units
  bool operator==(const OpTime&) const = default;
};

// The units' control and pipeline registers in groups written together: the array controller's
// (rtl/fq_array_ctrl.v: `ctrl_we` bits 0..11, then its per-slot `fin_we` and per-set
// `set_rows_we` bits), then the instruction controller's, the DMA engines' and the epilogue's
// (fq_top `unit_we`). A count is the number of cycles the group's enable is high (for kFin,
// kSetRows, kCtlIssue and kCtlDone: enables summed over slots, sets or units); ctrl_reg_bits()
// gives the bits one write stores.
enum class CtrlReg : uint8_t {
  kPreIssue,  // a preload issues: its parameters and counters, pending flags, the set's k and n
  kPreRow,    // a weight row is written: row, bit and cluster counters, running max and outlier flag
  kPreByte,   // ... and the row closes a three-weight cluster: the byte counter
  kPreLast,   // the last row: busy and complete flags, the set's beat W
  kMmIssue,   // a matmul issues: its addresses, strides, acc flag, set and slot
  kMmCommit,  // ... and takes a pending tile: active set and pending flag
  kInject,    // a row enters: rows left, next row, the row's metadata in the ring
  kEpoch,     // a matmul starts a beat grid on an empty array: the grid's W
  kPhase,     // a cycle of a running grid with W > 1: the phase counter
  kBeat,      // a beat of a running grid ends: the beat counter
  kSlotWr,    // an array op issues: the next free slot
  kSlotRd,    // one or more array ops retire: the oldest slot
  kFin,       // an op's finished bit set (it finished before it could retire) or cleared
  kSetRows,   // a weight set's count of rows in flight changes (a matmul issues, a row is written)
  // fq_controller.v
  kCtlIssue,  // a unit takes its head instruction: its instruction pointer
  kCtlDone,   // a unit's ops complete at an edge: its done count
  // fq_dma_in.v
  kDinIssue,  // a load issues: its destination, stride, rows and bytes queued, the queue's tail
  kDinDone,   // its last chunk arrives: the queue's head
  kDinChunk,  // a chunk arrives: the byte offset in the row
  kDinRow,    // a row's last chunk: the row counter
  // fq_epilogue.v
  kEpiIssue,  // a dequant issues: its parameters, the busy flag
  kEpiChunk,  // a chunk of C accumulators is read: the column counter, the active flag, stage 1
  kEpiRow,    // a row's last chunk is read: the row counter
  kEpiStage2, // stage 1 holds data: stage 2 (the first product)
  kEpiValid1, // stage 1's valid bit (written while data enters and once as it drains)
  kEpiValid2, // stage 2's valid bit
  kEpiFinish, // the last chunk is written: the busy flag
  // fq_dma_out.v
  kDoutIssue, // a store issues: source, strides, destination, rows and bytes queued, the tail
  kDoutDone,  // its last chunk leaves: the queue's head (and, with DRAM latency, its ack time)
  kDoutAck,   // the DRAM acknowledges it after its last chunk (DRAM latency > 0): the ack queue's head
  kDoutChunk, // a chunk leaves: the byte offset in the row
  kDoutRow,   // a row's last chunk: the row counter
  kDoutClock, // a cycle in which a store awaits its acknowledgement: the ack clock
};
inline constexpr size_t kCtrlRegs = 33;
const char* ctrl_reg_name(CtrlReg r);  // "pre_issue" .. "dout_clock"
// Bits written by one write of each group, for the arch's R, C, pe.weight_sets and DRAM latency.
// The array controller's groups come before kCtlIssue, the epilogue's are kEpiIssue .. kEpiFinish.
bool ctrl_reg_is_array(CtrlReg r);
bool ctrl_reg_is_epilogue(CtrlReg r);
std::array<uint64_t, kCtrlRegs> ctrl_reg_bits(const ArchConfig& arch);

// Everything energy is computed from; each counter is defined in docs/architecture.md
// "Action counts". Bytes are bytes, PE counters are PE-cycles (or PE-beats for mac PEs).
struct ActionCounts {
  uint64_t dram_read_bytes = 0;
  uint64_t dram_write_bytes = 0;
  std::array<uint64_t, ir::kNumBuffers> buf_read_bytes{};   // indexed by ir::Buffer
  std::array<uint64_t, ir::kNumBuffers> buf_write_bytes{};
  uint64_t decoder_bytes = 0;     // FineQ-R code bytes through the cluster decoder
  uint64_t pe_pulses = 0;         // pulse kinds: add cycles (temporal |q|, bitserial popcount |q| per PE-beat)
  uint64_t pe_idle_cycles = 0;    // pulse kinds: PE-cycles holding data without adding
  uint64_t pe_macs = 0;           // mac: PE-beats inside the stationary/output tile
  uint64_t pe_idle_beats = 0;     // mac: PE-beats holding data outside the tile
  uint64_t pe_beats = 0;          // PE-beats holding data (operand registers passed on)
  uint64_t pe_psum_writes = 0;    // PE partial-sum register writes: per PE-beat with data, plus later pulses
  uint64_t pe_valid_clears = 0;   // PE valid bits cleared after data left: R*C per row stream
  // Beats the array's grid ran (weight stationary, default timing): the skew's valid/tag history
  // and the deskew's valid history shift once each (rtl/fq_array.v `advance`), counted for the
  // GEMM of the matmul issued last at that beat.
  uint64_t array_beats = 0;
  // Rows streamed through the array (weight stationary): each writes R(R-1)/2 skew and C(C-1)/2
  // deskew stage registers on its way (rtl/fq_array.v `skew_we`, `deskew_we`).
  uint64_t array_rows = 0;
  uint64_t weight_writes = 0;     // weights written into PE weight registers (preload)
  uint64_t weight_clears = 0;     // PE weight sets emptied (R*C per preload)
  std::array<uint64_t, kCtrlRegs> ctrl_writes{};  // control and pipeline register writes by CtrlReg
  uint64_t dequant_elems = 0;     // epilogue multiplies (two FP32 multiplies each)
  uint64_t useful_macs = 0;       // sum over matmuls of m*k*n: the work the GEMMs need

  bool operator==(const ActionCounts&) const = default;
  ActionCounts& operator+=(const ActionCounts& o);
};

struct Timeline {
  std::vector<OpTime> ops;  // indexed by op id
  uint64_t total_cycles = 0;  // max done over all ops (0 for an empty program)
  ActionCounts actions;       // the sum of gemm_actions
  std::vector<ActionCounts> gemm_actions;  // per GEMM of the program (op_gemms())
  bool operator==(const Timeline&) const = default;
};

// The GEMM each op works for: its `gemm` field, or for DMA ops the GEMM whose DRAM region
// (w, ws, a, as, acc, y of the GEMM table) holds the DRAM address; 0 when none does.
std::vector<uint32_t> op_gemms(const ir::TileProgram& program);
// The same, one op at a time (of() must see the program's ops; consecutive DMA ops mostly hit
// the region of the previous one, which is tried first).
class OpGemms {
 public:
  explicit OpGemms(const ir::TileProgram& program);
  uint32_t of(const ir::TileOp& op) {
    if (op.opcode != ir::Opcode::kDmaLoad && op.opcode != ir::Opcode::kDmaStore) return op.gemm;
    const uint64_t addr = op.opcode == ir::Opcode::kDmaLoad ? op.src : op.dst;
    // m_last is the last region with begin <= addr when addr is in [its begin, the next begin).
    if (m_last < m_regions.size() && m_regions[m_last].begin <= addr &&
        (m_last + 1 == m_regions.size() || addr < m_regions[m_last + 1].begin)) {
      return addr < m_regions[m_last].end ? m_regions[m_last].gemm : 0;
    }
    return lookup(addr);
  }

 private:
  struct Region {
    uint64_t begin, end;
    uint32_t gemm;
  };
  uint32_t lookup(uint64_t addr);
  std::vector<Region> m_regions;  // sorted by begin
  size_t m_last = SIZE_MAX;
};

// ---- Closed-form pieces shared by engines and the compiler's cost model ----

// Cycles one direction of the DRAM channel is busy moving `rows` bursts of `bytes` bytes.
uint64_t dma_transfer_cycles(const ArchConfig& arch, uint64_t rows, uint64_t bytes);
// Cycles a preload of `k` weight rows takes (default timing: k + 1; scalesim: R).
uint64_t preload_cycles(const ArchConfig& arch, uint64_t k);
// Beats from the first activation row entering to the last result written: m + R + C - 2.
uint64_t matmul_beats(const ArchConfig& arch, uint64_t m);
// os.matmul duration (default: k + 2m + n - 2; scalesim: k + R + C - 2).
uint64_t os_matmul_cycles(const ArchConfig& arch, uint64_t m, uint64_t k, uint64_t n);
// dequant duration (default: m * ceil(n / C) + 2; scalesim: 0).
uint64_t dequant_cycles(const ArchConfig& arch, uint64_t m, uint64_t n);

// Statistics of one stationary tile read from wbuf the way `preload` reads it, and the beat of
// the matmuls that use it: the arch's PE model decides what they are (model/arch/pe_model.h).
using fq::TileStats;
TileStats tile_stats(const ArchConfig& arch, HwFormat format, std::span<const uint8_t> wbuf, uint64_t src,
                     uint64_t stride, uint32_t k, uint32_t n);
uint32_t tile_beat(const ArchConfig& arch, const TileStats& stats);

// Action counts of one op given its beat and tile statistics (identical in every engine).
void count_op_actions(const ArchConfig& arch, const ir::TileProgram& program, const ir::TileOp& op,
                      uint32_t beat, const TileStats& tile, ActionCounts& out);

// A matmul that starts a row stream: its first row does not enter in the beat right after the
// previous matmul's last row. When a stream has passed, every PE writes its valid bit once more
// (to 0; rtl/fq_pe_*.v valid_we): R*C valid clears, counted at the stream's first matmul.
void count_stream_start(const ArchConfig& arch, ActionCounts& out);

// The control and pipeline register writes (CtrlReg) of a weight-stationary program under the
// default timing (nothing otherwise: the RTL runs no other), counted from each op and its OpTime
// as the fast engine schedules them, in program order. The SystemC model counts the same groups
// cycle by cycle (sim/cycle); tests compare both with each other and with the RTL's enables.
class ControllerWrites {
 public:
  explicit ControllerWrites(const ArchConfig& arch);
  // The next op (done known), counted into `acts`, its GEMM's counts: a grid's cycles and some
  // set-rows writes go to earlier ops' counts later, so each must stay where it is until end().
  void op(const ir::TileOp& op, const OpTime& t, ActionCounts& acts);
  void end();  // the last grid's cycles

 private:
  static void add(ActionCounts& acts, CtrlReg r, uint64_t n) { acts.ctrl_writes[static_cast<size_t>(r)] += n; }
  void grid_cycles(uint64_t until);  // the running grid's cycles since the last matmul's issue
  struct Flight {  // a matmul of the running grid whose rows are not all written
    uint64_t issue, rows, finish;
    uint32_t set;
    ActionCounts* acts;
  };
  const ArchConfig& m_arch;
  const bool m_on;
  const uint64_t m_lat;  // beats from a row's entry to its write, R + C - 2
  uint32_t m_active = 0, m_pending_set = 0;
  bool m_pending = false;
  // The running grid: its end (the last row written + 1), W, and the matmul issued last, whose
  // GEMM gets the grid's cycles until the next issue (the rule of ActionCounts::array_beats).
  uint64_t m_run_end = 0, m_run_w = 1, m_last_issue = 0;
  ActionCounts* m_last_acts = nullptr;  // null until the first matmul
  std::vector<Flight> m_flights;
  bool m_retired = false;  // an array op has retired
  uint64_t m_last_done = 0;
  uint64_t m_dout_free = 0;    // the cycle after the last store chunk sent
  uint64_t m_clock_until = 0;  // fq_dma_out's ack clock has run until this cycle (exclusive)
};

// SCALE-Sim reports the 0-based number of the last cycle (anchors.md §2.2): total - 1.
uint64_t scalesim_reported_cycles(uint64_t total_cycles);

}  // namespace fq::timing
