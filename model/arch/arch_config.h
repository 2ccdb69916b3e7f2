// ArchConfig: one accelerator description (configs/*.yaml), validated on load.
// Contract: the YAML tree mirrors these fields; unknown keys and out-of-range values are errors
// naming the key path; `--set KEY=VALUE` overrides use the same key paths and the same checks.
// The fingerprint covers every field that changes what a compiled program means or how it runs.
#pragma once

#include "model/quant/encoded_matrix.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fq {

enum class BeatWindow { kFixed, kTile };          // `pe.window`: fixed | tile (temporal, bitserial FineQ-R)
enum class Dataflow { kWeightStationary, kOutputStationary };  // `dataflow`: ws | os (os: mac only)
enum class TimingModel { kDefault, kScaleSim };   // `timing`: default | scalesim
enum class TileOrder { kLoop, kBeat };            // `compiler.tile_order`: loop | beat (tile window only)

struct ArchConfig {
  std::string name;                 // `name`
  int rows = 0;                     // `array.rows`: PE rows (the K dimension of a weight tile)
  int cols = 0;                     // `array.cols`: PE columns (the N dimension)
  std::string pe_kind = "temporal";  // `pe.kind`: a registered PE model (model/arch/pe_model.h)
  BeatWindow window = BeatWindow::kFixed;
  int weight_bits = 8;              // `pe.weight_bits`: mac only, 8 | 4 | 3 | 2
  HwFormat pe_format = HwFormat::kFineqR;  // `pe.format`: bitserial only, fineq_r | int8 | int4 | int3 | int2
  int acc_bits = 32;                // `pe.acc_bits`: partial-sum bits in the PEs, >= min_acc_bits() (ws)
  int weight_sets = 2;              // `pe.weight_sets`: weight register sets per PE, 1..8 (ws, default timing)
  Dataflow dataflow = Dataflow::kWeightStationary;
  TimingModel timing = TimingModel::kDefault;
  int64_t weight_bytes = 0;         // `buffers.weight_bytes`: weight buffer (encoded codes)
  int out_slots = 2;                // `buffers.out_slots`: most output tiles in obuf at once, 1..64
  int weight_slots = 2;             // `buffers.weight_slots`: most weight tiles in wbuf at once, 1..64
  int64_t act_bytes = 0;            // `buffers.act_bytes`: INT8 activation buffer
  int64_t out_bytes = 0;            // `buffers.out_bytes`: int32 accumulators and FP32 outputs
  int64_t scale_bytes = 0;          // `buffers.scale_bytes`: FP16 weight and FP32 activation scales
  int dram_bytes_per_cycle = 0;     // `dram.bytes_per_cycle`
  int dram_latency_cycles = 0;      // `dram.latency_cycles`
  double clock_mhz = 0;             // `clock_mhz`
  int tech_node_nm = 0;             // `tech.node_nm`
  double vdd_v = 0;                 // `tech.vdd_v`
  // `compiler.tile_order`: the order of a weight-stationary GEMM's K tiles: the loop nest's, or
  // grouped by beat W so that fewer changes of W drain the array (docs/compiler.md "Beat order").
  TileOrder tile_order = TileOrder::kLoop;
};

// Loads and validates a YAML file, applying `overrides` ("array.rows=16") first.
ArchConfig load_arch(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from YAML text; `origin` names the source in messages.
ArchConfig parse_arch(const std::string& yaml_text, const std::string& origin,
                      const std::vector<std::string>& overrides = {});
// Canonical YAML of every field (stable order); parse_arch(to_yaml(a)) == a.
std::string to_yaml(const ArchConfig& arch);
// 16 lowercase hex digits: FNV-1a 64 of to_yaml(arch) without `name`.
std::string fingerprint(const ArchConfig& arch);

// The largest |partial sum| a weight-stationary column can reach: every row adds at most
// 128 x the format's largest |weight| (FineQ-R 4, INTb 2^(b-1)), and row 0 starts from 0.
int64_t max_column_sum(const ArchConfig& arch);
// The partial-sum bits that hold every such sum with its sign: pe.acc_bits' lower limit.
int min_acc_bits(const ArchConfig& arch);

// Bits of the weight-set tag every activation carries (rtl/fq_array.v TW): 1 for up to two sets.
int weight_set_tag_bits(const ArchConfig& arch);

// Every key path with a one-line description (range and unit), for `--list-params`.
std::vector<std::pair<std::string, std::string>> arch_key_paths();

const char* to_string(BeatWindow window);
const char* to_string(Dataflow dataflow);
const char* to_string(TimingModel timing);
const char* to_string(TileOrder order);

}  // namespace fq
