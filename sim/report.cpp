#include "sim/report.h"

#include "model/arch/pe_model.h"
#include "model/core/atomic_file.h"
#include "model/core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace fq::sim {
namespace {

using ir::Opcode;

// Where the array's input port spent the run (docs/report-schema.md "Stalls"): streaming
// (busy), or waiting before an op for the constraint that was satisfied last. In the same pass
// over the array's ops, the beat windows: tiles are the preloads (each loads one stationary tile
// and carries its W) and, for the output-stationary dataflow, the os.matmuls; matmul ops and
// their array cycles are counted at their W.
void array_stalls_and_windows(const ir::TileProgram& p, const ArchConfig& arch, const timing::Timeline& tl, Report& r) {
  const bool scalesim = arch.timing == TimingModel::kScaleSim;
  std::map<std::string, uint64_t> stalls;
  std::map<uint32_t, WindowBin> bins;
  uint64_t port_free = 0, busy = 0;
  int64_t pending_preload = -1;
  for (ir::OpId id = 0; id < p.size(); ++id) {
    const ir::TileOp& op = p.op(id);
    // The array's ops (unit_of() == kArray).
    if (op.opcode != Opcode::kPreload && op.opcode != Opcode::kMatmul && op.opcode != Opcode::kOsMatmul) continue;
    const timing::OpTime& t = tl.ops[id];
    WindowBin& b = bins[t.beat];
    b.w = t.beat;
    if (op.opcode != Opcode::kMatmul) ++b.tiles;
    if (op.opcode != Opcode::kPreload) {
      ++b.matmuls;
      b.array_cycles += t.finish - t.issue;
    }
    if (op.opcode == Opcode::kPreload && !scalesim) {
      pending_preload = id;  // loads the other weight set while the array streams
      continue;
    }
    uint64_t release = t.finish;
    if (op.opcode == Opcode::kMatmul && !scalesim) release = t.issue + uint64_t{op.m} * t.beat;
    if (t.issue > port_free) {
      uint64_t latest = port_free;
      std::string cause = "beat_change";
      for (ir::OpId d : p.deps(id)) {
        if (tl.ops[d].done > latest) {
          latest = tl.ops[d].done;
          cause = std::string("wait_") + ir::unit_name(ir::unit_of(p.op(d).opcode));
        }
      }
      if (op.opcode == Opcode::kMatmul && pending_preload >= 0 &&
          tl.ops[static_cast<size_t>(pending_preload)].finish > latest) {
        cause = "wait_preload";
      }
      stalls[cause] += t.issue - port_free;
    }
    if (op.opcode == Opcode::kMatmul) pending_preload = -1;
    busy += release - std::max(t.issue, port_free);
    port_free = std::max(port_free, release);
  }
  if (tl.total_cycles > port_free) stalls["final_drain"] += tl.total_cycles - port_free;
  r.array_busy_cycles = busy;
  const char* order[] = {"wait_dma_in", "wait_preload", "wait_epilogue", "wait_dma_out", "wait_array", "beat_change",
                         "final_drain"};
  for (const char* name : order) {
    if (stalls.count(name)) r.stall_cycles.emplace_back(name, stalls[name]);
  }
  for (const auto& [w, b] : bins) r.window_histogram.push_back(b);
}

nlohmann::json breakdown_json(const cost::Breakdown& b) {
  nlohmann::json j;
  j["total"] = b.total;
  nlohmann::json items = nlohmann::json::object();
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& item : b.items) {
    items[item.name] = item.value;
    // `kind` is `source` under its fqsim.report/1 name, kept for readers of earlier reports.
    sources[item.name] = {{"source", item.source}, {"kind", item.source}, {"detail", item.detail}};
    if (item.stale) sources[item.name]["stale"] = true;
  }
  j["breakdown"] = items;
  j["sources"] = sources;
  return j;
}

