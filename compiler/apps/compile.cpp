// compile: maps a quantized layer onto an architecture and writes the tile program (.tir) and
// its DRAM memory image (.mem). Activations are seeded synthetic INT8 rows (fineq-spec.md §4).
#include "compiler/compiler.h"
#include "model/core/cli.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/ir/tir_text.h"
#include "model/ir/verifier.h"
#include "model/qfile/qfile.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace {

constexpr const char* kUsage = R"(usage: compile --arch ARCH.yaml [--set KEY=VALUE ...] --layer LAYER.q --tokens M
               [--seed S] [--out PREFIX] [--explain]

Maps every GEMM of LAYER.q (activations M x K times the weights' N x K) onto the array of
ARCH.yaml, verifies the program, and writes PREFIX.tir and PREFIX.mem (default PREFIX: the
layer's file name without .q, in the current folder). Activations are synthetic FP32 rows from
--seed (default 1), quantized to INT8 per token. --explain prints every mapping the search
considered and why the winner won.
)";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(int argc, char** argv) {
  fq::CommandLine cl(argc, argv, {"explain", "help"});
  if (cl.flag("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string arch_path = cl.required("arch");
  const auto overrides = cl.values("set");
  const std::string layer_path = cl.required("layer");
  const std::string tokens_text = cl.required("tokens");
  const std::string seed_text = cl.value("seed").value_or("1");
  const bool show_explain = cl.flag("explain");
  std::string prefix = cl.value("out").value_or(std::filesystem::path(layer_path).stem().string());
  cl.finish();

  fq::Params numbers;
  numbers.set("tokens", tokens_text);
  numbers.set("seed", seed_text);
  const auto tokens = static_cast<int>(numbers.get_int("tokens", 1, 1, 1 << 20));
  const auto seed = static_cast<uint64_t>(numbers.get_int("seed", 1, 0, INT64_MAX));

  auto t0 = std::chrono::steady_clock::now();
  const auto start = t0;
  const fq::ArchConfig arch = fq::load_arch(arch_path, overrides);
  const std::vector<fq::QTensor> tensors = fq::read_qfile(layer_path);
  const double read_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();

  std::vector<fq::QuantizedActs> acts;
  acts.reserve(tensors.size());
  for (size_t g = 0; g < tensors.size(); ++g) {
    const int k = tensors[g].matrix.cols;
    const auto x = fq::synthetic_activations(tokens, k, seed + g);
    acts.push_back(fq::quantize_activations(x, tokens, k));
  }
  std::vector<fq::compiler::GemmInput> inputs;
  for (size_t g = 0; g < tensors.size(); ++g) {
    inputs.push_back({&tensors[g], {acts[g].rows, acts[g].cols, acts[g].q, acts[g].scales}});
  }
  const double acts_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto layer = fq::compiler::compile_layer(arch, inputs);
  const double compile_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  fq::ir::verify(layer.program, arch, layer.program.arch_fingerprint, layer.memory.end_bytes());
  const double verify_s = seconds_since(t0);

  if (show_explain) {
    for (const auto& plan : layer.plans) fmt::print("{}\n", fq::compiler::explain(plan));
  }
  fmt::print("arch {} ({}), {} x {} array, layer {} ({} GEMMs), M = {}\n", arch.name, layer.program.arch_fingerprint,
             arch.rows, arch.cols, layer_path, tensors.size(), tokens);
  fmt::print("{}", fq::compiler::mapping_summary(layer));

  t0 = std::chrono::steady_clock::now();
  const std::string tir_path = prefix + ".tir";
  const std::string mem_path = prefix + ".mem";
  fq::ir::write_tir(layer.program, tir_path);
  try {
    fq::ir::write_mem(layer.memory, mem_path);
  } catch (...) {
    std::filesystem::remove(tir_path);  // never leave half of the pair behind
    throw;
  }
  fmt::print("wrote {} ({} ops) and {} ({} segments, {} bytes of DRAM)\n", tir_path, layer.program.size(), mem_path,
             layer.memory.segments().size(), layer.memory.end_bytes());
  fmt::print("time: read .q {:.2f} s, activations {:.2f} s, map and lower {:.2f} s, verify {:.2f} s, write {:.2f} s; "
             "total {:.2f} s\n",
             read_s, acts_s, compile_s, verify_s, seconds_since(t0), seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return fq::run_command("compile", argc, argv, run); }
