// `timing: scalesim` against SCALE-Sim v2's CALC-mode formulas (../shared/docs/anchors.md §2.1):
// reported cycles = F x (cycles per fold) - 1, WS: F = ceil(K/R) ceil(N/C) folds of 2R + C + M - 2,
// OS: F = ceil(M/R) ceil(N/C) folds of K + R + C - 2. The table holds SCALE-Sim's own reported
// numbers for these GEMMs (anchors.md "Verified runs"), not numbers derived from the formula.
#include "compiler/compiler.h"
#include "model/ckpt/random_layer.h"
#include "sim/fast/fast_engine.h"
#include "sim/systemc/sc_engine.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>

namespace {

struct Row {
  int rows, cols, m, n, k;
  fq::Dataflow dataflow;
  uint64_t scalesim_reported;
};

// The one mapping SCALE-Sim's folds correspond to: each weight tile preloaded once and all M rows
// streamed through it (ws), or each output tile computed over the whole K (os).
fq::compiler::CompiledLayer compile_folds(const fq::ArchConfig& arch, const fq::QTensor& w,
                                          const fq::QuantizedActs& a) {
  auto plan = fq::compiler::plan_gemm(arch, w.name, a.rows, w.matrix.rows, w.matrix.cols, w.matrix.format);
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const auto& c = plan.candidates[i];
    if (!c.legal) continue;
    const auto& mp = c.mapping;
    const bool ws_fold = mp.order == fq::compiler::LoopOrder::kNkm && mp.mc == a.rows && mp.kt == arch.rows;
    const bool os_fold = mp.order == fq::compiler::LoopOrder::kOs && mp.kt == w.matrix.cols;
    if (ws_fold || os_fold) {
      plan.chosen = static_cast<int>(i);
      break;
    }
  }
  REQUIRE(plan.chosen >= 0);
  const fq::compiler::GemmInput in{&w, {a.rows, a.cols, a.q, a.scales}};
  return fq::compiler::lower_layer(arch, {&in, 1}, {std::move(plan)});
}

}  // namespace

TEST_CASE("scalesim timing reproduces SCALE-Sim's reported cycles", "[sim][scalesim]") {
  using fq::Dataflow;
  const Row table[] = {
      {16, 8, 64, 64, 64, Dataflow::kWeightStationary, 3263},
      {16, 8, 100, 70, 50, Dataflow::kWeightStationary, 4967},
      {16, 8, 32, 32, 32, Dataflow::kWeightStationary, 559},
      {16, 8, 256, 128, 512, Dataflow::kWeightStationary, 150527},
      {32, 32, 64, 1024, 1024, Dataflow::kWeightStationary, 161791},
      {16, 8, 64, 64, 64, Dataflow::kOutputStationary, 2751},
      {16, 8, 100, 70, 50, Dataflow::kOutputStationary, 4535},
      {16, 8, 32, 32, 32, Dataflow::kOutputStationary, 431},
      {16, 8, 256, 128, 512, Dataflow::kOutputStationary, 136703},
      {32, 32, 256, 1024, 1024, Dataflow::kOutputStationary, 278015},
  };
  for (const Row& row : table) {
    fq::ArchConfig arch = fq::test::base_arch(row.rows, row.cols, "mac");
    arch.dataflow = row.dataflow;
    arch.timing = fq::TimingModel::kScaleSim;
    arch.out_bytes = 1 << 20;
    INFO(row.rows << "x" << row.cols << " " << fq::to_string(row.dataflow) << " M=" << row.m << " N=" << row.n
                  << " K=" << row.k);
    const auto w = fq::random_qtensor("g", fq::HwFormat::kInt8, row.n, row.k, 1);
    const auto a = fq::random_acts(row.m, row.k, 2);
    const auto layer = compile_folds(arch, w, a);
    const auto fast = fq::sim::run_fast(layer.program, arch, layer.memory);
    CHECK(fq::timing::scalesim_reported_cycles(fast.total_cycles) == row.scalesim_reported);
    if (row.rows * row.cols <= 128 && row.k <= 64) {  // the SystemC model agrees where it is quick to run
      fq::ir::MemoryImage mem = layer.memory;
      CHECK(fq::sim::run_systemc(layer.program, arch, mem) == fast);
    }
  }
}
