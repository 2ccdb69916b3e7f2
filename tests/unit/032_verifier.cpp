#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <limits>
#include <string>
#include <vector>

#include "model/core/error.h"
#include "model/ir/verifier.h"
#include "support/tir_builders.h"

using namespace fq;
using namespace fq::ir;

namespace {

const std::string kFp = test::kTestFingerprint;

struct Built {
  TileProgram program;
  ArchConfig arch;
  uint64_t dram_bytes = 0;
};

// Two fineq_r GEMMs with residual tiles in M, N and K on a 6 x 8 temporal ws array.
Built ws_fineq() {
  Built b;
  b.arch = test::ir_arch("temporal", Dataflow::kWeightStationary, 6, 8);
  const test::Tiling t{.mt = 8, .nt = 8, .kt = 6};
  test::size_buffers(b.arch, HwFormat::kFineqR, t);
  b.program.arch_fingerprint = kFp;
  b.program.arch_name = b.arch.name;
  b.program.gemms.push_back(test::place_gemm(b.dram_bytes, "wq", HwFormat::kFineqR, 10, 12, 14));
  b.program.gemms.push_back(test::place_gemm(b.dram_bytes, "wo", HwFormat::kFineqR, 5, 7, 9));
  test::schedule_all(b.program, b.arch, t);
  return b;
}

// INT4 weights on an 8 x 8 mac array, output stationary.
Built os_int4() {
  Built b;
  b.arch = test::ir_arch("mac", Dataflow::kOutputStationary, 8, 8, 4);
  const test::Tiling t{.mt = 8, .nt = 8, .kt = 8};
  test::size_buffers(b.arch, HwFormat::kInt4, t);
  b.program.arch_fingerprint = kFp;
  b.program.arch_name = b.arch.name;
  b.program.gemms.push_back(test::place_gemm(b.dram_bytes, "w", HwFormat::kInt4, 10, 12, 21));
  test::schedule_all(b.program, b.arch, t);
  return b;
}

// INT3 weights on an 8 x 4 mac array, weight stationary (k tiles of 8 keep k0 * 3 byte aligned).
Built ws_int3() {
  Built b;
  b.arch = test::ir_arch("mac", Dataflow::kWeightStationary, 8, 4, 3);
  const test::Tiling t{.mt = 3, .nt = 4, .kt = 8};
  test::size_buffers(b.arch, HwFormat::kInt3, t);
  b.program.arch_fingerprint = kFp;
  b.program.arch_name = b.arch.name;
  b.program.gemms.push_back(test::place_gemm(b.dram_bytes, "w", HwFormat::kInt3, 7, 9, 19));
  test::schedule_all(b.program, b.arch, t);
  return b;
}

std::vector<std::string> problems(const Built& b) { return check(b.program, b.arch, kFp, b.dram_bytes); }

bool has(const std::vector<std::string>& ps, const std::string& where, const std::string& rule) {
  for (const auto& p : ps) {
    if (p.rfind(where, 0) == 0 && p.find("[" + rule + "]") != std::string::npos) return true;
  }
  return false;
}

std::string dump(const std::vector<std::string>& ps) {
  std::string s;
  for (const auto& p : ps) s += p + "\n";
  return s.empty() ? "(no problems)" : s;
}

OpId nth(const TileProgram& p, Opcode opcode, int n = 0) {
  for (OpId id = 0; id < p.size(); ++id) {
    if (p.op(id).opcode == opcode && n-- == 0) return id;
  }
  FAIL("no such op");
  return 0;
}

std::string at(const TileProgram& p, OpId id) { return fmt::format("op {} ({}):", id, opcode_name(p.op(id).opcode)); }

struct Mutation {
  const char* what;
  std::function<Built()> base;
  std::function<std::string(Built&)> mutate;  // returns the expected message prefix
  const char* rule;
};

// A tiny hand-scheduled ws program: load weights and activations, preload, matmul, load scales,
// dequant to a separate region, store y and acc.
Built handmade() {
  Built b;
  b.arch = test::ir_arch("temporal", Dataflow::kWeightStationary, 6, 8);
  b.program.arch_fingerprint = kFp;
  b.program.arch_name = "hand";
  const GemmDesc g = test::place_gemm(b.dram_bytes, "g", HwFormat::kFineqR, 4, 8, 6);
  b.program.gemms.push_back(g);
  TileProgram& p = b.program;
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kWbuf, .src = g.w_addr, .src_stride = 2, .dst = 0,
               .dst_stride = 2, .rows = 8, .bytes = 2});                                                        // 0
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .src = g.a_addr, .src_stride = g.a_stride, .dst = 0,
               .dst_stride = 6, .rows = 4, .bytes = 6});                                                        // 1
  p.add(TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 0, .src_stride = 2, .k0 = 0, .k = 6, .n0 = 0, .n = 8},
        {0});                                                                                                   // 2
  p.add(TileOp{.opcode = Opcode::kMatmul, .gemm = 0, .src = 0, .src_stride = 6, .dst = 0, .dst_stride = 32, .m0 = 0,
               .m = 4, .acc = 0},
        {1});                                                                                                   // 3
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kSbuf, .src = g.ws_addr, .dst = 0, .rows = 1,
               .bytes = 16});                                                                                   // 4
  p.add(TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kSbuf, .src = g.as_addr, .dst = 16, .rows = 1,
               .bytes = 16});                                                                                   // 5
  p.add(TileOp{.opcode = Opcode::kDequant, .gemm = 0, .src = 0, .src_stride = 32, .ws = 0, .as = 16, .dst = 128,
               .dst_stride = 32, .m0 = 0, .m = 4, .n0 = 0, .n = 8},
        {3, 4, 5});                                                                                             // 6
  p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = 128, .src_stride = 32, .dst = g.y_addr,
               .dst_stride = 32, .rows = 4, .bytes = 32},
        {6});                                                                                                   // 7
  p.add(TileOp{.opcode = Opcode::kDmaStore, .buf = Buffer::kObuf, .src = 0, .src_stride = 32, .dst = g.acc_addr,
               .dst_stride = 32, .rows = 4, .bytes = 32},
        {3});                                                                                                   // 8
  return b;
}

}  // namespace

