#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "model/core/atomic_file.h"
#include "model/core/error.h"
#include "model/ir/tir_text.h"
#include "support/paths.h"
#include "support/tir_builders.h"

using namespace fq;
using namespace fq::ir;

namespace {

// One op of every opcode, every field given a distinct value.
TileProgram every_opcode() {
  TileProgram p;
  p.arch_fingerprint = "00ff00ff00ff00ff";
  p.arch_name = "tiny_ws";
  p.gemms.push_back(GemmDesc{.name = "layers.0.wq", .format = HwFormat::kFineqR, .m = 4, .n = 8, .k = 10,
                             .w_addr = 0x0, .ws_addr = 0x40, .a_addr = 0x80, .a_stride = 16, .as_addr = 0xc0,
                             .acc_addr = 0x100, .y_addr = 0x180});
  p.gemms.push_back(GemmDesc{.name = "g1", .format = HwFormat::kInt3, .m = 1, .n = 2, .k = 3, .w_addr = 0x1000,
                             .ws_addr = 0x2000, .a_addr = 0x3000, .a_stride = 3, .as_addr = 0x4000,
                             .acc_addr = 0x5000, .y_addr = 0xfffffffffff0});
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kWbuf, .src = 0x1234, .src_stride = 4, .dst = 0x10,
               .dst_stride = 5, .rows = 8, .bytes = 4});
  p.add(TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 0x10, .src_stride = 5, .k0 = 3, .k = 7, .n0 = 1, .n = 6},
        {0});
  p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 0x20, .src_stride = 16, .dst = 0x40, .dst_stride = 32,
               .m0 = 1, .m = 3, .acc = 1},
        {1, 0});
  p.add(TileOp{.opcode = Opcode::kOsMatmul, .gemm = 1, .src = 0x8, .src_stride = 3, .w_src = 0x9, .w_stride = 2,
               .dst = 0x44, .dst_stride = 8, .m0 = 0, .m = 1, .k0 = 0, .k = 3, .n0 = 0, .n = 2, .acc = 0});
  p.add(TileOp{.opcode = Opcode::kDequant, .gemm = 0, .src = 0x40, .src_stride = 32, .ws = 0x2, .as = 0x14,
               .dst = 0x80, .dst_stride = 24, .m0 = 1, .m = 3, .n0 = 2, .n = 6},
        {2});
  p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = 0x80, .src_stride = 24, .dst = 0xabcdef0123,
               .dst_stride = 4096, .rows = 3, .bytes = 24},
        {4});
  return p;
}

constexpr const char* kEveryOpcodeText =
    "fqtir 1\n"
    "# fqsim tile program (docs/isa.md)\n"
    "arch fingerprint=00ff00ff00ff00ff name=tiny_ws\n"
    "gemm 0 name=layers.0.wq format=fineq_r m=4 n=8 k=10 w_addr=0x0 ws_addr=0x40 a_addr=0x80 a_stride=16 "
    "as_addr=0xc0 acc_addr=0x100 y_addr=0x180\n"
    "gemm 1 name=g1 format=int3 m=1 n=2 k=3 w_addr=0x1000 ws_addr=0x2000 a_addr=0x3000 a_stride=3 as_addr=0x4000 "
    "acc_addr=0x5000 y_addr=0xfffffffffff0\n"
    "ops 6\n"
    "0 dma.load buf=wbuf src=0x1234 src_stride=4 dst=0x10 dst_stride=5 rows=8 bytes=4\n"
    "1 preload gemm=0 src=0x10 src_stride=5 k0=3 k=7 n0=1 n=6 deps=0\n"
    "2 matmul gemm=0 src=0x20 src_stride=16 dst=0x40 dst_stride=32 m0=1 m=3 acc=1 deps=1,0\n"
    "3 os.matmul gemm=1 src=0x8 src_stride=3 w_src=0x9 w_stride=2 dst=0x44 dst_stride=8 m0=0 m=1 k0=0 k=3 n0=0 n=2 "
    "acc=0\n"
    "4 dequant gemm=0 src=0x40 src_stride=32 ws=0x2 as=0x14 dst=0x80 dst_stride=24 m0=1 m=3 n0=2 n=6 deps=2\n"
    "5 dma.store buf=obuf src=0x80 src_stride=24 dst=0xabcdef0123 dst_stride=4096 rows=3 bytes=24 deps=4\n";

