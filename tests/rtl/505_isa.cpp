// The instruction word's one definition (rtl/fq_isa.def, generated into sim/rtl/fq_isa.h and
// rtl/fq_isa.vh): every op of compiled programs round-trips encode -> decode to the same fields,
// the words equal the layout the RTL had before the table (the hand-written encoder), and the
// Verilated test models carry the parameters the RTL engine gives their presets.
#include "top_cases.h"

#include "model/arch/pe_model.h"
#include "model/ckpt/random_layer.h"
#include "sim/rtl/rtl_engine.h"
#include "sim/rtl/top_harness.h"
#include "sim/sim_cases.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using fq::ir::Opcode;

// The encoder the table replaced (sim/rtl/top_harness.h before it): the word layout the RTL
// decoded with literal slices. It wrote every operand into every word; the table writes only the
// fields of the op's unit, so words may differ only where no unit reads.
std::array<uint32_t, 16> legacy_words(const fq::ir::TileProgram& p, fq::ir::OpId id, const std::array<uint32_t, 4>& need) {
  const fq::ir::TileOp& op = p.op(id);
  std::array<uint32_t, 16> w{};
  uint32_t fmt = 0;
  if (op.opcode == Opcode::kPreload || op.opcode == Opcode::kMatmul) {
    const fq::HwFormat f = p.gemms[op.gemm].format;
    fmt = f == fq::HwFormat::kFineqR ? 0 : static_cast<uint32_t>(fq::format_int_bits(f));
  }
  w[0] = static_cast<uint32_t>(op.opcode) | static_cast<uint32_t>(op.buf) << 8 | uint32_t{op.acc} << 16 | fmt << 24;
  w[1] = static_cast<uint32_t>(op.src);
  w[2] = static_cast<uint32_t>(op.src >> 32);
  w[3] = op.src_stride;
  w[4] = static_cast<uint32_t>(op.dst);
  w[5] = static_cast<uint32_t>(op.dst >> 32);
  w[6] = op.dst_stride;
  const bool dma = op.opcode == Opcode::kDmaLoad || op.opcode == Opcode::kDmaStore;
  w[7] = dma ? op.rows : op.m;
  w[8] = dma ? op.bytes : op.k;
  w[9] = op.n;
  w[10] = op.ws;
  w[11] = op.as;
  for (size_t u = 0; u < 4; ++u) w[12 + u] = need[u];
  return w;
}

// The bits of a word that fq_top/fq_controller read for a unit: the unit's and the common fields.
std::array<uint32_t, 16> read_mask(int unit) {
  std::array<uint32_t, 16> m{};
  for (const auto& f : fq::rtl::isa::kFields) {
    if (f.unit != -1 && f.unit != unit) continue;
    for (int b = f.lsb; b < f.lsb + f.width; ++b) m[static_cast<size_t>(b / 32)] |= uint32_t{1} << (b % 32);
  }
  return m;
}

// Compiled random GEMMs (FineQ-R or the preset's INT format) on `arch`.
fq::ir::TileProgram compiled_program(const fq::ArchConfig& arch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const fq::HwFormat format = fq::pe_model(arch).weight_format(arch);
  std::vector<fq::QTensor> w;
  std::vector<fq::QuantizedActs> a;
  for (int g = 0; g < 2; ++g) {
    const int m = uni(1, 9), n = uni(1, 12), k = uni(1, 40);
    w.push_back(fq::random_qtensor(fmt::format("g{}", g), format, n, k, rng()));
    a.push_back(fq::random_acts(m, k, rng()));
  }
  return fq::test::compile_with(arch, w, a, uni(0, 1000)).program;
}

}  // namespace