nlohmann::json actions_json(const timing::ActionCounts& a) {
  nlohmann::json j;
  j["dram_read_bytes"] = a.dram_read_bytes;
  j["dram_write_bytes"] = a.dram_write_bytes;
  for (size_t b = 0; b < a.buf_read_bytes.size(); ++b) {
    const std::string name = ir::buffer_name(static_cast<ir::Buffer>(b));
    j[name + "_read_bytes"] = a.buf_read_bytes[b];
    j[name + "_write_bytes"] = a.buf_write_bytes[b];
  }
  j["decoder_bytes"] = a.decoder_bytes;
  j["pe_pulses"] = a.pe_pulses;
  j["pe_idle_cycles"] = a.pe_idle_cycles;
  j["pe_macs"] = a.pe_macs;
  j["pe_idle_beats"] = a.pe_idle_beats;
  j["pe_beats"] = a.pe_beats;
  j["pe_psum_writes"] = a.pe_psum_writes;
  j["pe_valid_clears"] = a.pe_valid_clears;
  j["array_beats"] = a.array_beats;
  j["array_rows"] = a.array_rows;
  j["weight_writes"] = a.weight_writes;
  j["weight_clears"] = a.weight_clears;
  nlohmann::json ctrl = nlohmann::json::object();
  for (size_t r = 0; r < timing::kCtrlRegs; ++r) ctrl[timing::ctrl_reg_name(static_cast<timing::CtrlReg>(r))] = a.ctrl_writes[r];
  j["ctrl_writes"] = ctrl;
  j["dequant_elems"] = a.dequant_elems;
  j["useful_macs"] = a.useful_macs;
  return j;
}

// Engineering notation: 1.23 ms, 4.56 MJ.
std::string si(double v, const char* unit) {
  if (v == 0) return fmt::format("0 {}", unit);
  const char* prefixes[] = {"p", "n", "u", "m", "", "k", "M", "G", "T"};
  int i = 4;
  while (std::abs(v) >= 1000 && i < 8) {
    v /= 1000;
    ++i;
  }
  while (std::abs(v) < 1 && i > 0) {
    v *= 1000;
    --i;
  }
  return fmt::format("{:.3g} {}{}", v, prefixes[i], unit);
}

}  // namespace

// The parts of the report that need every op's issue and finish cycles and the action counts.
static void timeline_parts(const ir::TileProgram& p, const ArchConfig& arch, const timing::Timeline& tl,
                           const cost::CostModel& costs, double ops, Report& r) {
  r.actions = tl.actions;
  array_stalls_and_windows(p, arch, tl, r);
  r.pulses_per_pe_beat = pe_model(arch).work() == PeModel::Work::kPulses && tl.actions.pe_beats > 0
                             ? static_cast<double>(tl.actions.pe_pulses) / static_cast<double>(tl.actions.pe_beats)
                             : 0;
  r.energy_pj = costs.energy_pj(tl.actions, tl.total_cycles);
  r.tops_per_w = r.energy_pj.total > 0 ? ops / r.energy_pj.total : 0;
  r.power_w = r.seconds > 0 ? r.energy_pj.total * 1e-12 / r.seconds : 0;
}

