#include "model/core/atomic_file.h"
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/qfile/qfile.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <random>

namespace {

fq::QTensor tensor(std::mt19937& rng, const std::string& name, fq::HwFormat format, int rows, int cols, int group = 0) {
  fq::QTensor t;
  t.name = name;
  t.method = format == fq::HwFormat::kFineqR ? "fineq" : "rtn";
  t.params = {{"policy", "ratio"}, {"threshold", "4"}};
  auto& m = t.matrix;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  m.cols_padded = format == fq::HwFormat::kFineqR ? 3 * ((cols + 2) / 3) : cols;
  m.group_size = group;
  m.codes.resize(static_cast<size_t>(rows) * static_cast<size_t>(m.row_bytes()));
  for (auto& b : m.codes) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> s(0.001f, 1.0f);
  m.scales.resize(static_cast<size_t>(rows) * static_cast<size_t>(m.scale_groups()));
  for (auto& v : m.scales) v = fq::fp16_from_float(s(rng));
  return t;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

bool same(const fq::QTensor& a, const fq::QTensor& b) {
  return a.name == b.name && a.method == b.method && a.params == b.params && a.matrix.format == b.matrix.format &&
         a.matrix.rows == b.matrix.rows && a.matrix.cols == b.matrix.cols &&
         a.matrix.cols_padded == b.matrix.cols_padded && a.matrix.group_size == b.matrix.group_size &&
         a.matrix.codes == b.matrix.codes && a.matrix.scales == b.matrix.scales;
}

}  // namespace

SCENARIO(".q files round trip every format and field", "[qfile]") {
  std::mt19937 rng(1);
  const auto dir = fq::test::temp_dir("qfile_rt");
  const std::vector<fq::QTensor> tensors = {
      tensor(rng, "layers.0.wq", fq::HwFormat::kFineqR, 7, 64),  tensor(rng, "layers.0.w2", fq::HwFormat::kFineqR, 5, 172),
      tensor(rng, "k0", fq::HwFormat::kFineqR, 3, 9),            tensor(rng, "int8", fq::HwFormat::kInt8, 4, 13),
      tensor(rng, "int4", fq::HwFormat::kInt4, 4, 13),           tensor(rng, "int3", fq::HwFormat::kInt3, 4, 13),
      tensor(rng, "int2", fq::HwFormat::kInt2, 4, 13),           tensor(rng, "grouped", fq::HwFormat::kFineqR, 2, 20, 6),
      tensor(rng, "grouped4", fq::HwFormat::kInt4, 2, 20, 8)};
  const auto path = dir / "layer.q";
  fq::write_qfile(path, tensors);
  const auto back = fq::read_qfile(path);
  REQUIRE(back.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) CHECK(same(back[i], tensors[i]));
  const auto index = fq::read_qfile_index(path);
  CHECK(index[1].name == "layers.0.w2");
  CHECK(index[1].cols == 172);
  CHECK(same(fq::read_qtensor(path, "int3"), tensors[5]));
  CHECK_THROWS_WITH(fq::read_qtensor(path, "layers.9.wq"), Catch::Contains("no tensor named 'layers.9.wq'") &&
                                                             Catch::Contains("layers.0.wq"));
  CHECK_FALSE(std::filesystem::exists(fq::temp_path_for(dir / "layer.q")));
}

SCENARIO("damaged .q files are rejected with the file and offset", "[qfile]") {
  std::mt19937 rng(2);
  const auto dir = fq::test::temp_dir("qfile_bad");
  const auto good = dir / "good.q";
  fq::write_qfile(good, {tensor(rng, "a", fq::HwFormat::kFineqR, 3, 10), tensor(rng, "b", fq::HwFormat::kInt4, 2, 5)});
  const std::string bytes = slurp(good);
  const auto bad = dir / "bad.q";
  WHEN("the file is cut at every length") {
    for (size_t n = 0; n < bytes.size(); ++n) {
      spit(bad, bytes.substr(0, n));
      INFO("length " << n);
      CHECK_THROWS_WITH(fq::read_qfile(bad), Catch::Contains("bad.q"));
    }
  }
  WHEN("any single byte outside the alignment padding is flipped") {
    std::vector<bool> covered(bytes.size(), false);
    const auto index = fq::read_qfile_index(good);
    for (size_t i = 0; i < 64; ++i) covered[i] = true;  // header
    for (const auto& e : index) {
      for (uint64_t i = 0; i < e.code_bytes; ++i) covered[e.codes_offset + i] = true;
      for (uint64_t i = 0; i < 2 * e.scale_count; ++i) covered[e.scales_offset + i] = true;
    }
    uint64_t dir_offset = 0;
    std::memcpy(&dir_offset, bytes.data() + bytes.size() - 32, 8);
    for (size_t i = dir_offset; i < bytes.size(); ++i) covered[i] = true;  // directory and footer
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (!covered[i]) continue;
      std::string b = bytes;
      b[i] = static_cast<char>(b[i] ^ 0x5a);
      spit(bad, b);
      INFO("byte " << i);
      CHECK_THROWS_WITH(fq::read_qfile(bad), Catch::Contains("bad.q: offset"));
    }
  }
  WHEN("the magic or the version is wrong") {
    std::string b = bytes;
    b[0] = 'X';
    spit(bad, b);
    CHECK_THROWS_WITH(fq::read_qfile(bad), Catch::Contains("bad magic"));
    b = bytes;
    b[8] = 9;
    spit(bad, b);
    CHECK_THROWS_WITH(fq::read_qfile(bad), Catch::Contains("version 9.0 is not supported"));
  }
  WHEN("the footer's directory size is huge") {
    std::string b = bytes;
    const uint64_t huge = uint64_t{1} << 63;
    std::memcpy(b.data() + b.size() - 32 + 8, &huge, 8);
    spit(bad, b);
    CHECK_THROWS_WITH(fq::read_qfile(bad), Catch::Contains("directory offset"));
  }
  WHEN("the file does not exist") {
    CHECK_THROWS_WITH(fq::read_qfile(dir / "none.q"), Catch::Contains("none.q: cannot open"));
  }
}

SCENARIO("a failed write leaves no file behind", "[qfile]") {
  std::mt19937 rng(3);
  const auto dir = fq::test::temp_dir("qfile_fail");
  const auto path = dir / "out.q";
  auto broken = tensor(rng, "x", fq::HwFormat::kFineqR, 2, 6);
  broken.matrix.codes.pop_back();
  CHECK_THROWS_AS(fq::write_qfile(path, {tensor(rng, "ok", fq::HwFormat::kInt8, 1, 1), broken}), fq::Error);
  CHECK_THROWS_WITH(fq::write_qfile(path, {tensor(rng, "d", fq::HwFormat::kInt8, 1, 1),
                                           tensor(rng, "d", fq::HwFormat::kInt8, 1, 1)}),
                    Catch::Contains("already used"));
  CHECK(std::filesystem::is_empty(dir));
  CHECK_THROWS_WITH(fq::write_qfile(dir / "missing" / "out.q", {}), Catch::Contains("cannot create"));
}