SCENARIO("Valid programs pass the verifier", "[ir][verify]") {
  for (const auto& [name, build] : std::vector<std::pair<const char*, std::function<Built()>>>{
           {"ws fineq_r with residual tiles", ws_fineq},
           {"os int4", os_int4},
           {"ws int3", ws_int3},
           {"hand-made", handmade}}) {
    GIVEN(name) {
      const Built b = build();
      const auto ps = problems(b);
      INFO(dump(ps));
      CHECK(ps.empty());
      CHECK_NOTHROW(verify(b.program, b.arch, kFp, b.dram_bytes));
    }
  }
}

SCENARIO("Each rule violated by a minimal mutation is rejected, naming the op and the rule", "[ir][verify]") {
  const std::vector<Mutation> mutations = {
      {"unknown version", ws_fineq, [](Built& b) { b.program.version = 2; return std::string("program:"); }, "version"},
      {"other fingerprint", ws_fineq,
       [](Built& b) { b.program.arch_fingerprint = "fedcba9876543210"; return std::string("program:"); },
       "fingerprint"},
      {"os dataflow on temporal PEs", ws_fineq,
       [](Built& b) { b.arch.dataflow = Dataflow::kOutputStationary; return std::string("program:"); }, "dataflow"},
      {"dep on a later op", ws_fineq,
       [](Built& b) {
         const OpId id = nth(b.program, Opcode::kPreload);
         const OpId later = id + 3;
         b.program.set_deps(id, std::span<const OpId>(&later, 1));
         return at(b.program, id);
       },
       "deps"},
      {"dep on itself", ws_fineq,
       [](Built& b) {
         const OpId id = nth(b.program, Opcode::kMatmul);
         b.program.set_deps(id, std::span<const OpId>(&id, 1));
         return at(b.program, id);
       },
       "deps"},
      {"gemm index out of range", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload); b.program.op(id).gemm = 7; return at(b.program, id); },
       "gemm-index"},
      {"unused field set", ws_fineq,
       [](Built& b) { b.program.op(0).m = 3; return at(b.program, 0); }, "unused-field"},
      {"acc flag 2", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kMatmul); b.program.op(id).acc = 2; return at(b.program, id); },
       "field-range"},
      {"buffer value 9", ws_fineq,
       [](Built& b) { b.program.op(0).buf = static_cast<Buffer>(9); return at(b.program, 0); }, "field-range"},
      {"invalid opcode value", ws_fineq,
       [](Built& b) { b.program.op(0).opcode = static_cast<Opcode>(17); return std::string("op 0 (invalid):"); },
       "opcode"},
      {"dma.load into obuf", ws_fineq,
       [](Built& b) { b.program.op(0).buf = Buffer::kObuf; return at(b.program, 0); }, "buffer"},
      {"dma.store from wbuf", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kDmaStore); b.program.op(id).buf = Buffer::kWbuf; return at(b.program, id); },
       "buffer"},
      {"zero rows", ws_fineq, [](Built& b) { b.program.op(0).rows = 0; return at(b.program, 0); }, "shape"},
      {"zero k", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload); b.program.op(id).k = 0; return at(b.program, id); },
       "shape"},
      {"wbuf overflow", ws_fineq,
       [](Built& b) { b.program.op(0).dst = static_cast<uint64_t>(b.arch.weight_bytes) - 1; return at(b.program, 0); },
       "capacity"},
      {"obuf overflow", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kDequant); b.program.op(id).dst_stride = 1u << 20; return at(b.program, id); },
       "capacity"},
      {"sbuf overflow", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kDequant); b.program.op(id).as = static_cast<uint32_t>(b.arch.scale_bytes); return at(b.program, id); },
       "capacity"},
      {"DRAM source past the end", ws_fineq,
       [](Built& b) { b.program.op(0).src = b.dram_bytes - 1; return at(b.program, 0); }, "dram-bounds"},
      {"DRAM address that overflows 64 bits", ws_fineq,
       [](Built& b) { b.program.op(0).src = std::numeric_limits<uint64_t>::max(); return at(b.program, 0); },
       "dram-bounds"},
      {"DRAM stride that reaches past the end", ws_fineq,
       [](Built& b) { b.program.op(0).src_stride = std::numeric_limits<uint32_t>::max(); return at(b.program, 0); },
       "dram-bounds"},
      {"overlapping written rows", ws_fineq,
       [](Built& b) { b.program.op(0).dst_stride = b.program.op(0).bytes - 1; return at(b.program, 0); },
       "row-overlap"},
      {"overlapping stored rows in DRAM", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kDmaStore); b.program.op(id).dst_stride = 4; return at(b.program, id); },
       "row-overlap"},
      {"unaligned accumulator", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kMatmul); b.program.op(id).dst += 2; return at(b.program, id); },
       "align"},
      {"unaligned weight scales", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kDequant); b.program.op(id).ws += 1; return at(b.program, id); },
       "align"},
      {"unaligned activation scales", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kDequant); b.program.op(id).as += 2; return at(b.program, id); },
       "align"},
      {"k larger than the array's rows", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload); b.program.op(id).k = 7; return at(b.program, id); },
       "array-size"},
      {"n larger than the array's cols", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload); b.program.op(id).n = 9; return at(b.program, id); },
       "array-size"},
      {"m larger than the os array's rows", os_int4,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kOsMatmul); b.program.op(id).m = 9; return at(b.program, id); },
       "array-size"},
      {"fineq_r k0 off a cluster boundary", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload); b.program.op(id).k0 = 1; return at(b.program, id); },
       "k0-align"},
      {"int4 k0 off a byte boundary", os_int4,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kOsMatmul); b.program.op(id).k0 = 1; return at(b.program, id); },
       "k0-align"},
      {"int3 k0 off a byte boundary", ws_int3,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload, 1); b.program.op(id).k0 = 4; return at(b.program, id); },
       "k0-align"},
      {"k0 + k beyond K", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload, 2); b.program.op(id).k = 3; b.program.op(id).k0 = 12; return at(b.program, id); },
       "tile-bounds"},
      {"n0 + n beyond N", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kPreload); b.program.op(id).n0 = 11; return at(b.program, id); },
       "tile-bounds"},
      {"m0 + m beyond M", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kMatmul); b.program.op(id).m0 = 3; return at(b.program, id); },
       "tile-bounds"},
      {"dequant n0 + n beyond N", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kDequant); b.program.op(id).n0 = 12; return at(b.program, id); },
       "tile-bounds"},
      {"preload on an os arch", os_int4,
       [](Built& b) {
         const OpId id = nth(b.program, Opcode::kOsMatmul);
         b.program.op(id) = TileOp{.opcode = Opcode::kPreload, .gemm = 0, .src = 0, .src_stride = 4, .k0 = 0, .k = 8,
                                   .n0 = 0, .n = 8};
         return at(b.program, id);
       },
       "dataflow"},
      {"os.matmul on a ws arch", os_int4,
       [](Built& b) { b.arch.dataflow = Dataflow::kWeightStationary; return at(b.program, nth(b.program, Opcode::kOsMatmul)); },
       "dataflow"},
      {"matmul of another gemm than the stationary tile", ws_fineq,
       [](Built& b) { const OpId id = nth(b.program, Opcode::kMatmul); b.program.op(id).gemm = 1; return at(b.program, id); },
       "gemm-mismatch"},
      {"dequant writing half over its accumulators", ws_fineq,
       [](Built& b) {
         const OpId id = nth(b.program, Opcode::kDequant);
         b.program.op(id).dst = b.program.op(id).src + 4;
         return at(b.program, id);
       },
       "dequant-overlap"},
      {"int8 weights on temporal PEs", ws_fineq,
       [](Built& b) { b.program.gemms[1].format = HwFormat::kInt8; return std::string("gemm 1 (wo):"); },
       "gemm-format"},
      {"fineq_r weights on mac PEs", ws_fineq,
       [](Built& b) { b.arch.pe_kind = "mac"; return std::string("gemm 0 (wq):"); }, "gemm-format"},
      {"int4 weights on 8-bit mac PEs", os_int4,
       [](Built& b) { b.arch.weight_bits = 8; return std::string("gemm 0 (w):"); }, "gemm-format"},
      {"K = 0", ws_fineq, [](Built& b) { b.program.gemms[1].k = 0; return std::string("gemm 1 (wo):"); }, "gemm-shape"},
      {"a_stride < K", ws_fineq,
       [](Built& b) { b.program.gemms[0].a_stride = 13; return std::string("gemm 0 (wq):"); }, "gemm-shape"},
      {"outputs past the end of DRAM", ws_fineq,
       [](Built& b) { b.dram_bytes = b.program.gemms[1].y_addr + 4; return std::string("gemm 1 (wo):"); }, "gemm-dram"},
      {"odd weight scale address", ws_fineq,
       [](Built& b) { b.program.gemms[0].ws_addr += 1; return std::string("gemm 0 (wq):"); }, "gemm-align"},
      {"y over another gemm's acc", ws_fineq,
       [](Built& b) { b.program.gemms[1].y_addr = b.program.gemms[0].acc_addr; return std::string("gemm 1 (wo):"); },
       "gemm-overlap"},
      {"acc over the activations", ws_fineq,
       [](Built& b) { b.program.gemms[1].acc_addr = b.program.gemms[0].a_addr; return std::string("gemm 1 (wo):"); },
       "gemm-overlap"},
      {"duplicate gemm name", ws_fineq,
       [](Built& b) { b.program.gemms[1].name = "wq"; return std::string("gemm 1 (wq):"); }, "name"},
      {"arch name with a space", ws_fineq,
       [](Built& b) { b.program.arch_name = "a b"; return std::string("program:"); }, "name"},
  };
  for (const Mutation& m : mutations) {
    Built b = m.base();
    REQUIRE(problems(b).empty());
    const std::string where = m.mutate(b);
    const auto ps = problems(b);
    INFO(m.what << "\nexpected " << where << " [" << m.rule << "]\n" << dump(ps));
    CHECK(has(ps, where, m.rule));
    CHECK_THROWS_AS(verify(b.program, b.arch, kFp, b.dram_bytes), Error);
  }
}