// `tl` is the engine's op timeline; without one (rtl), `result` gives the done cycles only and the
// parts that need issue and finish cycles or action counts are left out (Report::op_timeline).
static Report build(const ir::TileProgram& p, const ArchConfig& arch, const timing::Timeline* tl,
                    const EngineResult* result, const cost::CostModel& costs, const std::string& engine,
                    const std::string& workload) {
  Report r;
  r.engine = engine;
  r.workload = workload;
  r.arch = arch;
  r.fingerprint = fingerprint(arch);
  r.ops = p.size();
  r.op_timeline = tl != nullptr;
  const uint64_t total = tl != nullptr ? tl->total_cycles : result->total_cycles();
  r.total_cycles = total;
  r.reported_cycles = arch.timing == TimingModel::kScaleSim ? timing::scalesim_reported_cycles(total) : total;
  r.seconds = static_cast<double>(total) / (arch.clock_mhz * 1e6);
  const double pes = static_cast<double>(arch.rows) * arch.cols;
  // Without action counts the useful MACs are the GEMM table's M N K (what useful_macs counts).
  uint64_t useful = 0;
  if (tl != nullptr) {
    useful = tl->actions.useful_macs;
  } else {
    for (const auto& d : p.gemms) useful += uint64_t{d.m} * d.n * d.k;
  }
  r.utilisation = total == 0 ? 0 : static_cast<double>(useful) / (static_cast<double>(total) * pes);
  r.area_um2 = costs.area_um2();
  const double ops = 2.0 * static_cast<double>(useful);
  r.tops = r.seconds > 0 ? ops / r.seconds / 1e12 : 0;
  r.useful_macs = useful;
  if (tl != nullptr) timeline_parts(p, arch, *tl, costs, ops, r);

  timing::OpGemms gemm_of(p);
  std::vector<uint64_t> last(p.gemms.size(), 0), first(p.gemms.size(), UINT64_MAX);
  for (ir::OpId id = 0; id < p.size(); ++id) {
    const uint32_t g = gemm_of.of(p.op(id));
    if (g >= p.gemms.size()) continue;
    last[g] = std::max(last[g], tl != nullptr ? tl->ops[id].done : result->done_cycle(id));
    if (tl != nullptr) first[g] = std::min(first[g], tl->ops[id].issue);
  }
  uint64_t makespan = 0;
  for (size_t g = 0; g < p.gemms.size(); ++g) {
    const ir::GemmDesc& d = p.gemms[g];
    GemmReport gr;
    gr.name = d.name;
    gr.format = d.format;
    gr.m = d.m;
    gr.n = d.n;
    gr.k = d.k;
    const uint64_t grown = std::max(makespan, last[g]);
    gr.cycles = grown - makespan;
    makespan = grown;
    gr.first_issue = first[g] == UINT64_MAX ? 0 : first[g];
    gr.last_done = last[g];
    gr.utilisation = gr.cycles == 0 ? 0 : static_cast<double>(uint64_t{d.m} * d.n * d.k) / (static_cast<double>(gr.cycles) * pes);
    if (tl != nullptr) {
      gr.actions = g < tl->gemm_actions.size() ? tl->gemm_actions[g] : timing::ActionCounts{};
      gr.energy_pj = costs.energy_pj(gr.actions, gr.cycles);
    }
    r.gemms.push_back(std::move(gr));
  }
  return r;
}

Report build_report(const ir::TileProgram& p, const ArchConfig& arch, const timing::Timeline& tl,
                    const cost::CostModel& costs, const std::string& engine, const std::string& workload) {
  return build(p, arch, &tl, nullptr, costs, engine, workload);
}

Report build_report(const ir::TileProgram& p, const ArchConfig& arch, const EngineResult& result,
                    const cost::CostModel& costs, const std::string& workload) {
  if (!result.timed()) fail("report: the {} engine computes no cycles", result.engine);
  return build(p, arch, result.timeline ? &*result.timeline : nullptr, &result, costs, result.engine, workload);
}

