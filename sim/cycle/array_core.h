// The array unit (rtl/fq_array_ctrl.v + fq_array.v): two weight register sets per PE written
// by preload through the cluster decoders, the R x C PEs stepped every cycle in beats of W
// cycles with input skew and output deskew (weight stationary), and the output-stationary
// os.matmul (docs/architecture.md "Array"). The PE loops are the hot spot of the whole model.
#pragma once

#include "model/arch/pe_model.h"
#include "sim/cycle/unit.h"

#include <array>
#include <vector>

namespace fq::sim {

// What the array did in a cycle, for ports and traces.
struct ArrayActivity {
  bool streaming = false;  // weight-stationary data in flight
  uint32_t phase = 0;      // cycle within the beat
  uint32_t beat = 0;       // W of the running beat grid
  bool preloading = false;
  bool os = false;
};

class ArrayCore {
 public:
  explicit ArrayCore(UnitEnv env);
  bool can_take(ir::OpId id, uint64_t c) const;
  void take(ir::OpId id, uint64_t c);
  ArrayActivity work(uint64_t c);
  uint32_t retire(uint64_t c) { return m_inorder.retire(m_env.log, c); }

  uint64_t pe_cycles() const { return m_pe_cycles; }
  uint64_t pe_adds() const { return m_pulses; }

 private:
  struct RowSlot {  // one activation row in the input skew / output deskew ring
    bool valid = false;
    uint64_t beat = 0;
    ir::OpId op = 0;
    uint32_t r = 0;
    int set = 0;
    std::vector<int8_t> data;  // R activations (zero beyond the tile's k)
    std::vector<int32_t> out;  // C column results as they leave the bottom row
  };
  struct Preload {
    bool busy = false;
    ir::OpId id = 0;
    uint64_t start = 0;
    int set = 0;
    TileStats stats;  // tallied row by row as the decoders write the weights
  };
  // The output-stationary array, stepped: operands enter skewed at the left and top edges, move
  // one PE right (activations) or down (weights) per cycle, every PE multiply-accumulates when
  // they meet, and once the last PE has its k-th product the accumulators drain one row per cycle
  // (scalesim: the padded fold writes every row in the cycle of its last product).
  struct OsArray {
    bool busy = false;
    ir::OpId id = 0;
    uint64_t start = 0;
    uint32_t rows = 0, cols = 0;  // rows and columns fed: the tile (m x n), or R x C under scalesim
    std::vector<int8_t> a;        // m x k activations as read from abuf
    std::vector<int8_t> w;        // n x k weights as read from wbuf
    std::vector<int32_t> a_reg, w_reg, a_valid, w_valid, acc, macs;  // per PE, R x C
    uint64_t pes_done = 0;        // PEs that made their k products
    bool draining = false;
    uint32_t drain_next = 0;
  };

  void take_preload(ir::OpId id, const ir::TileOp& op, uint64_t c);
  void take_matmul(ir::OpId id, const ir::TileOp& op, uint64_t c);
  void take_os(ir::OpId id, const ir::TileOp& op, uint64_t c);
  void preload_row(const ir::TileOp& op, uint32_t i);
  void work_preload(uint64_t c);
  void work_os(uint64_t c);
  // Writes n int32 results as row r of op's destination in obuf (added to it when op.acc).
  void store_row(ir::OpId id, const ir::TileOp& op, uint32_t r, const int32_t* v, uint32_t n);
  void work_stream(uint64_t c);
  int preload_target() const;  // the set the next preload writes
  void begin_beat(uint64_t b);
  void end_beat(uint64_t b, uint64_t c);
  // The set's row count written in cycle c (one write a cycle, however many reasons), for op id.
  void set_rows_write(int set, uint64_t c, ir::OpId id);
  RowSlot& slot_of(uint64_t beat) { return m_ring[beat & (m_ring.size() - 1)]; }

  UnitEnv m_env;
  const PeModel& m_pe;
  const uint32_t R, C;
  InOrder m_inorder{true};
  uint64_t m_pe_cycles = 0, m_pulses = 0;

  // Weight register sets, R x C, held as what a PE uses: the PE model's CycleWeight (mask and
  // multiplier; 0 outside the tile) and the pulses due per beat. int32 throughout so the PE
  // loops vectorise.
  // pe.weight_sets of them, used in turn.
  std::vector<std::vector<int32_t>> m_wmask, m_wmul, m_wdue;
  std::vector<uint32_t> m_set_beat, m_set_k, m_set_n, m_set_gemm;
  std::vector<uint64_t> m_set_rows;  // issued rows that use the set and are not yet written
  std::vector<uint64_t> m_set_rows_written;  // cycle + 1 in which a set's count was last written
  int m_active = 0;
  int m_pending_set = 0;  // the set the pending tile is (being) loaded into
  bool m_pending = false, m_pending_complete = false;
  Preload m_pre;
  uint64_t m_rows_in_flight = 0;
  ir::OpId m_stream_op = 0;
  uint32_t m_stream_left = 0, m_stream_next = 0;
  int m_stream_set = 0;
  uint64_t m_grid = 0;
  uint32_t m_grid_beat = 1;
  std::vector<RowSlot> m_ring;
  std::vector<int32_t> m_act, m_avalid, m_aset;  // per PE: activation, data valid, weight set
  std::vector<int32_t> m_ps, m_eff_mask, m_eff_a;
  std::vector<uint64_t> m_valid_by_set, m_due_by_set, m_first_by_set;  // of the current beat
  bool m_streamed = false;    // a matmul has run
  uint64_t m_stream_end = 0;  // the cycle after its last row's entry beat
  OsArray m_os;
};

}  // namespace fq::sim
