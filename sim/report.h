// The simulation report: per GEMM and total cycles, time, utilisation, stall cycles by cause,
// traffic, energy and area by component, effective TOPS and TOPS/W (docs/report-schema.md), as
// text, as JSON, and the tile-level Chrome/Perfetto trace.
// Contract: every number is computed from the program, the Timeline of an engine and the cost
// model; nothing is estimated here. Stall causes and per-GEMM cycles are defined in
// docs/report-schema.md and sum to the total cycles.
#pragma once

#include "model/arch/arch_config.h"
#include "model/cost/cost_model.h"
#include "model/ir/tile_program.h"
#include "model/timing/timing.h"
#include "sim/engine.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fq::sim {

inline constexpr const char* kReportSchema = "fqsim.report/1";

struct GemmReport {
  std::string name;
  HwFormat format = HwFormat::kFineqR;
  uint32_t m = 0, n = 0, k = 0;
  uint64_t cycles = 0;       // growth of the makespan this GEMM causes (sums to the total)
  uint64_t first_issue = 0;  // first cycle one of its ops issued
  uint64_t last_done = 0;    // last cycle one of its ops completed
  double utilisation = 0;    // M N K / (cycles R C)
  timing::ActionCounts actions;
  cost::Breakdown energy_pj;
};

// The array's work grouped by beat length W: how many weight tiles were loaded at W (preloads, or
// os.matmuls), how many matmul ops ran at W and how many array cycles (issue to finish) they took.
struct WindowBin {
  uint32_t w = 0;
  uint64_t tiles = 0, matmuls = 0, array_cycles = 0;
};

struct Report {
  std::string engine;
  std::string workload;
  ArchConfig arch;
  std::string fingerprint;
  uint64_t ops = 0;
  uint64_t total_cycles = 0;
  uint64_t reported_cycles = 0;  // scalesim: total - 1 (SCALE-Sim's convention); default: total
  double seconds = 0;            // total_cycles at clock_mhz
  double utilisation = 0;
  uint64_t array_busy_cycles = 0;
  std::vector<std::pair<std::string, uint64_t>> stall_cycles;  // cause -> cycles
  timing::ActionCounts actions;
  cost::Breakdown energy_pj;
  cost::Breakdown area_um2;
  double tops = 0;        // 2 x useful MACs per second / 1e12
  double tops_per_w = 0;  // 2 x useful MACs per pJ
  double power_w = 0;     // energy / time
  std::vector<GemmReport> gemms;
  std::vector<WindowBin> window_histogram;  // ascending W
  double pulses_per_pe_beat = 0;            // temporal: pe_pulses / pe_beats; mac: 0
  uint64_t useful_macs = 0;                 // the actions' useful_macs, or the GEMM table's M N K without them
  // False when the engine gave only done cycles (rtl): array_busy_cycles, stall_cycles,
  // window_histogram, pulses_per_pe_beat, actions, energy_pj, tops_per_w, power_w and the GEMMs'
  // first_issue, actions and energy_pj are not produced (zero here, left out of the text and JSON).
  bool op_timeline = true;
};

Report build_report(const ir::TileProgram& program, const ArchConfig& arch, const timing::Timeline& timeline,
                    const cost::CostModel& costs, const std::string& engine, const std::string& workload);
// The same from any timed engine's result (fails for an untimed one); the report's engine is its name.
Report build_report(const ir::TileProgram& program, const ArchConfig& arch, const EngineResult& result,
                    const cost::CostModel& costs, const std::string& workload);

std::string to_text(const Report& report);
nlohmann::json to_json(const Report& report);

// Chrome trace JSON (ui.perfetto.dev, chrome://tracing): one track per unit, a slice per op
// while it occupies its unit, the array's drains as async slices. At most `max_ops` ops are
// written; returns how many were.
uint64_t write_chrome_trace(const ir::TileProgram& program, const ArchConfig& arch, const timing::Timeline& timeline,
                            const std::string& path, uint64_t max_ops);

}  // namespace fq::sim