std::string random_name(std::mt19937_64& rng) {
  static constexpr char kChars[] = "abcxyzABC0123456789._-:/[]";
  std::string s(1 + rng() % 12, 'a');
  for (char& c : s) c = kChars[rng() % (sizeof kChars - 1)];
  return s;
}

uint64_t random_value(std::mt19937_64& rng, uint64_t max) {
  switch (rng() % 4) {
    case 0: return 0;
    case 1: return max;
    case 2: return std::min<uint64_t>(rng() % 100, max);
    default: return max == ~uint64_t{0} ? rng() : rng() % (max + 1);
  }
}

// Field values anywhere in their range, deps anywhere (round trip does not verify).
TileProgram random_program(std::mt19937_64& rng) {
  TileProgram p;
  p.arch_fingerprint = fmt::format("{:016x}", rng());
  p.arch_name = random_name(rng);
  const HwFormat formats[] = {HwFormat::kFineqR, HwFormat::kInt8, HwFormat::kInt4, HwFormat::kInt3, HwFormat::kInt2};
  const size_t gemms = rng() % 4;
  for (size_t g = 0; g < gemms; ++g) {
    GemmDesc d;
    d.name = random_name(rng);
    d.format = formats[rng() % 5];
    d.m = static_cast<uint32_t>(random_value(rng, 0xffffffffu));
    d.n = static_cast<uint32_t>(random_value(rng, 0xffffffffu));
    d.k = static_cast<uint32_t>(random_value(rng, 0xffffffffu));
    d.w_addr = random_value(rng, ~uint64_t{0});
    d.ws_addr = random_value(rng, ~uint64_t{0});
    d.a_addr = random_value(rng, ~uint64_t{0});
    d.a_stride = static_cast<uint32_t>(random_value(rng, 0xffffffffu));
    d.as_addr = random_value(rng, ~uint64_t{0});
    d.acc_addr = random_value(rng, ~uint64_t{0});
    d.y_addr = random_value(rng, ~uint64_t{0});
    p.gemms.push_back(d);
  }
  const size_t ops = rng() % 60;
  std::vector<OpId> deps;
  for (size_t i = 0; i < ops; ++i) {
    TileOp op;
    op.opcode = static_cast<Opcode>(rng() % kNumOpcodes);
    for (const Field f : op_fields(op.opcode)) set_field(op, f, random_value(rng, field_max(f)));
    deps.clear();
    const size_t nd = rng() % 4;
    for (size_t d = 0; d < nd; ++d) deps.push_back(static_cast<OpId>(rng() % (ops + 3)));
    p.add(op, deps);
  }
  return p;
}

}  // namespace

SCENARIO("A program with every opcode prints to the documented canonical text", "[ir][tir]") {
  GIVEN("one op of each opcode") {
    const TileProgram p = every_opcode();
    WHEN("it is printed") {
      const std::string text = to_tir_text(p);
      THEN("the text is byte for byte the canonical form") { CHECK(text == kEveryOpcodeText); }
      THEN("parsing gives the same program and printing that gives the same bytes") {
        const TileProgram q = parse_tir_text(text, "every.tir");
        CHECK(q == p);
        CHECK(q.deps(2).size() == 2);
        CHECK(q.deps(2)[0] == 1);
        CHECK(q.deps(2)[1] == 0);
        CHECK(q.op(5).dst == 0xabcdef0123u);
        CHECK(to_tir_text(q) == text);
      }
      THEN("tir_op_line gives each op's line of the text") {
        std::istringstream lines(text);
        std::string line;
        size_t matched = 0;
        while (std::getline(lines, line)) {
          for (fq::ir::OpId id = 0; id < p.size(); ++id) matched += line == fq::ir::tir_op_line(p, id);
        }
        CHECK(matched == p.size());
        CHECK(fq::ir::tir_op_line(p, 2).rfind("2 ", 0) == 0);
      }
    }
  }
}

