// The compiled program, run by the golden interpreter, equals the integer GEMM bit for bit.
#include "compiler/compiler.h"
#include "model/arch/pe_model.h"
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/ir/tile_interpreter.h"
#include "model/ir/tir_text.h"
#include "model/ir/verifier.h"
#include "model/quant/cluster_codec.h"

#include <catch2/catch.hpp>

#include <random>

namespace {

fq::ArchConfig small_arch(int rows, int cols, const std::string& kind, int weight_bits = 8) {
  fq::ArchConfig a;
  a.name = "test";
  a.rows = rows;
  a.cols = cols;
  a.pe_kind = kind;
  a.window = fq::BeatWindow::kTile;
  a.weight_bits = weight_bits;
  a.weight_bytes = 4096;
  a.act_bytes = 4096;
  a.out_bytes = 16384;
  a.scale_bytes = 1024;
  a.dram_bytes_per_cycle = 16;
  a.dram_latency_cycles = 20;
  a.clock_mhz = 1000;
  a.tech_node_nm = 28;
  a.vdd_v = 0.9;
  return a;
}

// Random weights in the given format: every code byte value for FineQ-R, full range for INTb.
fq::QTensor random_tensor(std::mt19937& rng, const std::string& name, fq::HwFormat format, int n, int k) {
  fq::QTensor t;
  t.name = name;
  t.method = "test";
  auto& m = t.matrix;
  m.format = format;
  m.rows = n;
  m.cols = k;
  m.cols_padded = format == fq::HwFormat::kFineqR ? 3 * ((k + 2) / 3) : k;
  std::uniform_int_distribution<int> byte(0, 255);
  if (format == fq::HwFormat::kFineqR) {
    m.codes.resize(static_cast<size_t>(n) * static_cast<size_t>(m.row_bytes()));
    for (auto& b : m.codes) b = static_cast<uint8_t>(byte(rng));
  } else {
    const int bits = fq::format_int_bits(format);
    std::uniform_int_distribution<int> q(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
    m.codes.resize(static_cast<size_t>(n) * static_cast<size_t>(m.row_bytes()));
    std::vector<int8_t> row(static_cast<size_t>(k));
    for (int r = 0; r < n; ++r) {
      for (auto& v : row) v = static_cast<int8_t>(q(rng));
      fq::pack_int_row(row, bits, std::span<uint8_t>(m.codes).subspan(static_cast<size_t>(r * m.row_bytes()),
                                                                         static_cast<size_t>(m.row_bytes())));
    }
  }
  std::uniform_real_distribution<float> scale(0.001f, 0.1f);
  for (int r = 0; r < n; ++r) m.scales.push_back(fq::fp16_from_float(scale(rng)));
  return t;
}

struct Acts {
  int rows = 0, cols = 0;
  std::vector<int8_t> q;
  std::vector<float> scales;
  fq::compiler::ActView view() const { return {rows, cols, q, scales}; }
};

Acts random_acts(std::mt19937& rng, int m, int k) {
  Acts a{m, k, {}, {}};
  std::uniform_int_distribution<int> q(-127, 127);
  std::uniform_real_distribution<float> s(0.001f, 0.05f);
  for (int i = 0; i < m * k; ++i) a.q.push_back(static_cast<int8_t>(q(rng)));
  for (int i = 0; i < m; ++i) a.scales.push_back(s(rng));
  return a;
}

// acc and y straight from the definition (spec §4), independent of the compiler and interpreter.
void check_against_reference(const fq::compiler::CompiledLayer& layer, const std::vector<fq::QTensor>& tensors,
                             const std::vector<Acts>& acts, const fq::ir::MemoryImage& mem) {
  for (size_t g = 0; g < tensors.size(); ++g) {
    const auto& d = layer.program.gemms[g];
    const auto w = fq::decode_all(tensors[g].matrix);
    const int M = acts[g].rows, N = tensors[g].matrix.rows, K = tensors[g].matrix.cols;
    for (int m = 0; m < M; ++m) {
      for (int n = 0; n < N; ++n) {
        int64_t sum = 0;
        for (int k = 0; k < K; ++k) sum += int64_t{acts[g].q[static_cast<size_t>(m * K + k)]} * w[static_cast<size_t>(n * K + k)];
        const auto acc = mem.read_i32(d.acc_addr + 4ull * static_cast<uint64_t>(m * N + n));
        INFO("gemm " << d.name << " m " << m << " n " << n);
        REQUIRE(acc == static_cast<int32_t>(sum));
        const float y = static_cast<float>(acc) * fq::fp16_to_float(tensors[g].matrix.scales[static_cast<size_t>(n)]) *
                        acts[g].scales[static_cast<size_t>(m)];
        REQUIRE(mem.read_f32(d.y_addr + 4ull * static_cast<uint64_t>(m * N + n)) == y);
      }
    }
  }
}

void compile_and_check(const fq::ArchConfig& arch, const std::vector<fq::QTensor>& tensors, const std::vector<Acts>& acts) {
  std::vector<fq::compiler::GemmInput> inputs;
  for (size_t g = 0; g < tensors.size(); ++g) inputs.push_back({&tensors[g], acts[g].view()});
  auto layer = fq::compiler::compile_layer(arch, inputs);
  int64_t planned_ops = 0;
  for (const auto& p : layer.plans) planned_ops += p.mapping().ops;
  CHECK(planned_ops == static_cast<int64_t>(layer.program.size()));  // the cost model counts ops exactly
  const auto problems = fq::ir::check(layer.program, arch, layer.memory.end_bytes());
  INFO((problems.empty() ? std::string() : problems.front()));
  REQUIRE(problems.empty());
  // The text form round-trips for every program the tests compile.
  const auto text = fq::ir::to_tir_text(layer.program);
  REQUIRE(fq::ir::parse_tir_text(text, "compiled.tir") == layer.program);
  auto mem = layer.memory;
  fq::golden::run_tile_program(layer.program, arch, mem);
  check_against_reference(layer, tensors, acts, mem);
}

}  // namespace

SCENARIO("golden interpreter on compiled programs equals the integer GEMM", "[compiler][golden]") {
  std::mt19937 rng(1234);
  GIVEN("FineQ-R layers of awkward shapes on a temporal array") {
    const auto arch = small_arch(6, 4, "temporal");
    for (const auto& [m, n, k] : std::vector<std::tuple<int, int, int>>{
             {1, 1, 1}, {1, 3, 1}, {3, 2, 2}, {5, 7, 4}, {4, 9, 13}, {17, 5, 29}, {2, 3, 64}, {9, 4, 172}}) {
      std::vector<fq::QTensor> t{random_tensor(rng, "g", fq::HwFormat::kFineqR, n, k)};
      std::vector<Acts> a{random_acts(rng, m, k)};
      INFO("M " << m << " N " << n << " K " << k);
      compile_and_check(arch, t, a);
    }
  }
  GIVEN("INT4, INT3 and INT2 layers on MAC arrays of the same width") {
    for (int bits : {8, 4, 3, 2}) {
      const auto arch = small_arch(9, 5, "mac", bits);
      for (const auto& [m, n, k] : std::vector<std::tuple<int, int, int>>{{1, 1, 1}, {3, 6, 17}, {7, 11, 40}}) {
        std::vector<fq::QTensor> t{random_tensor(rng, "w", fq::int_format(bits), n, k)};
        std::vector<Acts> a{random_acts(rng, m, k)};
        INFO("bits " << bits << " M " << m << " N " << n << " K " << k);
        compile_and_check(arch, t, a);
      }
    }
  }
  GIVEN("several GEMMs in one layer, and small buffers that force chunking of M") {
    auto arch = small_arch(33, 8, "temporal");
    arch.act_bytes = 512;
    arch.out_bytes = 2048;
    std::vector<fq::QTensor> t{random_tensor(rng, "layers.0.wq", fq::HwFormat::kFineqR, 20, 64),
                               random_tensor(rng, "layers.0.w2", fq::HwFormat::kFineqR, 9, 100)};
    std::vector<Acts> a{random_acts(rng, 40, 64), random_acts(rng, 40, 100)};
    compile_and_check(arch, t, a);
  }
}

SCENARIO("every mapping the search considers lowers to a correct program", "[compiler][golden]") {
  std::mt19937 rng(99);
  constexpr auto kLoop = fq::TileOrder::kLoop, kBeat = fq::TileOrder::kBeat;
  for (const auto& [kind, dataflow, bits, order] : {std::tuple{"temporal", fq::Dataflow::kWeightStationary, 0, kLoop},
                                                    std::tuple{"temporal", fq::Dataflow::kWeightStationary, 0, kBeat},
                                                    std::tuple{"bitserial", fq::Dataflow::kWeightStationary, 0, kLoop},
                                                    std::tuple{"bitserial", fq::Dataflow::kWeightStationary, 0, kBeat},
                                                    std::tuple{"mac", fq::Dataflow::kWeightStationary, 4, kLoop},
                                                    std::tuple{"mac", fq::Dataflow::kOutputStationary, 8, kLoop}}) {
    auto arch = small_arch(6, 4, kind, bits == 0 ? 8 : bits);
    arch.dataflow = dataflow;
    arch.tile_order = order;
    arch.act_bytes = 256;
    arch.out_bytes = 1024;
    const auto format = fq::pe_model(arch).weight_format(arch);
    // Two GEMMs share every buffer address, so the second must wait for the first (cross-GEMM hazards).
    std::vector<fq::QTensor> t{random_tensor(rng, "a", format, 9, 20), random_tensor(rng, "b", format, 5, 11)};
    std::vector<Acts> acts{random_acts(rng, 10, 20), random_acts(rng, 10, 11)};
    std::vector<fq::compiler::GemmInput> in{{&t[0], acts[0].view()}, {&t[1], acts[1].view()}};
    auto plan_a = fq::compiler::plan_gemm(arch, "a", 10, 9, 20, format, &t[0].matrix);
    const auto plan_b = fq::compiler::plan_gemm(arch, "b", 10, 5, 11, format, &t[1].matrix);
    int legal = 0;
    for (size_t i = 0; i < plan_a.candidates.size(); ++i) {
      if (!plan_a.candidates[i].legal) continue;
      ++legal;
      CHECK_FALSE(plan_a.candidates[i].mapping.est_cycles < plan_a.mapping().est_cycles);
      auto forced = plan_a;
      forced.chosen = static_cast<int>(i);
      const auto layer = fq::compiler::lower_layer(arch, in, {forced, plan_b});
      CHECK(forced.mapping().ops + plan_b.mapping().ops == static_cast<int64_t>(layer.program.size()));
      REQUIRE(fq::ir::parse_tir_text(fq::ir::to_tir_text(layer.program), "forced.tir") == layer.program);
      INFO("candidate " << i << " order " << fq::compiler::to_string(forced.mapping().order) << " mc "
                        << forced.mapping().mc << " kt " << forced.mapping().kt);
      const auto problems = fq::ir::check(layer.program, arch, layer.memory.end_bytes());
      INFO((problems.empty() ? std::string() : problems.front()));
      REQUIRE(problems.empty());
      auto mem = layer.memory;
      fq::golden::run_tile_program(layer.program, arch, mem);
      check_against_reference(layer, t, acts, mem);
    }
    CHECK(legal >= 3);
  }
}

SCENARIO("impossible requests fail with a clear message", "[compiler]") {
  std::mt19937 rng(5);
  auto arch = small_arch(6, 4, "temporal");
  WHEN("the weight buffer cannot hold one tile") {
    arch.weight_bytes = 4;
    THEN("the message names the buffer") {
      CHECK_THROWS_WITH(fq::compiler::plan_gemm(arch, "g", 4, 8, 30, fq::HwFormat::kFineqR),
                        Catch::Contains("buffers.weight_bytes"));
    }
  }
  WHEN("the PE kind cannot run the format") {
    THEN("the message names both") {
      CHECK_THROWS_WITH(fq::compiler::plan_gemm(arch, "g", 4, 8, 30, fq::HwFormat::kInt4),
                        Catch::Contains("temporal") && Catch::Contains("int4"));
      auto mac = small_arch(6, 4, "mac", 8);
      CHECK_THROWS_WITH(fq::compiler::plan_gemm(mac, "g", 4, 8, 30, fq::HwFormat::kFineqR),
                        Catch::Contains("int8") && Catch::Contains("fineq_r"));
    }
  }
  WHEN("activations and weights disagree on K") {
    std::vector<fq::QTensor> t{random_tensor(rng, "g", fq::HwFormat::kFineqR, 4, 12)};
    Acts a = random_acts(rng, 2, 11);
    std::vector<fq::compiler::GemmInput> in{{&t[0], a.view()}};
    THEN("the message names both K") {
      CHECK_THROWS_WITH(fq::compiler::compile_layer(arch, in), Catch::Contains("K = 11") && Catch::Contains("K = 12"));
    }
  }
  WHEN("the array has fewer rows than a FineQ-R cluster") {
    auto tiny = small_arch(2, 4, "temporal");
    THEN("the message names array.rows") {
      CHECK_THROWS_WITH(fq::compiler::plan_gemm(tiny, "g", 1, 1, 9, fq::HwFormat::kFineqR),
                        Catch::Contains("array.rows = 2"));
    }
  }
}

SCENARIO("the golden interpreter refuses a program compiled for another architecture", "[compiler][golden]") {
  std::mt19937 rng(8);
  const auto arch = small_arch(6, 4, "temporal");
  std::vector<fq::QTensor> t{random_tensor(rng, "g", fq::HwFormat::kFineqR, 4, 9)};
  Acts a = random_acts(rng, 2, 9);
  std::vector<fq::compiler::GemmInput> in{{&t[0], a.view()}};
  auto layer = fq::compiler::compile_layer(arch, in);
  auto other = arch;
  other.window = fq::BeatWindow::kFixed;  // a timing-only difference still changes the fingerprint
  auto mem = layer.memory;
  CHECK_THROWS_WITH(fq::golden::run_tile_program(layer.program, other, mem),
                    Catch::Contains("not compiled for this arch") && Catch::Contains(layer.program.arch_fingerprint));
  CHECK(mem == layer.memory);  // nothing ran
}