// Stalls, traffic, PE activity, beat windows and energy: the text of Report::op_timeline's parts.
static std::string activity_text(const Report& r) {
  const bool pulses = pe_model(r.arch).work() == PeModel::Work::kPulses;
  std::string s;
  s += fmt::format("\narray input port: busy {} cycles ({:.1f}%)", r.array_busy_cycles,
                   r.total_cycles ? 100.0 * static_cast<double>(r.array_busy_cycles) / static_cast<double>(r.total_cycles) : 0.0);
  for (const auto& [cause, cycles] : r.stall_cycles) s += fmt::format(", {} {}", cause, cycles);
  s += "\n";
  const auto& x = r.actions;
  s += fmt::format("traffic (bytes): DRAM read {} write {}", x.dram_read_bytes, x.dram_write_bytes);
  for (size_t b = 0; b < x.buf_read_bytes.size(); ++b) {
    s += fmt::format("; {} read {} write {}", ir::buffer_name(static_cast<ir::Buffer>(b)), x.buf_read_bytes[b],
                     x.buf_write_bytes[b]);
  }
  s += "\n";
  if (pulses) {
    s += fmt::format("PEs: {} pulses, {} idle PE-cycles, {} PE-beats, {} decoder bytes\n", x.pe_pulses,
                     x.pe_idle_cycles, x.pe_beats, x.decoder_bytes);
  } else {
    s += fmt::format("PEs: {} MACs, {} idle PE-beats, {} PE-beats\n", x.pe_macs, x.pe_idle_beats, x.pe_beats);
  }
  s += "beat windows (W: weight tiles, matmuls, array cycles):";
  for (const auto& b : r.window_histogram) s += fmt::format("  W={}: {} / {} / {}", b.w, b.tiles, b.matmuls, b.array_cycles);
  s += r.window_histogram.empty() ? " none\n" : "\n";
  if (pulses) s += fmt::format("pulses per PE-beat: {:.4f}\n", r.pulses_per_pe_beat);
  s += fmt::format("\nenergy {} (configs/costs.yaml; source: table, scaled or derived)\n", si(r.energy_pj.total * 1e-12, "J"));
  for (const auto& item : r.energy_pj.items) {
    s += fmt::format("  {:<18} {:>12} {:>5.1f}%  {}\n", item.name, si(item.value * 1e-12, "J"),
                     r.energy_pj.total > 0 ? 100 * item.value / r.energy_pj.total : 0.0, item.source);
  }
  return s;
}

std::string to_text(const Report& r) {
  const ArchConfig& a = r.arch;
  std::string s;
  const std::string pe = pe_model(a).describe(a);
  s += fmt::format("{} on {} ({}): {} x {} {}, {}, {} timing, {} MHz, {} nm {} V; engine {}, {} ops\n", r.workload,
                   a.name, r.fingerprint, a.rows, a.cols, pe, to_string(a.dataflow), to_string(a.timing), a.clock_mhz,
                   a.tech_node_nm, a.vdd_v, r.engine, r.ops);
  s += fmt::format("\n{:<22} {:>6} {:>6} {:>6} {:>8} {:>13} {:>11} {:>6} {:>12}\n", "gemm", "M", "N", "K", "format",
                   "cycles", "time", "util", "energy");
  for (const auto& g : r.gemms) {
    s += fmt::format("{:<22} {:>6} {:>6} {:>6} {:>8} {:>13} {:>11} {:>5.1f}% {:>12}\n", g.name, g.m, g.n, g.k,
                     format_name(g.format), g.cycles, si(static_cast<double>(g.cycles) / (a.clock_mhz * 1e6), "s"),
                     100 * g.utilisation, r.op_timeline ? si(g.energy_pj.total * 1e-12, "J") : "-");
  }
  s += fmt::format("{:<22} {:>6} {:>6} {:>6} {:>8} {:>13} {:>11} {:>5.1f}% {:>12}\n", "total", "", "", "", "",
                   r.total_cycles, si(r.seconds, "s"), 100 * r.utilisation,
                   r.op_timeline ? si(r.energy_pj.total * 1e-12, "J") : "-");
  if (a.timing == TimingModel::kScaleSim) {
    s += fmt::format("SCALE-Sim convention (last cycle, 0-based): {} cycles\n", r.reported_cycles);
  }
  if (r.op_timeline) {
    s += activity_text(r);
  } else {
    s += fmt::format("\nstalls, traffic, PE activity, beat windows and energy: not produced (the {} engine gives only "
                     "the done cycle of each op and counts no actions)\n",
                     r.engine);
  }
  s += fmt::format("area {:.4g} mm2 (source: synthesis of rtl/ (configs/synth_area.yaml), table, scaled or derived)\n",
                   r.area_um2.total * 1e-6);
  std::string stale;
  for (const auto& item : r.area_um2.items) {
    s += fmt::format("  {:<18} {:>9.4f} mm2 {:>5.1f}%  {}{}\n", item.name, item.value * 1e-6,
                     100 * item.value / r.area_um2.total, item.source, item.stale ? " (STALE)" : "");
    if (item.stale) stale += fmt::format("  {}: {}\n", item.name, item.detail.substr(item.detail.find("STALE: ") + 7));
  }
  if (!stale.empty()) s += fmt::format("warning: synthesis figures from RTL that has changed since; still used:\n{}", stale);
  if (r.op_timeline) {
    s += fmt::format("\neffective {:.4g} TOPS, {:.4g} TOPS/W, average power {:.4g} W ({} useful MACs)\n", r.tops,
                     r.tops_per_w, r.power_w, r.useful_macs);
  } else {
    s += fmt::format("\neffective {:.4g} TOPS ({} useful MACs, from the GEMM table)\n", r.tops, r.useful_macs);
  }
  return s;
}

