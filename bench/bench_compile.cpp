// bench_compile: compile time of a whole decoder layer (traces/*.yaml) on a preset, the figure
// issue 3 asks for (LLaMA-2-7B at 2048 tokens under 5 s). Codes and activations are random: the
// mapping and lowering do not depend on their values.
// Usage: bench_compile [ARCH.yaml] [WORKLOAD.yaml] [TOKENS]   (defaults: configs/fineq.yaml,
//        traces/llama2-7b.yaml, 2048; run from the repository root)
#include "compiler/compiler.h"
#include "model/arch/pe_model.h"
#include "model/arch/workload.h"
#include "model/core/fp16.h"
#include "model/ir/tir_text.h"
#include "model/ir/verifier.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

uint64_t next(uint64_t& s) {  // splitmix64: fast, deterministic filler
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arch_path = argc > 1 ? argv[1] : "configs/fineq.yaml";
  const std::string workload = argc > 2 ? argv[2] : "traces/llama2-7b.yaml";
  const int64_t tokens = argc > 3 ? std::atoll(argv[3]) : 2048;
  try {
    const auto arch = fq::load_arch(arch_path);
    const auto shapes = fq::load_workload(workload, tokens);
    const auto format = fq::pe_model(arch).weight_format(arch);
    uint64_t state = 1;
    std::vector<fq::QTensor> tensors(shapes.size());
    std::vector<std::vector<int8_t>> acts(shapes.size());
    std::vector<std::vector<float>> scales(shapes.size());
    std::vector<fq::compiler::GemmInput> inputs;
    for (size_t g = 0; g < shapes.size(); ++g) {
      auto& t = tensors[g];
      t.name = shapes[g].name;
      t.method = "random";
      auto& m = t.matrix;
      m.format = format;
      m.rows = static_cast<int>(shapes[g].n);
      m.cols = static_cast<int>(shapes[g].k);
      m.cols_padded = format == fq::HwFormat::kFineqR ? 3 * ((m.cols + 2) / 3) : m.cols;
      m.codes.resize(static_cast<size_t>(m.rows) * static_cast<size_t>(m.row_bytes()));
      for (auto& b : m.codes) b = static_cast<uint8_t>(next(state));
      m.scales.assign(static_cast<size_t>(m.rows), fq::fp16_from_float(0.01f));
      acts[g].resize(static_cast<size_t>(tokens * shapes[g].k));
      for (auto& a : acts[g]) a = static_cast<int8_t>(static_cast<int>(next(state) % 255) - 127);
      scales[g].assign(static_cast<size_t>(tokens), 0.02f);
      inputs.push_back({&t, {static_cast<int>(tokens), m.cols, acts[g], scales[g]}});
    }
    auto t0 = std::chrono::steady_clock::now();
    const auto layer = fq::compiler::compile_layer(arch, inputs);
    const double compile_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    fq::ir::verify(layer.program, arch, layer.program.arch_fingerprint, layer.memory.end_bytes());
    const double verify_s = seconds_since(t0);
    const auto dir = std::filesystem::temp_directory_path() / "fqsim_bench_compile";
    std::filesystem::create_directories(dir);
    t0 = std::chrono::steady_clock::now();
    fq::ir::write_tir(layer.program, dir / "layer.tir");
    const double tir_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    fq::ir::write_mem(layer.memory, dir / "layer.mem");
    const double mem_s = seconds_since(t0);
    std::filesystem::remove_all(dir);
    fmt::print("bench_compile: {} on {} ({}x{}), M = {}: {} GEMMs, {} ops, {} deps, {:.0f} MB DRAM image\n", workload,
               arch.name, arch.rows, arch.cols, tokens, shapes.size(), layer.program.size(),
               layer.program.total_deps(), static_cast<double>(layer.memory.end_bytes()) / 1e6);
    fmt::print("  compile (map + lower + memory image) {:.2f} s; verify {:.2f} s; write .tir {:.2f} s; write .mem {:.2f} s\n",
               compile_s, verify_s, tir_s, mem_s);
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_compile: {}\n", e.what());
    return 1;
  }
  return 0;
}
