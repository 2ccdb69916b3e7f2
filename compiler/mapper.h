// The mapper: for one GEMM, every tiling and loop order the array and the buffers allow, scored by
// a first-order cost model built from the timing contract's per-op durations (model/timing), and
// the best of them (docs/compiler.md "Loop orders", "Cost model and choice"). It decides *how* a
// GEMM is cut; the lowering (compiler/lowering.h) turns that decision into tile ops.
#pragma once

#include "model/arch/arch_config.h"
#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fq::compiler {

// Loop orders of a mapping (innermost loop last); each has one lowering (compiler/lower_*.cpp).
//   kMnk: for m-chunk, for n-tile, for k-tile: accumulators of one (m, n) tile stay in obuf;
//         with `a_resident` the m-chunk's whole activation block stays in abuf across n-tiles.
//   kNkm: for n-tile, for k-tile, for m-chunk: each weight tile is loaded and preloaded once;
//         accumulators for all M rows of the n-tile stay in obuf.
//   kOs:  output stationary (mac PEs): for m-tile, for n-tile, for k-chunk: os.matmul.
enum class LoopOrder { kMnk, kNkm, kOs };
const char* to_string(LoopOrder order);

// The beat W of every weight tile of a weight-stationary GEMM, from its codes: tile (n-tile j,
// K tile i) is w[j * k_tiles + i], with kt and nt as plan_gemm tiles the GEMM. With
// compiler.tile_order: beat the program (its order and its mapping) depends on the codes through
// this grid only, beyond the shape, M and the arch.
struct BeatGrid {
  int64_t n_tiles = 0, k_tiles = 0;
  std::vector<uint8_t> w;
  bool operator==(const BeatGrid&) const = default;
};
BeatGrid beat_grid(const ArchConfig& arch, const EncodedMatrix& weights);

// The order of the K tiles within each n-tile (compiler.tile_order: beat): k_order[j * k_tiles
// + r] is the r-th K tile the lowering emits for n-tile j. Tiles of equal W are adjacent; the
// first and last W of each n-tile leave the least W at changes, boundaries between n-tiles
// included (docs/compiler.md "Beat order"). The statistics are those of one sweep over all
// (n-tile, K tile) pairs in emission order.
struct TileSchedule {
  BeatGrid grid;
  std::vector<uint32_t> k_order;
  int64_t sum_w = 0;         // sum of W over the tiles
  int64_t changes = 0;       // changes of W between consecutive tiles of a sweep
  int64_t changed_from = 0;  // sum of the W left at those changes (each drains (R + C - 2) W cycles)
  uint32_t first_w = 0, last_w = 0;
  uint32_t beat_at(int64_t n_tile, int64_t rank) const {
    const int64_t row = n_tile * grid.k_tiles;
    return grid.w[static_cast<size_t>(row + k_order[static_cast<size_t>(row + rank)])];
  }
};
TileSchedule beat_schedule(BeatGrid grid);

// Whether the arch's compiled programs depend on the weight codes (compiler.tile_order: beat),
// not only on the shapes, formats and M.
bool program_depends_on_codes(const ArchConfig& arch);

// How one GEMM is tiled (the "how" of docs/style.md L6); engines never see it.
struct Mapping {
  LoopOrder order = LoopOrder::kMnk;
  bool a_resident = false;
  int kt = 0;  // K extent of a weight tile (ws: array rows used; os: K streamed per os.matmul)
  int nt = 0;  // N extent of a weight tile (array columns used)
  int mc = 0;  // activation rows per matmul (os: array rows used)
  // Slots per buffer (2 = double buffered) and the bytes the mapping occupies.
  int w_slots = 0, a_slots = 0, o_slots = 0, s_slots = 0;
  int64_t wbuf_bytes = 0, abuf_bytes = 0, obuf_bytes = 0, sbuf_bytes = 0;
  // Cost model (docs/compiler.md "Cost model"): first-order estimates used only to rank mappings.
  int64_t dram_read_bytes = 0;
  int64_t dram_write_bytes = 0;
  int64_t compute_cycles = 0;
  int64_t dram_cycles = 0;
  int64_t est_cycles = 0;
  int64_t ops = 0;  // tile ops the lowering emits (exact)
  // compiler.tile_order: beat: the K-tile order of each n-tile (shared by the GEMM's candidates),
  // and the cost model's count of the changes of W it leaves and their drain cycles; null and 0
  // in loop order.
  std::shared_ptr<const TileSchedule> schedule;
  int64_t beat_changes = 0;
  int64_t drain_cycles = 0;
};

// Bytes of one slot of each buffer under a mapping: the mapper sizes the buffers with them, the
// lowering lays the slots out with them (docs/compiler.md "Loop orders", slot table).
struct SlotBytes {
  int64_t w = 0;         // wbuf: nt weight rows of kt
  int64_t a = 0;         // abuf: mc x kt activations, or the mc x K block when resident
  int64_t ws = 0;        // sbuf: the weight scales of nt columns, 4-byte aligned
  int64_t s = 0;         // sbuf: weight scales, then mc activation scales
  int64_t out_tile = 0;  // obuf: int32 accumulators (or FP32 outputs) of one mc x nt tile
};
SlotBytes slot_bytes(const Mapping& mp, HwFormat format, int64_t K);

// Weight bytes of one row of k weights in `format` (ir::weight_row_bytes, signed for tile arithmetic).
int64_t weight_row_bytes(HwFormat format, int64_t k);
// Byte offset of weight k0 in a row (k0 on a code boundary: a multiple of the mapper's K step).
int64_t weight_k0_byte(HwFormat format, int64_t k0);

// ---- What the mapper needs to know about the PE kind, each in one function. ----
// (The PE models will answer these; until then they hold today's rules and nothing else switches
// on the PE kind in the compiler.)

// Beat length W the cost model assumes for every matmul: the spec's worst case for temporal PEs
// (fineq-spec.md §5; the actual beat depends on the weights), 1 for a MAC PE.
int64_t beat_estimate(const ArchConfig& arch);
// Throws fq::Error naming the GEMM unless the arch's PEs run weights of `format`.
void check_pe_format(const ArchConfig& arch, const std::string& gemm, HwFormat format);

struct Candidate {
  Mapping mapping;
  bool legal = false;
  std::string reason;  // why it is illegal, empty when legal
};

struct GemmPlan {
  std::string name;
  int m = 0, n = 0, k = 0;
  HwFormat format = HwFormat::kFineqR;
  std::vector<Candidate> candidates;  // everything the search considered
  int chosen = -1;                    // index into candidates
  const Mapping& mapping() const { return candidates[static_cast<size_t>(chosen)].mapping; }
};

// The candidates of one GEMM and the chosen one (lowest estimated cycles; ties: fewer DRAM bytes,
// then fewer ops). Throws fq::Error for impossible requests (no candidate fits, wrong format).
// `weights` (N x K codes of `format`) is needed when the program depends on them
// (program_depends_on_codes), and unused otherwise.
GemmPlan plan_gemm(const ArchConfig& arch, const std::string& name, int m, int n, int k, HwFormat format,
                   const EncodedMatrix* weights = nullptr);

// The full search of one GEMM, for `compile --explain`.
std::string explain(const GemmPlan& plan);

}  // namespace fq::compiler
