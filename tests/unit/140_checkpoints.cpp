#include "model/ckpt/checkpoint.h"
#include "model/ckpt/synthetic.h"
#include "model/core/error.h"
#include "model/core/fp16.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void spit(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

float raw_float(const std::string& bytes, uint64_t offset) {
  float v;
  std::memcpy(&v, bytes.data() + offset, 4);
  return v;
}

std::string safetensors(const std::string& header, const std::string& data) {
  std::string s(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(s.data(), &n, 8);
  return s + header + data;
}

template <typename T>
std::string bytes_of(std::initializer_list<T> values) {
  std::string s;
  for (const T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

}  // namespace

SCENARIO("the stories260K llama2.c checkpoint reads as its README says", "[ckpt][model]") {
  const auto path = fq::test::stories260k();
  const auto c = fq::read_llama2c_config(path);
  CHECK(c.dim == 64);
  CHECK(c.hidden_dim == 172);
  CHECK(c.n_layers == 5);
  CHECK(c.n_heads == 8);
  CHECK(c.n_kv_heads == 4);
  CHECK(c.vocab_size == 512);
  CHECK(c.seq_len == 512);
  CHECK(c.shared_classifier);
  const auto ckpt = fq::open_checkpoint(path);
  const auto linear = fq::select_tensors(*ckpt, "");
  REQUIRE(linear.size() == 35);
  CHECK(linear.front() == "layers.0.wq");
  CHECK(linear.back() == "layers.4.w3");
  const auto find = [&](const std::string& name) {
    for (const auto& t : ckpt->tensors()) {
      if (t.name == name) return t.shape;
    }
    FAIL("no " << name);
    return std::vector<int64_t>{};
  };
  CHECK(find("layers.2.wk") == std::vector<int64_t>{32, 64});
  CHECK(find("layers.2.w2") == std::vector<int64_t>{64, 172});
  CHECK(find("layers.2.w1") == std::vector<int64_t>{172, 64});
  THEN("values equal the bytes at the documented offsets") {
    const std::string raw = slurp(path);
    // header 28 B, tok_embeddings 512*64, rms_att 5*64, then wq of layers 0..4.
    const uint64_t wq0 = 28 + 4 * (512 * 64 + 5 * 64);
    const auto wq = ckpt->load("layers.0.wq");
    REQUIRE(wq.size() == 64 * 64);
    CHECK(wq.front() == raw_float(raw, wq0));
    CHECK(wq.back() == raw_float(raw, wq0 + 4 * (64 * 64 - 1)));
    // w2 of layer 4 ends where w3 of layer 0 starts; w3 then runs 5 * 172 * 64 floats, then
    // rms_final (64) and the two freq_cis tables (512 * 4 each) end the file.
    const uint64_t w2_end = raw.size() - 4 * (5 * 172 * 64 + 64 + 2 * 512 * 4);
    const auto w2 = ckpt->load("layers.4.w2");
    CHECK(w2.back() == raw_float(raw, w2_end - 4));
    CHECK(w2.front() == raw_float(raw, w2_end - 4 * 64 * 172));
  }
  THEN("damaged copies are rejected with sizes and fields") {
    const auto dir = fq::test::temp_dir("llama2c");
    const std::string raw = slurp(path);
    for (const size_t n : {size_t{27}, size_t{28}, size_t{500000}, raw.size() - 1}) {
      spit(dir / "cut.bin", raw.substr(0, n));
      INFO("length " << n);
      CHECK_THROWS_WITH(fq::open_checkpoint(dir / "cut.bin"), Catch::Contains("cut.bin"));
    }
    spit(dir / "cut.bin", raw.substr(0, 500000));
    CHECK_THROWS_WITH(fq::open_checkpoint(dir / "cut.bin"), Catch::Contains("1056540") && Catch::Contains("500000"));
    spit(dir / "long.bin", raw + "x");
    CHECK_THROWS_WITH(fq::open_checkpoint(dir / "long.bin"), Catch::Contains("trailing"));
    std::string heads = raw;
    std::memset(heads.data() + 12, 0, 4);
    spit(dir / "heads.bin", heads);
    CHECK_THROWS_WITH(fq::open_checkpoint(dir / "heads.bin"), Catch::Contains("n_heads"));
  }
  THEN("patterns select tensors in file order") {
    CHECK(fq::select_tensors(*ckpt, "layers.*.wq") ==
          std::vector<std::string>{"layers.0.wq", "layers.1.wq", "layers.2.wq", "layers.3.wq", "layers.4.wq"});
    CHECK(fq::select_tensors(*ckpt, "layers.1.w?,layers.1.wq").size() == 7);
    CHECK_THROWS_WITH(fq::select_tensors(*ckpt, "layers.9.*"), Catch::Contains("layers.9.*"));
  }
}

SCENARIO("safetensors files of F32, F16 and BF16 read back exactly", "[ckpt]") {
  const auto dir = fq::test::temp_dir("safetensors");
  const std::string data = bytes_of<float>({1.5f, -2.0f, 0.25f, 8.0f, 3.0f, -1.0f}) +
                           bytes_of<uint16_t>({fq::fp16_from_float(0.5f), fq::fp16_from_float(-3.0f)}) +
                           bytes_of<uint16_t>({0x3f80, 0xc040});  // BF16 1.0, -3.0
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                             R"("h":{"dtype":"F16","shape":[1,2],"data_offsets":[24,28]},)"
                             R"("b":{"dtype":"BF16","shape":[2,1,1],"data_offsets":[28,32]}})";
  spit(dir / "m.safetensors", safetensors(header, data));
  const auto ckpt = fq::open_checkpoint(dir / "m.safetensors");
  REQUIRE(ckpt->tensors().size() == 3);
  CHECK(ckpt->load("a") == std::vector<float>{1.5f, -2.0f, 0.25f, 8.0f, 3.0f, -1.0f});
  CHECK(ckpt->load("h") == std::vector<float>{0.5f, -3.0f});
  CHECK(ckpt->load("b") == std::vector<float>{1.0f, -3.0f});
  CHECK(ckpt->tensors()[2].shape == std::vector<int64_t>{2, 1, 1});
  CHECK(fq::select_tensors(*ckpt, "") == std::vector<std::string>{"a", "h"});  // the 2-D tensors
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,40]}})", "outside the data section"},
      {R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}})", "needs 16"},
      {R"({"a":{"dtype":"I8","shape":[2,3],"data_offsets":[0,6]}})", "I8"},
      {R"({"a":{"dtype":"F32","shape":[2,3]}})", "data_offsets"},
      {R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[8,0]}})", "outside"},
      {R"({"a": [1, 2)", "does not parse"}};
  for (const auto& [h, expect] : bad) {
    spit(dir / "bad.safetensors", safetensors(h, data));
    INFO(h);
    CHECK_THROWS_WITH(fq::open_checkpoint(dir / "bad.safetensors"), Catch::Contains("bad.safetensors") &&
                                                                        Catch::Contains(expect));
  }
  std::string huge = safetensors(header, data);
  const uint64_t n = 1ull << 40;
  std::memcpy(huge.data(), &n, 8);
  huge[8] = '{';
  spit(dir / "huge.safetensors", huge);
  CHECK_THROWS_AS(fq::open_checkpoint(dir / "huge.safetensors"), fq::Error);  // read as llama2.c: size mismatch
}