namespace {
// The report keys that need an op timeline (Report::op_timeline), at the top level and per GEMM.
const std::vector<const char*> kOpTimelineKeys = {"array_busy_cycles",  "stall_cycles", "actions",   "energy_pj",
                                                  "window_histogram",   "pulses_per_pe_beat", "tops_per_w", "power_w"};
const std::vector<const char*> kGemmOpTimelineKeys = {"first_issue", "actions", "energy_pj"};
}  // namespace

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  j["schema"] = kReportSchema;
  j["engine"] = r.engine;
  j["workload"] = r.workload;
  j["arch"] = {{"name", r.arch.name},
               {"fingerprint", r.fingerprint},
               {"rows", r.arch.rows},
               {"cols", r.arch.cols},
               {"pe_kind", r.arch.pe_kind},
               {"window", pe_model(r.arch).uses_window(r.arch) ? to_string(r.arch.window) : "none"},
               {"weight_format", format_name(pe_model(r.arch).weight_format(r.arch))},
               {"weight_bits", format_int_bits(pe_model(r.arch).weight_format(r.arch))},
               {"dataflow", to_string(r.arch.dataflow)},
               {"timing", to_string(r.arch.timing)},
               {"clock_mhz", r.arch.clock_mhz},
               {"tech_node_nm", r.arch.tech_node_nm},
               {"vdd_v", r.arch.vdd_v}};
  j["ops"] = r.ops;
  j["total_cycles"] = r.total_cycles;
  j["reported_cycles"] = r.reported_cycles;
  j["time_s"] = r.seconds;
  j["utilisation"] = r.utilisation;
  j["array_busy_cycles"] = r.array_busy_cycles;
  nlohmann::json stalls = nlohmann::json::object();
  for (const auto& [cause, cycles] : r.stall_cycles) stalls[cause] = cycles;
  j["stall_cycles"] = stalls;
  j["actions"] = actions_json(r.actions);
  j["energy_pj"] = breakdown_json(r.energy_pj);
  j["area_um2"] = breakdown_json(r.area_um2);
  nlohmann::json windows = nlohmann::json::array();
  for (const auto& b : r.window_histogram) {
    windows.push_back({{"w", b.w}, {"tiles", b.tiles}, {"matmuls", b.matmuls}, {"array_cycles", b.array_cycles}});
  }
  j["window_histogram"] = windows;
  j["pulses_per_pe_beat"] = r.pulses_per_pe_beat;
  j["tops"] = r.tops;
  j["tops_per_w"] = r.tops_per_w;
  j["power_w"] = r.power_w;
  if (!r.op_timeline) {
    // The engine gave no issue/finish cycles and no action counts: these keys are left out, not zero.
    for (const char* k : kOpTimelineKeys) j.erase(k);
    j["absent"] = kOpTimelineKeys;
    j["gemm_absent"] = kGemmOpTimelineKeys;
  }
  nlohmann::json gemms = nlohmann::json::array();
  for (const auto& g : r.gemms) {
    gemms.push_back({{"name", g.name},
                     {"format", format_name(g.format)},
                     {"M", g.m},
                     {"N", g.n},
                     {"K", g.k},
                     {"cycles", g.cycles},
                     {"first_issue", g.first_issue},
                     {"last_done", g.last_done},
                     {"utilisation", g.utilisation},
                     {"actions", actions_json(g.actions)},
                     {"energy_pj", breakdown_json(g.energy_pj)},
                     {"area_um2", breakdown_json(r.area_um2)}});
    if (!r.op_timeline) {
      for (const char* k : kGemmOpTimelineKeys) gemms.back().erase(k);
    }
  }
  j["gemms"] = gemms;
  return j;
}