SCENARIO("A matmul needs a preceding preload", "[ir][verify]") {
  Built b = handmade();
  b.program.op(2) = TileOp{.opcode = Opcode::kDmaLoad, .buf = Buffer::kWbuf, .src = 0, .src_stride = 2, .dst = 0,
                           .dst_stride = 2, .rows = 8, .bytes = 2};
  const auto ps = problems(b);
  INFO(dump(ps));
  CHECK(has(ps, "op 3 (matmul):", "no-preload"));
}

SCENARIO("Hazards between units need a dependency path", "[ir][verify]") {
  GIVEN("a load into wbuf and a preload of the same bytes") {
    Built b = handmade();
    WHEN("the preload depends on the load") {
      THEN("the program is accepted") { CHECK(problems(b).empty()); }
    }
    WHEN("the dependency is missing") {
      b.program.set_deps(2, {});
      const auto ps = problems(b);
      INFO(dump(ps));
      THEN("the RAW hazard is reported on the reader, naming the writer and the bytes") {
        REQUIRE(ps.size() == 1);
        CHECK(ps[0] ==
              "op 2 (preload): [hazard-raw] reads wbuf [0x0, 0x10) written by op 0 (dma.load), which is not a "
              "transitive dependency");
      }
    }
  }
  GIVEN("two loads of the same bytes on one unit and no dep between them") {
    Built b = handmade();
    const TileOp again = b.program.op(0);
    b.program.add(again, {7});                     // 9: overwrite the weights once y is stored
    b.program.add(again);                          // 10: the same unit, program order
    b.program.add(b.program.op(2), {10});          // 11: preload of the new weights
    THEN("program order on the unit orders them") {
      const auto ps = problems(b);
      INFO(dump(ps));
      CHECK(ps.empty());
    }
  }
  GIVEN("a matmul accumulating onto the previous one's output on the same unit") {
    Built b = handmade();
    TileProgram p;
    p.arch_fingerprint = b.program.arch_fingerprint;
    p.arch_name = b.program.arch_name;
    p.gemms = b.program.gemms;
    for (OpId id = 0; id < 4; ++id) p.add(b.program.op(id), b.program.deps(id));
    TileOp again = b.program.op(3);
    again.acc = 1;
    p.add(again);                      // 4: no dep on matmul 3
    p.add(b.program.op(8), {4});       // 5: store the accumulators
    b.program = p;
    THEN("no dep is needed between the two matmuls") {
      const auto ps = problems(b);
      INFO(dump(ps));
      CHECK(ps.empty());
    }
    WHEN("the store waits for the first matmul only") {
      b.program.set_deps(5, std::vector<OpId>{3});
      THEN("the second matmul's write is a RAW hazard for the store") {
        CHECK(has(problems(b), "op 5 (dma.store):", "hazard-raw"));
      }
    }
  }
  GIVEN("a load that overwrites weights an earlier preload read") {
    Built b = handmade();
    WHEN("it has no dependency") {
      b.program.add(b.program.op(0));  // 9
      const auto ps = problems(b);
      INFO(dump(ps));
      THEN("the WAR hazard is reported") {
        REQUIRE(ps.size() == 1);
        CHECK(ps[0] ==
              "op 9 (dma.load): [hazard-war] writes wbuf [0x0, 0x10) read by op 2 (preload), which is not a "
              "transitive dependency");
      }
    }
    WHEN("it depends on the preload") {
      b.program.add(b.program.op(0), {2});
      THEN("it is accepted") { CHECK(problems(b).empty()); }
    }
    WHEN("it depends on the y store, which waits for the dequant, which waits for the matmul after the preload") {
      b.program.add(b.program.op(0), {7});
      THEN("the transitive path through the array's issue order is enough") {
        const auto ps = problems(b);
        INFO(dump(ps));
        CHECK(ps.empty());
      }
    }
    WHEN("it depends only on the scale loads of the same unit") {
      b.program.add(b.program.op(0), {5});
      THEN("that path does not reach the array: rejected") { CHECK(has(problems(b), "op 9 (dma.load):", "hazard-war")); }
    }
  }
  GIVEN("a dequant that does not wait for its matmul") {
    Built b = handmade();
    const std::vector<OpId> scales = {4, 5};
    b.program.set_deps(6, scales);
    const auto ps = problems(b);
    INFO(dump(ps));
    THEN("the read of the accumulators is a RAW hazard") { CHECK(has(ps, "op 6 (dequant):", "hazard-raw")); }
  }
  GIVEN("an in-place dequant that does not wait for its matmul") {
    Built b = handmade();
    b.program.op(6).dst = 0;
    b.program.op(7).src = 0;
    const std::vector<OpId> scales = {4, 5};
    b.program.set_deps(6, scales);
    b.program.set_deps(8, scales);  // the acc store no longer waits for the matmul either
    const auto ps = problems(b);
    INFO(dump(ps));
    THEN("both the RAW and the WAW hazard are reported") {
      CHECK(has(ps, "op 6 (dequant):", "hazard-raw"));
      CHECK(has(ps, "op 6 (dequant):", "hazard-waw"));
    }
  }
  GIVEN("a load of DRAM bytes that a store writes") {
    Built b = handmade();
    const GemmDesc g = b.program.gemms[0];
    const TileOp reload{.opcode = Opcode::kDmaLoad, .buf = Buffer::kAbuf, .src = g.y_addr, .src_stride = 32,
                        .dst = 256, .dst_stride = 32, .rows = 4, .bytes = 32};
    WHEN("it does not wait for the store") {
      b.program.add(reload);
      const auto ps = problems(b);
      INFO(dump(ps));
      THEN("the DRAM RAW hazard is reported") {
        REQUIRE(ps.size() == 1);
        CHECK(ps[0] == fmt::format("op 9 (dma.load): [hazard-raw] reads dram [0x{:x}, 0x{:x}) written by op 7 "
                                   "(dma.store), which is not a transitive dependency",
                                   g.y_addr, g.y_addr + 128));
      }
    }
    WHEN("it waits for the store") {
      b.program.add(reload, {7});
      THEN("it is accepted") { CHECK(problems(b).empty()); }
    }
  }
}