TEST_CASE("ISA: every op of compiled programs round-trips encode -> decode, in the RTL's word layout", "[rtl][isa]") {
  namespace isa = fq::rtl::isa;
  int ops = 0, store_words_differing = 0;
  std::array<int, 6> per_opcode{};
  for (const auto& t : fq::rtl::top_configs()) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      const fq::ir::TileProgram p = compiled_program(t.arch, seed);
      for (fq::ir::OpId id = 0; id < p.size(); ++id) {
        const fq::ir::TileOp& op = p.op(id);
        const int unit = static_cast<int>(fq::ir::unit_of(op.opcode));
        // Arbitrary dependency counts: they are fields like the others.
        const std::array<uint32_t, 4> need = {id, 3 * id + 1, id ^ 0x5a5au, 0xffffffffu - id};
        INFO(t.name << " seed " << seed << " op " << id << " (" << fq::ir::opcode_name(op.opcode) << ")");
        const isa::Instr in = fq::rtl::instr_of(p, id, need);
        const isa::Word w = isa::encode(in);
        const isa::Instr back = isa::decode(w);
        // Decoded = the op's own operands, field by field of its unit.
        REQUIRE(back.opcode == static_cast<uint64_t>(op.opcode));
        REQUIRE(back.need_dma_in == need[0]);
        REQUIRE(back.need_array == need[1]);
        REQUIRE(back.need_epilogue == need[2]);
        REQUIRE(back.need_dma_out == need[3]);
        REQUIRE(back.src == op.src);
        REQUIRE(back.src_stride == op.src_stride);
        REQUIRE(back.dst == op.dst);
        REQUIRE(back.dst_stride == op.dst_stride);
        if (op.opcode == Opcode::kDmaLoad || op.opcode == Opcode::kDmaStore) {
          REQUIRE(back.rows == op.rows);
          REQUIRE(back.bytes == op.bytes);
        }
        if (op.opcode == Opcode::kDmaLoad) REQUIRE(back.buf == static_cast<uint64_t>(op.buf));
        if (unit == isa::kUnitArray) {
          REQUIRE(back.acc == op.acc);
          REQUIRE(back.fmt == in.fmt);
          REQUIRE(back.fmt == static_cast<uint64_t>(fq::format_int_bits(p.gemms[op.gemm].format)));
          REQUIRE(back.k == op.k);
        }
        if (unit == isa::kUnitArray || unit == isa::kUnitEpilogue) {
          REQUIRE(back.m == op.m);
          REQUIRE(back.n == op.n);
        }
        if (op.opcode == Opcode::kDequant) {
          REQUIRE(back.ws == op.ws);
          REQUIRE(back.as == op.as);
        }
        // Re-encoding the decoded fields gives the same word.
        REQUIRE(isa::encode(back) == w);
        // The layout is the one the RTL decoded before the table: equal in every bit a unit reads,
        // and the legacy words carry nothing else except dma.store's source buffer (always obuf).
        const auto old = legacy_words(p, id, need);
        const auto mask = read_mask(unit);
        for (size_t k = 0; k < w.size(); ++k) {
          INFO("word " << k);
          REQUIRE((old[k] & mask[k]) == w[k]);
          const uint32_t unread = old[k] & ~mask[k];
          if (op.opcode == Opcode::kDmaStore && k == 0) {
            REQUIRE(unread == static_cast<uint32_t>(fq::ir::Buffer::kObuf) << 8);
            store_words_differing += 1;
          } else {
            REQUIRE(unread == 0);
          }
        }
        per_opcode[static_cast<size_t>(op.opcode)] += 1;
        ops += 1;
      }
    }
  }
  // Every opcode the RTL runs occurred.
  for (Opcode o : {Opcode::kDmaLoad, Opcode::kDmaStore, Opcode::kPreload, Opcode::kMatmul, Opcode::kDequant}) {
    INFO(fq::ir::opcode_name(o));
    REQUIRE(per_opcode[static_cast<size_t>(o)] > 0);
  }
  REQUIRE(store_words_differing == per_opcode[static_cast<size_t>(Opcode::kDmaStore)]);
  REQUIRE(ops > 200);
}