SCENARIO("synthetic layers are seeded, shaped like LLaMA-2 and heavy-tailed", "[ckpt][synthetic]") {
  const auto l7 = fq::synthetic_layer("llama2-7b");
  REQUIRE(l7.size() == 7);
  int64_t total = 0;
  for (const auto& t : l7) total += int64_t{t.rows} * t.cols;
  CHECK(total == 202375168);
  CHECK(l7[5].name == "layers.0.w2");
  CHECK(l7[5].rows == 4096);
  CHECK(l7[5].cols == 11008);
  CHECK(fq::synthetic_layer("llama2-13b")[4].rows == 13824);
  const auto g = fq::synthetic_layer("gemm:N=300,K=1000");
  REQUIRE(g.size() == 1);
  CHECK(g[0].rows == 300);
  CHECK(g[0].cols == 1000);
  for (const char* bad : {"gemm:N=3", "gemm:N=0,K=3", "llama3", "gemm:N=x,K=2"}) {
    CHECK_THROWS_WITH(fq::synthetic_layer(bad), Catch::Contains(bad));
  }
  setenv("FQ_THREADS", "1", 1);
  const auto a = fq::synthetic_weights(g[0], 7);
  setenv("FQ_THREADS", "2", 1);
  const auto b = fq::synthetic_weights(g[0], 7);
  unsetenv("FQ_THREADS");
  CHECK(a == b);
  CHECK(a != fq::synthetic_weights(g[0], 8));
  // Statistics of the columns that are not outliers: standard deviation 0.02, kurtosis near 6.
  double m2 = 0, m4 = 0;
  int64_t n = 0;
  std::vector<double> col_rms(1000, 0);
  for (int r = 0; r < 300; ++r) {
    for (int c = 0; c < 1000; ++c) col_rms[static_cast<size_t>(c)] += a[static_cast<size_t>(r * 1000 + c)] * a[static_cast<size_t>(r * 1000 + c)];
  }
  int outlier_cols = 0;
  for (int c = 0; c < 1000; ++c) {
    const double rms = std::sqrt(col_rms[static_cast<size_t>(c)] / 300);
    if (rms > 0.035) {
      ++outlier_cols;
      continue;
    }
    for (int r = 0; r < 300; ++r) {
      const double x = a[static_cast<size_t>(r * 1000 + c)];
      m2 += x * x;
      m4 += x * x * x * x;
      ++n;
    }
  }
  CHECK(outlier_cols >= 1);
  CHECK(outlier_cols <= 5);
  const double var = m2 / static_cast<double>(n);
  CHECK(std::sqrt(var) == Approx(0.02).epsilon(0.05));
  CHECK(m4 / static_cast<double>(n) / (var * var) > 4.5);
}