uint64_t write_chrome_trace(const ir::TileProgram& p, const ArchConfig& arch, const timing::Timeline& tl,
                            const std::string& path, uint64_t max_ops) {
  const double us_per_cycle = 1.0 / arch.clock_mhz;
  const bool scalesim = arch.timing == TimingModel::kScaleSim;
  const uint64_t n = std::min<uint64_t>(max_ops, p.size());
  const std::vector<uint32_t> gemm_of = timing::op_gemms(p);
  write_file_atomically(path, [&](std::ostream& out) {
    out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    // Tracks: 0 dma_in, 1 array (input port), 2 epilogue, 3 dma_out, 4 array preload.
    const char* tracks[] = {"dma_in (DRAM read channel)", "array (activation input)", "epilogue", "dma_out (DRAM write channel)",
                            "array (weight preload)"};
    for (int t = 0; t < 5; ++t) {
      out << fmt::format(R"({{"name":"thread_name","ph":"M","pid":1,"tid":{},"args":{{"name":"{}"}}}},)", t, tracks[t])
          << "\n";
    }
    out << R"({"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"fqsim accelerator"}})";
    for (ir::OpId id = 0; id < n; ++id) {
      const ir::TileOp& op = p.op(id);
      const timing::OpTime& t = tl.ops[id];
      uint64_t b = t.issue, e = t.finish;
      int tid = static_cast<int>(ir::unit_of(op.opcode));
      switch (op.opcode) {
        case Opcode::kDmaLoad:
          if (!scalesim) b = e - timing::dma_transfer_cycles(arch, op.rows, op.bytes);
          break;
        case Opcode::kDmaStore:
          if (!scalesim) {
            e = t.finish - static_cast<uint64_t>(arch.dram_latency_cycles);
            b = e - timing::dma_transfer_cycles(arch, op.rows, op.bytes);
          }
          break;
        case Opcode::kPreload:
          if (!scalesim) tid = 4;
          break;
        case Opcode::kMatmul:
          if (!scalesim) e = t.issue + uint64_t{op.m} * t.beat;
          break;
        default: break;
      }
      const std::string gemm = gemm_of[id] < p.gemms.size() ? p.gemms[gemm_of[id]].name : "";
      out << fmt::format(
          ",\n{{\"name\":\"{} {}\",\"cat\":\"{}\",\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{:.6f},\"dur\":{:.6f},"
          "\"args\":{{\"op\":{},\"issue\":{},\"finish\":{},\"done\":{},\"beat\":{}}}}}",
          ir::opcode_name(op.opcode), gemm, ir::unit_name(ir::unit_of(op.opcode)), tid,
          static_cast<double>(b) * us_per_cycle, static_cast<double>(e - b) * us_per_cycle, id, t.issue, t.finish, t.done,
          t.beat);
      if (op.opcode == Opcode::kMatmul && !scalesim && t.finish > e) {
        // The drain overlaps the next matmuls' streaming: an async slice on its own track.
        out << fmt::format(
            ",\n{{\"name\":\"drain {}\",\"cat\":\"array drain\",\"ph\":\"b\",\"id\":{},\"pid\":1,\"ts\":{:.6f}}}"
            ",\n{{\"name\":\"drain {}\",\"cat\":\"array drain\",\"ph\":\"e\",\"id\":{},\"pid\":1,\"ts\":{:.6f}}}",
            gemm, id, static_cast<double>(e) * us_per_cycle, gemm, id, static_cast<double>(t.finish) * us_per_cycle);
      }
    }
    out << "\n]}\n";
  });
  return n;
}

}  // namespace fq::sim