SCENARIO("Non-canonical spellings parse to the canonical program", "[ir][tir]") {
  GIVEN("fields out of order, decimal addresses, upper-case hex, comments, tabs, CRLF and blank lines") {
    const std::string text =
        "# leading comment\n\n"
        "fqtir 1   # version\r\n"
        "arch name=tiny_ws fingerprint=00ff00ff00ff00ff\n"
        "gemm 0 y_addr=384 name=layers.0.wq k=10 n=8 m=4 format=fineq_r w_addr=0 ws_addr=0X40 a_addr=128 "
        "a_stride=16 as_addr=0xC0 acc_addr=256\n"
        "gemm 1 name=g1 format=int3 m=1 n=2 k=3 w_addr=0x1000 ws_addr=0x2000 a_addr=0x3000 a_stride=3 "
        "as_addr=0x4000 acc_addr=0x5000 y_addr=0xFFFFFFFFFFF0\n"
        "ops 6\n"
        "0\tdma.load bytes=4 rows=8 buf=wbuf src=4660 src_stride=4 dst=16 dst_stride=5\n"
        "1 preload deps=0 gemm=0 src=0x10 src_stride=5 k0=3 k=7 n0=1 n=6\n"
        "\n"
        "2 matmul gemm=0 src=0x20 src_stride=16 dst=0x40 dst_stride=32 m0=1 m=3 acc=1 deps=1,0 # accumulate\n"
        "3 os.matmul gemm=1 src=0x8 src_stride=3 w_src=0x9 w_stride=2 dst=0x44 dst_stride=8 m0=0 m=1 k0=0 k=3 "
        "n0=0 n=2 acc=0\n"
        "4 dequant gemm=0 src=0x40 src_stride=32 ws=2 as=20 dst=0x80 dst_stride=24 m0=1 m=3 n0=2 n=006 deps=0x2\n"
        "5 dma.store buf=obuf src=0x80 src_stride=24 dst=0xabcdef0123 dst_stride=4096 rows=3 bytes=24 deps=4\n"
        "# trailing comment";
    const TileProgram expected = every_opcode();
    THEN("the program equals the hand-built one and prints canonically") {
      const TileProgram q = parse_tir_text(text, "loose.tir");
      CHECK(q == expected);
      CHECK(to_tir_text(q) == kEveryOpcodeText);
    }
  }
}

SCENARIO("Random programs round trip exactly", "[ir][tir]") {
  std::mt19937_64 rng(20240531);
  for (int trial = 0; trial < 300; ++trial) {
    const TileProgram p = random_program(rng);
    const std::string text = to_tir_text(p);
    const TileProgram q = parse_tir_text(text, "random.tir");
    REQUIRE(q == p);
    REQUIRE(to_tir_text(q) == text);
  }
}