SCENARIO("verify() throws the first problem and counts the rest", "[ir][verify]") {
  Built b = handmade();
  b.program.set_deps(2, {});
  b.program.version = 3;
  CHECK_THROWS_WITH(verify(b.program, b.arch, kFp, b.dram_bytes),
                    Catch::StartsWith("tile program: program: [version] version 3 is not 1") &&
                        Catch::EndsWith("(and 1 more problems)"));
}

SCENARIO("check() reports, never crashes, on random programs", "[ir][verify]") {
  std::mt19937_64 rng(7);
  const auto pick = [&rng](uint64_t max) -> uint64_t {
    switch (rng() % 4) {
      case 0: return 0;
      case 1: return max;
      case 2: return std::min<uint64_t>(rng() % 40, max);
      default: return max == ~uint64_t{0} ? rng() : rng() % (max + 1);
    }
  };
  for (int trial = 0; trial < 300; ++trial) {
    Built b = rng() % 2 ? ws_fineq() : os_int4();
    TileProgram& p = b.program;
    for (GemmDesc& g : p.gemms) {
      if (rng() % 4 == 0) g.m = static_cast<uint32_t>(pick(0xffffffffu));
      if (rng() % 4 == 0) g.y_addr = pick(~uint64_t{0});
      if (rng() % 8 == 0) g.format = static_cast<HwFormat>(rng() % 8);
    }
    const size_t extra = rng() % 40;
    std::vector<OpId> deps;
    for (size_t i = 0; i < extra; ++i) {
      TileOp op;
      op.opcode = static_cast<Opcode>(rng() % (kNumOpcodes + 1));
      for (int f = 0; f < kNumFields; ++f) {
        if (rng() % 3 == 0) set_field(op, static_cast<Field>(f), pick(field_max(static_cast<Field>(f))));
      }
      if (rng() % 3 == 0) op.buf = static_cast<Buffer>(rng() % 6);
      deps.clear();
      for (size_t d = rng() % 3; d > 0; --d) deps.push_back(static_cast<OpId>(rng() % (p.size() + 4)));
      p.add(op, deps);
    }
    for (int k = 0; k < 5; ++k) {
      const auto id = static_cast<OpId>(rng() % p.size());
      set_field(p.op(id), static_cast<Field>(rng() % kNumFields), pick(0xffffffffu));
    }
    std::vector<std::string> ps;
    REQUIRE_NOTHROW(ps = check(p, b.arch, kFp, rng() % 2 ? b.dram_bytes : pick(~uint64_t{0})));
    for (const auto& msg : ps) {
      INFO(msg);
      REQUIRE((msg.rfind("program: [", 0) == 0 || msg.rfind("gemm ", 0) == 0 || msg.rfind("op ", 0) == 0));
      REQUIRE(msg.find("] ") != std::string::npos);
    }
  }
}
