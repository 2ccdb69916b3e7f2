// Resource bombs (docs/verification.md "Fuzzing"): small files whose headers claim huge counts,
// lengths, dimensions or offsets. Each reader must refuse them against the file's real size with
// an fq::Error naming the field, before allocating. ctest runs this executable under `ulimit -v`
// (tests/fuzz/CMakeLists.txt), so an allocation the file does not justify fails the test with
// std::bad_alloc instead of passing unnoticed; the last case checks the peak resident size.
#include "fuzz/targets.h"

#include "model/arch/arch_config.h"
#include "model/arch/workload.h"
#include "model/ckpt/checkpoint.h"
#include "model/ckpt/hf_checkpoint.h"
#include "model/core/error.h"
#include "model/cost/cost_model.h"
#include "model/ckpt/random_layer.h"
#include "model/ir/mem_image.h"
#include "model/ir/tir_text.h"
#include "model/qfile/qfile.h"
#include "sim/workload_input.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace {

using Catch::Contains;
namespace fs = std::filesystem;

fs::path dir() {
  static const fs::path d = [] {
    auto p = fs::temp_directory_path() / ("fq-bombs-" + std::to_string(getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

fs::path write(const std::string& name, const std::vector<uint8_t>& bytes) {
  const auto p = dir() / name;
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return p;
}
fs::path write(const std::string& name, const std::string& text) { return write(name, std::vector<uint8_t>(text.begin(), text.end())); }

std::vector<uint8_t> read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename T>
void put(std::vector<uint8_t>& b, uint64_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);  // little-endian host, as the formats
}
template <typename T>
T get(const std::vector<uint8_t>& b, uint64_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

// A one-tensor .q whose directory fields sit at known offsets: tensor "t", method "m", no
// parameters (docs/formats.md).
struct QFile {
  std::vector<uint8_t> bytes;
  uint64_t dir_at = 0;  // the directory's offset
  QFile() {
    fq::QTensor t = fq::random_qtensor("t", fq::HwFormat::kInt8, 4, 6, 1);
    t.method = std::string(1, 'm');  // not = "m": GCC 12 -O3 reports a false -Wrestrict there
    t.params.clear();
    const auto p = dir() / "base.q";
    fq::write_qfile(p, {t});
    bytes = read(p);
    dir_at = get<uint64_t>(bytes, bytes.size() - 32);
  }
  fs::path with(const std::string& name) { return write(name, fq::fuzz::qfile_with_crcs_repaired(bytes)); }
};

}  // namespace

TEST_CASE(".q: a tensor count, text length, parameter count or shape larger than the file is refused", "[bombs]") {
  {
    QFile q;
    put<uint32_t>(q.bytes, q.dir_at, 0xffffffffu);
    CHECK_THROWS_WITH(fq::read_qfile(q.with("count.q")), Contains("tensor count 4294967295 is larger than the directory"));
  }
  {
    QFile q;
    put<uint16_t>(q.bytes, q.dir_at + 4, 0xffff);
    CHECK_THROWS_WITH(fq::read_qfile(q.with("name.q")), Contains("tensor name length 65535 exceeds 4096"));
  }
  {
    QFile q;
    put<uint16_t>(q.bytes, q.dir_at + 10, 0xffff);
    CHECK_THROWS_WITH(fq::read_qfile(q.with("params.q")), Contains("65535 parameters (at most 256)"));
  }
  {
    QFile q;
    put<uint32_t>(q.bytes, q.dir_at + 16, 1u << 30);  // rows
    put<uint32_t>(q.bytes, q.dir_at + 20, 1u << 30);  // cols
    put<uint32_t>(q.bytes, q.dir_at + 24, 1u << 30);  // cols_padded
    CHECK_THROWS_WITH(fq::read_qfile(q.with("shape.q")), Contains("do not match shape [1073741824, 1073741824]"));
  }
  {
    QFile q;  // a section length that matches no shape and lies past the file
    put<uint64_t>(q.bytes, q.dir_at + 40, uint64_t{1} << 62);
    CHECK_THROWS_WITH(fq::read_qfile(q.with("section.q")), Contains("4611686018427387904 code bytes"));
  }
}

TEST_CASE("llama2.c: a header implying more bytes than the file is refused before any tensor entry", "[bombs]") {
  auto header = [](std::vector<int32_t> v) {
    std::vector<uint8_t> b(28 + 64, 0);
    std::memcpy(b.data(), v.data(), 28);
    return b;
  };
  // 2^20 layers: before the fix the reader built 9 M named entries (over 1 GB) before comparing.
  CHECK_THROWS_WITH(fq::open_checkpoint(write("layers.bin", header({8, 16, 1 << 20, 2, 2, 12, 4}))),
                    Contains("n_layers 1048576") && Contains("implies 2751463932 bytes: truncated"));
  // Every size field at its maximum (head size 2): the implied size passes 2^64.
  CHECK_THROWS_WITH(fq::open_checkpoint(write("max.bin", header({1 << 20, 1 << 20, 1 << 20, 1 << 19, 1 << 19, 1 << 20, 1 << 20}))),
                    Contains("implies more than 2^64 bytes: truncated"));
}

TEST_CASE("safetensors: a deep header, a shape or a data offset beyond the file is refused", "[bombs]") {
  // 8-byte header length, the JSON header, 16 data bytes.
  auto st = [](const std::string& json, uint64_t claimed_length = 0) {
    std::vector<uint8_t> b(8 + json.size() + 16, 0);
    put<uint64_t>(b, 0, claimed_length ? claimed_length : json.size());
    std::memcpy(b.data() + 8, json.data(), json.size());
    return b;
  };
  // A header nested 100000 deep: parsed and destroyed without recursion, then refused.
  CHECK_THROWS_WITH(fq::open_checkpoint(write("deep.safetensors", st("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}"))),
                    Contains("tensor 'a': needs dtype, shape and data_offsets"));
  CHECK_THROWS_WITH(
      fq::open_checkpoint(write("shape.safetensors", st(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}})"))),
      Contains("tensor 'w': shape is too large"));
  CHECK_THROWS_WITH(
      fq::open_checkpoint(write("offs.safetensors", st(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,9223372036854775808]}})"))),
      Contains("data_offsets [0, 9223372036854775808] lie outside the data section of 16 bytes"));
}

TEST_CASE(".tir: an op count the file does not hold is refused without reserving it", "[bombs]") {
  // Before the fix the parser reserved 2^22 ops (hundreds of MB of address space) for this line.
  CHECK_THROWS_WITH(fq::ir::read_tir(write("ops.tir", "fqtir 1\narch fingerprint=0123456789abcdef name=x\nops 4294967294\n")),
                    Contains("file ends after 0 of 4294967294 ops"));
}

TEST_CASE(".mem: a segment count or segment size beyond the file is refused before allocating", "[bombs]") {
  std::vector<uint8_t> b(32, 0);
  std::memcpy(b.data(), "FQMEMIMG", 8);
  put<uint32_t>(b, 8, 1);
  put<uint32_t>(b, 12, 0xffffffffu);
  std::memcpy(b.data() + 16, "0123456789abcdef", 16);
  CHECK_THROWS_WITH(fq::ir::read_mem(write("count.mem", b)), Contains("segment count 4294967295 cannot fit"));
  // One segment "s" of 2^40 bytes at 0 in a file of a few bytes, with valid CRCs.
  put<uint32_t>(b, 12, 1);
  const uint8_t entry[] = {1, 0, 's'};
  b.insert(b.end(), entry, entry + 3);
  b.resize(b.size() + 8 + 8 + 4 + 4 + 8, 0);
  put<uint64_t>(b, 35 + 8, uint64_t{1} << 40);
  CHECK_THROWS_WITH(fq::ir::read_mem(write("size.mem", fq::fuzz::mem_with_crcs_repaired(b))),
                    Contains("describes 1099511627776 data bytes but 8 follow"));
}

TEST_CASE("topology CSV and --gemm: a GEMM too large to generate is refused", "[bombs]") {
  const auto arch = fq::load_arch(FQ_SOURCE_DIR "/configs/int8.yaml");
  fq::sim::WorkloadRequest r;
  r.topology = write("big.csv", "a, 16777216, 16777216, 16777216,\n").string();
  CHECK_THROWS_WITH(fq::sim::make_workload(r, arch), Contains("big.csv line 1: GEMM M = 16777216") && Contains("too large"));
  fq::sim::WorkloadRequest g;
  g.gemm = "1,65536,65537";
  CHECK_THROWS_WITH(fq::sim::make_workload(g, arch), Contains("--gemm: GEMM M = 1, N = 65536, K = 65537 is too large"));
}

TEST_CASE("workload YAML: a layer count that expands a short file into 10^12 GEMMs is refused", "[bombs]") {
  const auto p = write("w.yaml", "version: 1\nname: x\nsource: x\nlayers: 1000000000000\ngemms:\n  - {name: a, n: 1, k: 1}\n");
  CHECK_THROWS_WITH(fq::load_workload(p.string(), 1), Contains("key 'layers' (line 4) is 1000000000000, at most 65536"));
}

TEST_CASE("arch and costs YAML: nested aliases (billion laughs) are refused without expanding them", "[bombs]") {
  std::string y = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 20; ++i) {
    y += fmt::format("a{0}: &a{0} [*a{1}, *a{1}, *a{1}, *a{1}, *a{1}, *a{1}, *a{1}, *a{1}, *a{1}, *a{1}]\n", i, i - 1);
  }
  CHECK_THROWS_WITH(fq::parse_arch(y, "laughs.yaml"), Contains("laughs.yaml: unknown key 'a0'"));
  CHECK_THROWS_WITH(fq::cost::parse_cost_tables(y, "laughs.yaml"), Contains("laughs.yaml"));
}

TEST_CASE("HF checkpoint: a max_position_embeddings whose RoPE tables the weights file cannot justify is refused",
          "[bombs]") {
  // The fuzz seed's tiny model (dim 8, 3.8 KB) with one head of 8 and 2^24 positions: 512 MB of
  // computed RoPE tables before the fix.
  const auto seed = read(FQ_SOURCE_DIR "/tests/fuzz/hf_config/seeds/tied-f32.bin");
  const auto n = get<uint32_t>(seed, 0);
  auto config = nlohmann::json::parse(seed.begin() + 4, seed.begin() + 4 + n);
  config["max_position_embeddings"] = 1 << 24;
  config["num_attention_heads"] = config["num_key_value_heads"] = 1;
  const auto d = dir() / "hf";
  fs::create_directories(d);
  write("hf/config.json", config.dump());
  write("hf/model.safetensors", std::vector<uint8_t>(seed.begin() + 4 + n, seed.end()));
  CHECK_THROWS_WITH(fq::open_model_checkpoint(d),
                    Contains("config.json: key 'max_position_embeddings' = 16777216 with head size 8 implies RoPE tables "
                             "of 536870912 bytes, more than") &&
                        Contains("model.safetensors of 3497 bytes holds"));
}

TEST_CASE("peak resident memory of every bomb above stays small", "[bombs]") {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  INFO("peak RSS " << u.ru_maxrss << " KiB");
  CHECK(u.ru_maxrss < 64 * 1024);
  fs::remove_all(dir());
}