SCENARIO("A scheduled program round trips through a stream and a file", "[ir][tir]") {
  GIVEN("a double-buffered schedule of about 20 k ops (text larger than the 1 MiB read block)") {
    ArchConfig arch = test::ir_arch("temporal", Dataflow::kWeightStationary, 6, 8);
    const test::Tiling tiling{.mt = 8, .nt = 8, .kt = 6};
    test::size_buffers(arch, HwFormat::kFineqR, tiling);
    TileProgram p;
    p.arch_fingerprint = test::kTestFingerprint;
    p.arch_name = arch.name;
    uint64_t cursor = 0;
    p.gemms.push_back(test::place_gemm(cursor, "wq", HwFormat::kFineqR, 64, 64, 190));
    p.gemms.push_back(test::place_gemm(cursor, "wk", HwFormat::kFineqR, 64, 64, 190));
    test::schedule_all(p, arch, tiling);
    REQUIRE(p.size() > 15000);
    const std::string text = to_tir_text(p);
    REQUIRE(text.size() > (size_t{1} << 20));
    WHEN("it is parsed from a std::istream") {
      std::istringstream in(text);
      const TileProgram q = parse_tir(in, "stream.tir");
      THEN("it equals the original") {
        CHECK(q == p);
        CHECK(q.total_deps() == p.total_deps());
      }
    }
    WHEN("it is written to a file and read back") {
      const auto dir = test::temp_dir("tir_roundtrip");
      write_tir(p, dir / "prog.tir");
      THEN("the file holds the canonical text, no temporary file is left, and it reads back equal") {
        std::ifstream f(dir / "prog.tir", std::ios::binary);
        const std::string on_disk((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        CHECK(on_disk == text);
        CHECK_FALSE(std::filesystem::exists(fq::temp_path_for(dir / "prog.tir")));
        CHECK(read_tir(dir / "prog.tir") == p);
      }
    }
  }
}

SCENARIO("Programs that cannot be printed are refused", "[ir][tir]") {
  TileProgram p = every_opcode();
  GIVEN("a gemm name with a space") {
    p.gemms[0].name = "layers 0";
    THEN("printing throws naming the gemm") {
      CHECK_THROWS_WITH(to_tir_text(p), Catch::Contains("gemm 0 name 'layers 0'"));
    }
  }
  GIVEN("an empty fingerprint") {
    p.arch_fingerprint = "";
    THEN("printing throws") { CHECK_THROWS_WITH(to_tir_text(p), Catch::Contains("fingerprint")); }
  }
  GIVEN("an acc flag of 2") {
    p.op(2).acc = 2;
    THEN("printing throws naming the op and field") {
      CHECK_THROWS_WITH(to_tir_text(p), Catch::Contains("op 2 field acc"));
    }
  }
  GIVEN("a file path in a missing folder") {
    const auto dir = test::temp_dir("tir_write_fail");
    THEN("write_tir throws and leaves nothing behind") {
      CHECK_THROWS_AS(write_tir(every_opcode(), dir / "missing" / "p.tir"), Error);
      CHECK_FALSE(std::filesystem::exists(dir / "missing"));
    }
  }
}

SCENARIO("set_deps replaces one op's deps and keeps the others", "[ir][tir]") {
  TileProgram p = every_opcode();
  const std::vector<OpId> three = {0, 1, 2};
  p.set_deps(3, three);
  CHECK(std::vector<OpId>(p.deps(3).begin(), p.deps(3).end()) == three);
  CHECK(std::vector<OpId>(p.deps(2).begin(), p.deps(2).end()) == std::vector<OpId>{1, 0});
  CHECK(std::vector<OpId>(p.deps(4).begin(), p.deps(4).end()) == std::vector<OpId>{2});
  CHECK(std::vector<OpId>(p.deps(5).begin(), p.deps(5).end()) == std::vector<OpId>{4});
  p.set_deps(2, {});
  CHECK(p.deps(2).empty());
  CHECK(p.deps(3).size() == 3);
  CHECK(p.total_deps() == 6);
  CHECK(p != every_opcode());
}

SCENARIO("Field tables are consistent", "[ir][tir]") {
  THEN("every opcode's fields follow the global Field order and are unique") {
    for (int o = 0; o < kNumOpcodes; ++o) {
      const auto fields = op_fields(static_cast<Opcode>(o));
      for (size_t i = 1; i < fields.size(); ++i) CHECK(static_cast<int>(fields[i - 1]) < static_cast<int>(fields[i]));
    }
  }
  THEN("set_field and get_field agree on every field") {
    for (int f = 0; f < kNumFields; ++f) {
      TileOp op;
      const auto field = static_cast<Field>(f);
      set_field(op, field, field_max(field));
      CHECK(get_field(op, field) == field_max(field));
      for (int g = 0; g < kNumFields; ++g) {
        if (g != f) CHECK(get_field(op, static_cast<Field>(g)) == 0);
      }
    }
  }
  THEN("units and weight row bytes follow the manual") {
    CHECK(unit_of(Opcode::kDmaLoad) == Unit::kDmaIn);
    CHECK(unit_of(Opcode::kOsMatmul) == Unit::kArray);
    CHECK(unit_of(Opcode::kDequant) == Unit::kEpilogue);
    CHECK(unit_of(Opcode::kDmaStore) == Unit::kDmaOut);
    CHECK(weight_row_bytes(HwFormat::kFineqR, 10) == 4);
    CHECK(weight_row_bytes(HwFormat::kInt3, 10) == 4);
    CHECK(weight_row_bytes(HwFormat::kInt4, 3) == 2);
    CHECK(weight_row_bytes(HwFormat::kInt2, 4) == 1);
    CHECK(weight_row_bytes(HwFormat::kInt8, 7) == 7);
  }
}
