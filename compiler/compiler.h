// The compiler: maps each GEMM of a quantized layer onto tiles of the array under the buffer
// limits, places every operand in a DRAM memory image and emits the tile program (docs/compiler.md).
// Contract: the emitted program passes ir::verify() for the arch; executing it (any engine)
// leaves in DRAM, per GEMM, acc = int_gemm(acts, weights) and y = dequant(acc) bit for bit.
// Impossible requests (buffers too small for one tile, a PE kind that cannot run the format, a
// shape mismatch) throw fq::Error naming the GEMM and the limit; no program is produced.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"
#include "model/ir/tile_program.h"
#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fq::compiler {

// INT8 activations of one GEMM, spec §4: q is [rows = M, cols = K] row-major, one scale per row.
struct ActView {
  int rows = 0;
  int cols = 0;
  std::span<const int8_t> q;
  std::span<const float> scales;
};

struct GemmInput {
  const QTensor* weights = nullptr;  // W [N, K]
  ActView acts;                      // A [M, K]
};

// Loop orders of a weight-stationary mapping (innermost loop last).
//   kMnk: for m-chunk, for n-tile, for k-tile: accumulators of one (m, n) tile stay in obuf;
//         with `a_resident` the m-chunk's whole activation block stays in abuf across n-tiles.
//   kNkm: for n-tile, for k-tile, for m-chunk: each weight tile is loaded and preloaded once;
//         accumulators for all M rows of the n-tile stay in obuf.
//   kOs:  output stationary (mac PEs): for m-tile, for n-tile, for k-chunk: os.matmul.
enum class LoopOrder { kMnk, kNkm, kOs };
const char* to_string(LoopOrder order);

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
  int64_t ops = 0;
};

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

struct CompiledLayer {
  ir::TileProgram program;
  ir::MemoryImage memory;
  std::vector<GemmPlan> plans;  // one per GEMM, in program order
};

// Chooses a mapping per GEMM (lowest estimated cycles; ties: fewer DRAM bytes, then fewer ops)
// and lowers it. Throws fq::Error for impossible requests.
CompiledLayer compile_layer(const ArchConfig& arch, std::span<const GemmInput> gemms);

// Lowers the GEMMs with the candidate each plan's `chosen` names (tests use it to lower every
// legal candidate); compile_layer() is plan_gemm() for each GEMM followed by this.
CompiledLayer lower_layer(const ArchConfig& arch, std::span<const GemmInput> gemms, std::vector<GemmPlan> plans);

// The candidates of one GEMM without lowering it (what --explain prints).
GemmPlan plan_gemm(const ArchConfig& arch, const std::string& name, int m, int n, int k, HwFormat format);

// Human-readable summaries: one line per GEMM, and the full search for --explain.
std::string mapping_summary(const CompiledLayer& layer);
std::string explain(const GemmPlan& plan);

}  // namespace fq::compiler