TEST_CASE("ISA: encode refuses values that do not fit and opcodes the RTL does not run", "[rtl][isa]") {
  namespace isa = fq::rtl::isa;
  isa::Instr in;
  in.opcode = isa::kOpMatmul;
  in.src = uint64_t{1} << 32;  // a buffer address: 32 bits
  REQUIRE_THROWS_WITH(isa::encode(in), "instruction field src = 4294967296 does not fit its 32 bits");
  in.opcode = isa::kOpDmaLoad;  // a DRAM address: 64 bits
  REQUIRE(isa::decode(isa::encode(in)).src == uint64_t{1} << 32);
  in.src = 0;
  in.buf = 4;
  REQUIRE_THROWS_WITH(isa::encode(in), "instruction field buf = 4 does not fit its 2 bits");
  in.buf = 0;
  in.opcode = static_cast<uint64_t>(Opcode::kOsMatmul);
  REQUIRE_THROWS_WITH(isa::encode(in), "opcode 4 has no RTL encoding");
  isa::Word w{};
  w[0] = 7;
  REQUIRE_THROWS_WITH(isa::decode(w), "opcode 7 has no RTL encoding");
}

TEST_CASE("RTL test models are Verilated with the parameters the RTL engine gives their presets", "[rtl][isa]") {
  REQUIRE(fq::rtl::top_configs().size() == 9);  // configs/test/rtl_*.yaml
  for (const auto& t : fq::rtl::top_configs()) {
    INFO(t.name);
    REQUIRE(t.arch.name == "rtl_" + t.name);
    std::string engine;
    for (const std::string& p : fq::sim::rtl_parameters(t.arch)) {
      if (p.rfind("-GIDEPTH=", 0) == 0) continue;  // the models hold fewer instructions (CMakeLists.txt)
      engine += (engine.empty() ? "" : " ") + p;
    }
    REQUIRE(t.parameters == engine);
  }
}

TEST_CASE("Archs that differ only in run-time values share one RTL runner", "[rtl][isa]") {
  const auto joined = [](const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, " ")); };
  const fq::ArchConfig base = fq::load_arch(FQ_RTL_PRESET_DIR "/../fineq.yaml");
  const auto runner = fq::sim::rtl_runner_parameters(base);
  fq::ArchConfig same = base;
  same.window = fq::BeatWindow::kFixed;
  same.dram_latency_cycles = 7;
  same.dram_bytes_per_cycle = 8;
  same.weight_bytes = 1000;
  same.out_bytes = 1 << 20;
  REQUIRE(fq::sim::rtl_runner_parameters(same) == runner);
  // The design's own parameters are the arch's sizes: a synthesised fq_top has the buffers it names.
  REQUIRE(fq::sim::rtl_parameters(same) != fq::sim::rtl_parameters(base));
  REQUIRE_THAT(joined(fq::sim::rtl_parameters(same)),
               Catch::Contains("-GWBUF=1000") && Catch::Contains("-GDB=8"));
  REQUIRE_THAT(joined(runner),
               Catch::Contains("-GWBUF=1048576 ") && Catch::Contains("-GOBUF=1048576 ") && Catch::Contains("-GDB=64 "));
  // Capacities beyond the floors round up to a power of two; structure always differs.
  fq::ArchConfig big = base;
  big.act_bytes = (1 << 20) + 1;
  REQUIRE_THAT(joined(fq::sim::rtl_runner_parameters(big)), Catch::Contains("-GABUF=2097152 "));
  big = base;
  big.dram_bytes_per_cycle = 65;
  REQUIRE_THAT(joined(fq::sim::rtl_runner_parameters(big)), Catch::Contains("-GDB=128 "));
  for (const auto& change : std::vector<std::function<void(fq::ArchConfig&)>>{
           [](fq::ArchConfig& a) { a.rows = 16; }, [](fq::ArchConfig& a) { a.cols = 16; },
           [](fq::ArchConfig& a) { a.weight_sets = 3; }, [](fq::ArchConfig& a) { a.acc_bits = 20; }}) {
    fq::ArchConfig other = base;
    change(other);
    REQUIRE(fq::sim::rtl_runner_parameters(other) != runner);
  }
}
