// Speed of the tile program text form and verifier on a synthetic ~1 M-op program (a
// double-buffered ws schedule of a 2048 x 3072 x 3072 fineq_r GEMM on a 24 x 24 array).
// Prints ops/s for print, parse and verify; exits non-zero if the round trip or the verifier fails.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "model/ir/tir_text.h"
#include "model/ir/verifier.h"
#include "tests/support/tir_builders.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  using namespace fq;
  using namespace fq::ir;
  ArchConfig arch = test::ir_arch("temporal", Dataflow::kWeightStationary, 24, 24);
  const test::Tiling tiling{.mt = 128, .nt = 24, .kt = 24};
  test::size_buffers(arch, HwFormat::kFineqR, tiling);
  TileProgram program;
  program.arch_fingerprint = test::kTestFingerprint;
  program.arch_name = arch.name;
  uint64_t dram_bytes = 0;
  program.gemms.push_back(test::place_gemm(dram_bytes, "layer.w", HwFormat::kFineqR, 2048, 3072, 3072));

  auto t0 = std::chrono::steady_clock::now();
  test::schedule_all(program, arch, tiling);
  const double build_s = seconds_since(t0);
  const auto ops = static_cast<double>(program.size());
  std::printf("program: %zu ops, %zu deps, %zu bytes per op, built in %.3f s\n", program.size(), program.total_deps(),
              sizeof(TileOp), build_s);

  const auto path = std::filesystem::temp_directory_path() / "fqsim_bench_tir.tir";
  t0 = std::chrono::steady_clock::now();
  write_tir(program, path);
  const double print_s = seconds_since(t0);
  const auto file_bytes = static_cast<double>(std::filesystem::file_size(path));
  std::printf("print:  %8.3f s  %6.2f M ops/s  %6.1f MB/s  (write_tir, %.0f bytes)\n", print_s, ops / print_s / 1e6,
              file_bytes / print_s / 1e6, file_bytes);

  t0 = std::chrono::steady_clock::now();
  const TileProgram parsed = read_tir(path);
  const double parse_s = seconds_since(t0);
  std::printf("parse:  %8.3f s  %6.2f M ops/s  (read_tir)\n", parse_s, ops / parse_s / 1e6);
  std::filesystem::remove(path);

  t0 = std::chrono::steady_clock::now();
  const auto problems = check(parsed, arch, test::kTestFingerprint, dram_bytes);
  const double verify_s = seconds_since(t0);
  std::printf("verify: %8.3f s  %6.2f M ops/s\n", verify_s, ops / verify_s / 1e6);

  if (!(parsed == program)) {
    std::printf("FAIL: parse(print(p)) != p\n");
    return 1;
  }
  if (!problems.empty()) {
    std::printf("FAIL: %zu verifier problems, first: %s\n", problems.size(), problems.front().c_str());
    return 1;
  }
  return 0;
}
