#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "model/core/error.h"
#include "model/ir/tir_text.h"

using namespace fq;
using namespace fq::ir;

namespace {

const std::vector<std::string> kValid = {
    "fqtir 1",
    "# a comment line",
    "arch fingerprint=0123456789abcdef name=tiny",
    "gemm 0 name=g format=fineq_r m=4 n=8 k=9 w_addr=0x0 ws_addr=0x40 a_addr=0x80 a_stride=16 as_addr=0xc0 "
    "acc_addr=0x100 y_addr=0x180",
    "ops 3",
    "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3",
    "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n0=0 n=8 deps=0",
    "2 matmul gemm=0 src=0x0 src_stride=9 dst=0x0 dst_stride=32 m0=0 m=4 acc=0 deps=1",
};

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// The text with line `line` (1-based) replaced; an empty replacement deletes nothing but blanks it.
std::string with_line(int line, const std::string& replacement) {
  auto lines = kValid;
  lines[static_cast<size_t>(line - 1)] = replacement;
  return join(lines);
}

std::string error_of(const std::string& text) {
  try {
    parse_tir_text(text, "bad.tir");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct Case {
  int line;                 // line to replace (0: use `text` as the whole file)
  std::string replacement;  // the malformed line
  int error_line;           // line the message must name
  std::string token;        // the offending token the message must quote
  std::string what;         // part of the explanation
};

}  // namespace

SCENARIO("The valid base text parses", "[ir][tir]") {
  const TileProgram p = parse_tir_text(join(kValid), "good.tir");
  CHECK(p.size() == 3);
  CHECK(p.gemms.size() == 1);
  CHECK(p.op(2).m == 4);
}

SCENARIO("Each malformed line is reported with its file, line number and token", "[ir][tir]") {
  const std::vector<Case> cases = {
      {1, "fqtlr 1", 1, "fqtlr", "first line"},
      {1, "fqtir 2", 1, "2", "unsupported fqtir version"},
      {1, "fqtir one", 1, "one", "version number"},
      {1, "fqtir 1 extra", 1, "extra", "expected 'fqtir <version>'"},
      {3, "arch fingerprint=0123456789ABCDEF name=tiny", 3, "fingerprint=0123456789ABCDEF", "lowercase hex"},
      {3, "arch fingerprint=0123 name=tiny", 3, "fingerprint=0123", "16 lowercase hex"},
      {3, "arch fingerprint=0123456789abcdef", 3, "arch", "missing name="},
      {3, "arch fingerprint=0123456789abcdef name=tiny color=red", 3, "color=red", "unknown key"},
      {3, "arch fingerprint=0123456789abcdef name=a name=b", 3, "name=b", "duplicate key"},
      {3, "machine fingerprint=0123456789abcdef name=tiny", 3, "machine", "expected 'arch"},
      {4, "gemm 1 name=g format=fineq_r m=4 n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 acc_addr=0 y_addr=0",
       4, "1", "gemm index out of sequence"},
      {4, "gemm 0 name=g format=int5 m=4 n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 acc_addr=0 y_addr=0",
       4, "format=int5", "unknown weight format"},
      {4, "gemm 0 name=g format=int8 m=4 n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 acc_addr=0", 4, "gemm",
       "missing key 'y_addr'"},
      {4, "gemm 0 name=g format=int8 m=4 m=5 n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 acc_addr=0 "
          "y_addr=0",
       4, "m=5", "duplicate key"},
      {4, "gemm 0 name=g format=int8 m=four n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 acc_addr=0 "
          "y_addr=0",
       4, "m=four", "unsigned integer"},
      {4, "gemm 0 name=g format=int8 m=4294967296 n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 "
          "acc_addr=0 y_addr=0",
       4, "m=4294967296", "exceeds 4294967295"},
      {4, "gemm 0 name=g format=int8 m=4 n=8 k=9 w_addr=0x10000000000000000 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 "
          "acc_addr=0 y_addr=0",
       4, "w_addr=0x10000000000000000", "unsigned integer"},
      {4, "gemm 0 name=g format=int8 m=4 n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 acc_addr=0 y_addr=0 "
          "bias=0",
       4, "bias=0", "unknown key in 'gemm' line"},
      {4, "gemm 0 name= format=int8 m=4 n=8 k=9 w_addr=0 ws_addr=0 a_addr=0 a_stride=9 as_addr=0 acc_addr=0 y_addr=0",
       4, "name=", "gemm name"},
      {4, "layer 0", 4, "layer", "expected a 'gemm' or 'ops' line"},
      {5, "ops x", 5, "x", "unsigned integer"},
      {5, "ops 3 4", 5, "4", "expected 'ops <count>'"},
      {6, "5 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3", 6, "5",
       "op id out of sequence (expected 0)"},
      {6, "x dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3", 6, "x", "op id"},
      {6, "0 dma.lode buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3", 6, "dma.lode",
       "unknown opcode"},
      {6, "0", 6, "0", "expected '<id> <opcode>"},
      {6, "0 dma.load buf=xbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3", 6, "buf=xbuf",
       "unknown buffer"},
      {6, "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3 m=2", 6, "m=2",
       "unknown field for dma.load"},
      {6, "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 rows=9 bytes=3", 6, "rows=9",
       "duplicate key"},
      {6, "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=-8 bytes=3", 6, "rows=-8",
       "unsigned integer"},
      {6, "0 dma.load buf=wbuf src=0x src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3", 6, "src=0x",
       "unsigned integer"},
      {6, "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes", 6, "bytes", "key=value"},
      {6, "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 =3 rows=8 bytes=3", 6, "=3", "key=value"},
      {6, "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=4294967296 rows=8 bytes=3", 6,
       "dst_stride=4294967296", "exceeds"},
      {7, "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n=8 deps=0", 7, "preload", "missing field 'n0'"},
      {7, "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n0=0 n=8 deps=", 7, "deps=", "empty deps list"},
      {7, "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n0=0 n=8 deps=0,,1", 7, "deps=0,,1", "comma separated"},
      {7, "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n0=0 n=8 deps=0, ", 7, "deps=0,", "comma separated"},
      {7, "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n0=0 n=8 deps=0 deps=0", 7, "deps=0", "duplicate key"},
      {7, "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n0=0 n=8 deps=4294967296", 7, "deps=4294967296",
       "comma separated"},
      {8, "2 matmul gemm=0 src=0x0 src_stride=9 dst=0x0 dst_stride=32 m0=0 m=4 acc=2 deps=1", 8, "acc=2",
       "exceeds 1"},
      {8, "2 matmul gemm=0 src=0x0 src_stride=9 dst=0x0 dst_stride=32 m0=0 m=4 k=3 acc=0", 8, "k=3",
       "unknown field for matmul"},
  };
  for (const Case& c : cases) {
    INFO("line " << c.line << ": " << c.replacement);
    const std::string message = error_of(with_line(c.line, c.replacement));
    CHECK_THAT(message, Catch::StartsWith(fmt::format("bad.tir:{}: ", c.error_line)));
    CHECK_THAT(message, Catch::Contains(fmt::format("'{}'", c.token)));
    CHECK_THAT(message, Catch::Contains(c.what));
  }
}

SCENARIO("Structural errors of the whole file name the line where they are found", "[ir][tir]") {
  GIVEN("an empty file") {
    CHECK_THAT(error_of(""), Catch::StartsWith("bad.tir:0: missing 'fqtir' version line"));
  }
  GIVEN("a file of comments only") {
    CHECK_THAT(error_of("# nothing\n\n# here\n"), Catch::StartsWith("bad.tir:3: missing 'fqtir' version line"));
  }
  GIVEN("a file that ends after the gemm table") {
    auto lines = kValid;
    lines.resize(4);
    CHECK_THAT(error_of(join(lines)), Catch::StartsWith("bad.tir:4: missing 'ops' line"));
  }
  GIVEN("a file that ends before the arch line") {
    CHECK_THAT(error_of("fqtir 1\n"), Catch::StartsWith("bad.tir:1: missing 'arch' line"));
  }
  GIVEN("fewer op lines than announced") {
    CHECK_THAT(error_of(with_line(5, "ops 4")), Catch::StartsWith("bad.tir:8: file ends after 3 of 4 ops"));
  }
  GIVEN("more op lines than announced") {
    const std::string message = error_of(with_line(5, "ops 2"));
    CHECK_THAT(message, Catch::StartsWith("bad.tir:8: unexpected line after the last op: '2'"));
  }
  GIVEN("a line with more tokens than any op has fields") {
    std::string line = "0 dma.load buf=wbuf src=0x0 src_stride=3 dst=0x0 dst_stride=3 rows=8 bytes=3";
    for (int i = 0; i < 20; ++i) line += " x=1";
    CHECK_THAT(error_of(with_line(6, line)), Catch::StartsWith("bad.tir:6: too many tokens on one line"));
  }
  GIVEN("a stream instead of a string") {
    std::istringstream in(with_line(7, "1 preload gemm=0 src=0x0 src_stride=3 k0=0 k=9 n0=0 n=8 deps=a"));
    CHECK_THROWS_WITH(parse_tir(in, "stream.tir"), Catch::StartsWith("stream.tir:7: "));
  }
  GIVEN("a missing file") {
    CHECK_THROWS_WITH(read_tir("/nonexistent/dir/p.tir"), Catch::Contains("/nonexistent/dir/p.tir: cannot open"));
  }
}

SCENARIO("Damaged text never crashes the parser", "[ir][tir]") {
  const std::string good = join(kValid);
  // Whatever parses must print and re-parse to itself; everything else is one fq::Error.
  const auto survives = [](const std::string& text) {
    TileProgram p;
    try {
      p = parse_tir_text(text, "fuzz.tir");
    } catch (const Error&) {
      return true;
    }
    return parse_tir_text(to_tir_text(p), "again.tir") == p;
  };
  GIVEN("the text cut at every offset") {
    for (size_t n = 0; n <= good.size(); ++n) {
      INFO("cut at " << n);
      REQUIRE(survives(good.substr(0, n)));
    }
  }
  GIVEN("random bytes replaced") {
    uint64_t state = 12345;
    const auto next = [&state] {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return state >> 33;
    };
    static constexpr char kAlphabet[] = "0123456789abcdefx=,# \n\t.-_mnkgdepsrcbufwao";
    for (int trial = 0; trial < 3000; ++trial) {
      std::string text = good;
      const int edits = 1 + static_cast<int>(next() % 3);
      for (int e = 0; e < edits; ++e) text[next() % text.size()] = kAlphabet[next() % (sizeof kAlphabet - 1)];
      INFO(text);
      REQUIRE(survives(text));
    }
  }
}
