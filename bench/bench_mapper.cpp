// bench_mapper: the quality of the mapper's choices. For a grid of architectures and GEMM shapes it
// prints, one line per point, the mapping the compiler chooses, the cost model's estimate and the
// fast engine's cycles of the emitted program. Run it on two commits and join the outputs to see
// which choices a cost-model change moves and whether the fast engine agrees (docs/compiler.md
// "Cost model and choice"). Weights and activations are seeded random (the beat of `pe.window:
// tile` depends on them), the same on every run.
// Usage: bench_mapper [presets|grid] [--no-fast]   (run from the repository root)
//   presets: configs/fineq, int8, int4.yaml (and int8 with dataflow=os, timing=scalesim) on the
//            shapes of tests/unit/303_mapping_regression.cpp without the 2048-token ones
//   grid:    the three presets with array.rows 9..66 x array.cols 8..64 x dram.bytes_per_cycle
//            4, 32, 128 (int8 also os), and small buffers, on the test and stories260K shapes
#include "compiler/compiler.h"
#include "model/arch/pe_model.h"
#include "model/core/error.h"
#include "model/ckpt/random_layer.h"
#include "sim/fast/fast_engine.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct ArchPoint {
  std::string label, file;
  std::vector<std::string> sets;
};

using Shape = std::tuple<int, int, int>;  // M, N, K

// The GEMM shapes of the compiler and engine tests, the stories260K layer (M = 16 and 1) and the
// LLaMA-2-7B layer at M = 1.
const std::vector<Shape> kTestShapes = {
    {1, 1, 1},       {1, 3, 1},        {3, 2, 2},         {5, 7, 4},    {4, 9, 13},    {17, 5, 29},
    {2, 3, 64},      {9, 4, 172},      {3, 6, 17},        {7, 11, 40},  {40, 20, 64},  {40, 9, 100},
    {10, 9, 20},     {10, 5, 11},      {16, 70, 100},     {64, 64, 64}, {100, 70, 50}, {32, 32, 32},
    {256, 128, 512}, {64, 1024, 1024}, {256, 1024, 1024}, {16, 64, 64}, {16, 32, 64},  {16, 172, 64},
    {16, 64, 172},   {1, 64, 64},      {1, 32, 64},       {1, 172, 64}, {1, 64, 172}};
const std::vector<Shape> k7bDecode = {{1, 4096, 4096}, {1, 11008, 4096}, {1, 4096, 11008}};

std::vector<ArchPoint> presets() {
  return {{"fineq", "fineq.yaml", {}},
          {"int8", "int8.yaml", {}},
          {"int4", "int4.yaml", {}},
          {"int8-os", "int8.yaml", {"dataflow=os"}},
          {"int8-scalesim", "int8.yaml", {"timing=scalesim"}},
          {"int8-os-scalesim", "int8.yaml", {"dataflow=os", "timing=scalesim"}}};
}

std::vector<ArchPoint> grid() {
  std::vector<ArchPoint> out;
  for (const std::string f : {"fineq", "int8", "int4"}) {
    for (int r : {9, 18, 33, 66}) {
      for (int c : {8, 16, 32, 64}) {
        for (int b : {4, 32, 128}) {
          std::vector<std::string> sets = {fmt::format("array.rows={}", r), fmt::format("array.cols={}", c),
                                           fmt::format("dram.bytes_per_cycle={}", b)};
          out.push_back({fmt::format("{}/r{}c{}b{}", f, r, c, b), f + ".yaml", sets});
          if (f == "int8") {
            sets.push_back("dataflow=os");
            out.push_back({fmt::format("{}/r{}c{}b{}os", f, r, c, b), f + ".yaml", sets});
          }
        }
      }
    }
    out.push_back(
        {f + "/smallbuf",
         f + ".yaml",
         {"buffers.act_bytes=512", "buffers.out_bytes=2048", "buffers.weight_bytes=1024", "buffers.scale_bytes=256"}});
    out.push_back({f + "/tinybuf",
                   f + ".yaml",
                   {"buffers.act_bytes=256", "buffers.out_bytes=1024", "buffers.weight_bytes=256",
                    "buffers.scale_bytes=128", "array.rows=6", "array.cols=4"}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = "presets";
  bool fast = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-fast") {
      fast = false;
    } else if (a == "presets" || a == "grid") {
      which = a;
    } else {
      std::fprintf(stderr, "usage: bench_mapper [presets|grid] [--no-fast]\n");
      return 2;
    }
  }
  std::vector<Shape> shapes = kTestShapes;
  if (which == "presets") shapes.insert(shapes.end(), k7bDecode.begin(), k7bDecode.end());
  try {
    for (const ArchPoint& p : which == "presets" ? presets() : grid()) {
      const auto arch = fq::load_arch("configs/" + p.file, p.sets);
      const auto format =
          fq::pe_model(arch).weight_format(arch);
      for (const auto& [m, n, k] : shapes) {
        const fq::QTensor w = fq::random_qtensor("g", format, n, k, 7);
        const fq::QuantizedActs acts = fq::random_acts(m, k, 8);
        const fq::compiler::GemmInput in{&w, {acts.rows, acts.cols, acts.q, acts.scales}};
        fq::compiler::CompiledLayer layer;
        try {
          layer = fq::compiler::compile_layer(arch, {&in, 1});
        } catch (const fq::Error& e) {  // e.g. a tile that does not fit the small buffers
          fmt::print("{} {}x{}x{} impossible\n", p.label, m, n, k);
          continue;
        }
        const auto& mp = layer.plans[0].mapping();
        const uint64_t cycles = fast ? fq::sim::run_fast(layer.program, arch, layer.memory).total_cycles : 0;
        fmt::print("{} {}x{}x{} {}{} kt={} nt={} mc={} slots={}{}{}{} ops={} est={} fast={}\n", p.label, m, n, k,
                   fq::compiler::to_string(mp.order), mp.a_resident ? "+A" : "", mp.kt, mp.nt, mp.mc, mp.w_slots,
                   mp.a_slots, mp.o_slots, mp.s_slots, layer.program.size(), mp.est_cycles, cycles);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_mapper: %s\n", e.what());
    return 1;
  }
  return 0;
}
