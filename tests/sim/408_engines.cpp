// The engine registry (sim/engine.h) and the first-divergence comparator (sim/divergence.h):
// every engine is found by name and refuses what it should with the reason; the comparator
// reports exactly the byte and the op of a planted divergence.
#include "model/core/error.h"
#include "sim/divergence.h"
#include "sim/engine.h"
#include "sim_cases.h"

#include <catch2/catch.hpp>

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fq::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every engine is registered by name and refuses what it should", "[sim][engines]") {
  CHECK(fq::sim::engine_names() == std::vector<std::string>{"fast", "golden", "rtl", "systemc"});
  for (const auto& n : fq::sim::engine_names()) CHECK(fq::sim::find_engine(n).name() == n);
  CHECK(error_of([] { fq::sim::find_engine("verilog", "--engine"); }) ==
        "--engine 'verilog': unknown engine (registered: fast, golden, rtl, systemc)");
  CHECK(error_of([] { fq::sim::find_engines("fast,fast", "--engines"); }) == "--engines 'fast,fast': engine 'fast' given twice");

  const auto& golden = fq::sim::find_engine("golden");
  const auto& fast = fq::sim::find_engine("fast");
  const auto& rtl = fq::sim::find_engine("rtl");
  CHECK((golden.parts().bytes && !golden.parts().cycles));
  CHECK((!fast.parts().bytes && fast.parts().op_timeline));
  CHECK((rtl.parts().bytes && rtl.parts().cycles && !rtl.parts().op_timeline));
  CHECK(error_of([&] { fq::sim::require_parts(golden, {.cycles = true}, "--engine golden", "simulate reports cycles"); }) ==
        "--engine golden: the golden engine computes no cycles; simulate reports cycles");

  fq::ArchConfig os = fq::test::base_arch(4, 4, "mac");
  os.dataflow = fq::Dataflow::kOutputStationary;
  CHECK(rtl.refusal(os) == "the RTL implements the weight-stationary dataflow only");
  fq::ArchConfig ss = fq::test::base_arch(4, 4, "mac");
  ss.timing = fq::TimingModel::kScaleSim;
  CHECK(rtl.refusal(ss) == "timing: scalesim is a modelling convention with no RTL");
  for (const char* n : {"golden", "fast", "systemc"}) CHECK_FALSE(fq::sim::find_engine(n).refusal(os).has_value());

  // More ops of one unit than the RTL's instruction memories hold (2^16 per unit).
  const fq::ArchConfig ws = fq::test::base_arch(4, 4, "mac");
  fq::ir::TileProgram big;
  big.arch_fingerprint = fq::fingerprint(ws);
  fq::ir::TileOp op;
  op.opcode = fq::ir::Opcode::kDmaLoad;
  for (int i = 0; i < (1 << 16) + 1; ++i) big.add(op, {});
  CHECK(rtl.refusal(ws, big) == "the program has 65537 dma_in ops; the RTL's instruction memory holds 65536 per unit");
  CHECK(error_of([&] { rtl.run(ws, big, fq::ir::MemoryImage{}); }).find("rtl engine: the program has 65537") == 0);

  // An option an engine does not take is refused, not ignored.
  const fq::test::SimCase c = fq::test::random_case(3);
  fq::sim::EngineOptions vcd;
  vcd.vcd = "x.vcd";
  CHECK(error_of([&] { fast.run(c.arch, c.layer.program, c.layer.memory, vcd); }) ==
        "--vcd: the fast engine does not take this option");
}

TEST_CASE("the comparator reports exactly a planted byte and cycle divergence", "[sim][engines]") {
  const fq::test::SimCase c = fq::test::random_case(7);
  INFO(c.describe());
  const auto& p = c.layer.program;
  const fq::sim::EngineResult golden = fq::sim::find_engine("golden").run(c.arch, p, c.layer.memory);
  const fq::sim::EngineResult fast = fq::sim::find_engine("fast").run(c.arch, p, c.layer.memory);
  REQUIRE(golden.memory.has_value());
  REQUIRE_FALSE(fast.memory.has_value());
  CHECK(fq::sim::compare_runs(p, c.arch, {golden, fast}).empty());

  // A byte: the second byte of accumulator [0][1] of the last GEMM.
  const auto& g = p.gemms.back();
  REQUIRE(g.n >= 2);
  fq::sim::EngineResult bad = golden;
  bad.engine = "planted";
  const uint64_t addr = g.acc_addr + 4 * 1 + 1;
  bad.memory->write_u8(addr, static_cast<uint8_t>(bad.memory->read_u8(addr) ^ 0x40));
  const auto d = fq::sim::first_byte_divergence(p, golden, bad);
  REQUIRE(d.has_value());
  CHECK(d->kind == fq::sim::Divergence::Kind::kBytes);
  CHECK(d->addr == addr);
  CHECK(d->message.rfind(fmt::format("golden vs planted: gemm {} ({}) acc[0][1]: expected {}, actual {}", p.gemms.size() - 1,
                                     g.name, golden.memory->read_i32(g.acc_addr + 4), bad.memory->read_i32(g.acc_addr + 4)),
                         0) == 0);
  REQUIRE(d->op.has_value());
  CHECK(p.op(*d->op).opcode == fq::ir::Opcode::kDmaStore);

  // A byte outside every output: the first byte of the first segment, exactly.
  fq::sim::EngineResult other = golden;
  other.engine = "planted";
  const auto& seg = other.memory->segments().front();
  other.memory->write_u8(seg.base, static_cast<uint8_t>(other.memory->read_u8(seg.base) ^ 1));
  const auto d2 = fq::sim::first_byte_divergence(p, golden, other);
  REQUIRE(d2.has_value());
  CHECK(d2->addr == seg.base);
  CHECK(d2->message.find(fmt::format("segment {} byte 0", seg.name)) != std::string::npos);

  // A cycle: op 5's done cycle one later, in a timeline and as done cycles only.
  REQUIRE(p.size() > 5);
  fq::sim::EngineResult late = fast;
  late.engine = "late";
  late.timeline->ops[5].done += 1;
  const auto d3 = fq::sim::first_cycle_divergence(p, c.arch, fast, late);
  REQUIRE(d3.has_value());
  CHECK(d3->kind == fq::sim::Divergence::Kind::kOpCycles);
  CHECK(d3->op == 5u);
  CHECK(d3->message.rfind("fast vs late: op 5", 0) == 0);
  fq::sim::EngineResult done_only;
  done_only.engine = "rtl-like";
  done_only.done.emplace();
  for (const auto& t : fast.timeline->ops) done_only.done->push_back(t.done);
  done_only.total = fast.timeline->total_cycles;
  CHECK_FALSE(fq::sim::first_cycle_divergence(p, c.arch, fast, done_only).has_value());
  (*done_only.done)[5] += 2;
  const auto d4 = fq::sim::first_cycle_divergence(p, c.arch, fast, done_only);
  REQUIRE(d4.has_value());
  CHECK(d4->op == 5u);
  CHECK(d4->message.find(fmt::format("completes at cycle {} in fast, {} in rtl-like", fast.timeline->ops[5].done,
                                     fast.timeline->ops[5].done + 2)) != std::string::npos);
}
