// Regression test: the mapping the compiler chooses and the program it emits, for every preset
// (and the int8 preset with dataflow=os and with timing=scalesim) on the GEMM shapes of the tests,
// the stories260K layer and the LLaMA-2-7B layer (M = 1 and 2048).
// The expected values are NOT derived: they were recorded from the compiler as it was at commit
// 4a411cf, before it was split into mapper and lowering (docs/compiler.md). The program hash is
// FNV-1a 64 of the printed .tir; the weight and activation values do not enter the program (only
// shapes, formats and the mapping do), so zero operands stand in for real ones. A difference here
// means the search or the lowering changed: justify it with fast-engine cycles (docs/compiler.md
// "Cost model and choice") or undo it.
#include "compiler/compiler.h"
#include "model/arch/pe_model.h"
#include "model/arch/arch_config.h"
#include "model/ir/tir_text.h"
#include "support/paths.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <ostream>
#include <streambuf>

namespace {

struct Expected {
  const char* arch;  // label in archs()
  int m, n, k;
  const char* order;  // to_string(order), "+A" when a_resident
  int kt, nt, mc;
  const char* slots;  // w a o s
  int64_t dram_read_bytes;
  uint64_t program_ops;
  uint64_t tir_hash;
};

struct ArchCase {
  const char* label;
  const char* file;
  std::vector<std::string> sets;
};

const std::vector<ArchCase>& archs() {
  static const std::vector<ArchCase> a = {{"fineq", "fineq.yaml", {}},
                                          {"int8", "int8.yaml", {}},
                                          {"int4", "int4.yaml", {}},
                                          {"int8-os", "int8.yaml", {"dataflow=os"}},
                                          {"int8-scalesim", "int8.yaml", {"timing=scalesim"}},
                                          {"int8-os-scalesim", "int8.yaml", {"dataflow=os", "timing=scalesim"}}};
  return a;
}

fq::ArchConfig arch_of(const std::string& label) {
  for (const ArchCase& a : archs()) {
    if (label == a.label) return fq::load_arch((fq::test::source_dir() / "configs" / a.file).string(), a.sets);
  }
  FAIL("unknown arch label " << label);
  return {};
}

fq::HwFormat format_of(const fq::ArchConfig& arch) {
  return fq::pe_model(arch).weight_format(arch);
}

// Zero operands of the right sizes: the program depends on shapes only.
struct Operands {
  std::vector<fq::QTensor> weights;
  std::vector<std::vector<int8_t>> acts;
  std::vector<std::vector<float>> act_scales;
  std::vector<fq::compiler::GemmInput> inputs;
};

Operands zero_operands(fq::HwFormat format, int m, const std::vector<std::tuple<std::string, int, int>>& gemms) {
  Operands o;
  for (const auto& [name, n, k] : gemms) {
    fq::QTensor t;
    t.name = name;
    t.method = "test";
    t.matrix.format = format;
    t.matrix.rows = n;
    t.matrix.cols = k;
    t.matrix.cols_padded = format == fq::HwFormat::kFineqR ? 3 * ((k + 2) / 3) : k;
    t.matrix.codes.assign(static_cast<size_t>(n) * static_cast<size_t>(t.matrix.row_bytes()), 0);
    t.matrix.scales.assign(static_cast<size_t>(n), 0x3c00);  // 1.0
    o.weights.push_back(std::move(t));
    o.acts.emplace_back(static_cast<size_t>(m) * static_cast<size_t>(k), int8_t{0});
    o.act_scales.emplace_back(static_cast<size_t>(m), 1.0f);
  }
  for (size_t g = 0; g < o.weights.size(); ++g) {
    o.inputs.push_back({&o.weights[g], {m, o.weights[g].matrix.cols, o.acts[g], o.act_scales[g]}});
  }
  return o;
}

// FNV-1a 64 of everything written to it: hashes the printed .tir without holding it.
class HashBuf : public std::streambuf {
 public:
  uint64_t hash() const { return m_h; }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) mix(static_cast<unsigned char>(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) mix(static_cast<unsigned char>(s[i]));
    return n;
  }

 private:
  void mix(unsigned char c) {
    m_h ^= c;
    m_h *= 1099511628211ull;
  }
  uint64_t m_h = 1469598103934665603ull;
};

uint64_t tir_hash(const fq::ir::TileProgram& program) {
  HashBuf buf;
  std::ostream out(&buf);
  fq::ir::print_tir(program, out);
  out.flush();
  return buf.hash();
}

std::string order_of(const fq::compiler::Mapping& mp) {
  return std::string(fq::compiler::to_string(mp.order)) + (mp.a_resident ? "+A" : "");
}

std::string slots_of(const fq::compiler::Mapping& mp) {
  return fmt::format("{}{}{}{}", mp.w_slots, mp.a_slots, mp.o_slots, mp.s_slots);
}

void check_gemm(const Expected& e) {
  const auto arch = arch_of(e.arch);
  const auto ops = zero_operands(format_of(arch), e.m, {{"g", e.n, e.k}});
  const auto layer = fq::compiler::compile_layer(arch, ops.inputs);
  const auto& mp = layer.plans.at(0).mapping();
  INFO(e.arch << " M " << e.m << " N " << e.n << " K " << e.k);
  CHECK(order_of(mp) == e.order);
  CHECK(mp.kt == e.kt);
  CHECK(mp.nt == e.nt);
  CHECK(mp.mc == e.mc);
  CHECK(slots_of(mp) == e.slots);
  CHECK(mp.dram_read_bytes == e.dram_read_bytes);
  CHECK(layer.program.size() == e.program_ops);
  CHECK(tir_hash(layer.program) == e.tir_hash);
}

// traces/stories-260k.yaml, layer 0: the default workload of `simulate`.
const std::vector<std::tuple<std::string, int, int>> kStoriesLayer = {
    {"layers.0.wq", 64, 64},  {"layers.0.wk", 32, 64},   {"layers.0.wv", 32, 64}, {"layers.0.wo", 64, 64},
    {"layers.0.w1", 172, 64}, {"layers.0.w2", 64, 172}, {"layers.0.w3", 172, 64}};

// {arch, M, N, K, order, kt, nt, mc, slots (w a o s), DRAM read bytes, program ops, .tir hash}
// clang-format off
const Expected kGemms[] = {
    {"fineq", 1, 1, 1, "mnk", 1, 1, 1, "2222", 8, 9, 0x75c24b7b43606f01},
    {"fineq", 1, 3, 1, "mnk", 1, 3, 1, "2222", 14, 9, 0x00212c578eac8f8c},
    {"fineq", 3, 2, 2, "mnk", 2, 2, 3, "2222", 24, 9, 0xe0b180ddd976684d},
    {"fineq", 5, 7, 4, "mnk", 4, 7, 5, "2222", 68, 9, 0x63ac4740d432c5cb},
    {"fineq", 4, 9, 13, "mnk", 13, 9, 4, "2222", 131, 9, 0x92864a1dfd46ad2f},
    {"fineq", 17, 5, 29, "mnk", 29, 5, 17, "2222", 621, 9, 0x9c6b509ac516170c},
    {"fineq", 2, 3, 64, "mnk+A", 33, 3, 2, "2222", 208, 12, 0x53b2964507561ee6},
    {"fineq", 9, 4, 172, "mnk+A", 33, 4, 9, "2222", 1824, 24, 0x0de58fd02392f0a0},
    {"fineq", 3, 6, 17, "mnk", 17, 6, 3, "2222", 111, 9, 0x1ff5d8f87cde5e6e},
    {"fineq", 7, 11, 40, "mnk+A", 33, 11, 7, "2222", 484, 12, 0xda126704740626dd},
    {"fineq", 40, 20, 64, "mnk+A", 33, 20, 40, "2222", 3200, 12, 0xbfbee1bd821e4819},
    {"fineq", 40, 9, 100, "mnk+A", 33, 9, 40, "2222", 4484, 18, 0x0a6978ed37e02658},
    {"fineq", 10, 9, 20, "mnk", 20, 9, 10, "2222", 321, 9, 0x95da7944686a36fe},
    {"fineq", 10, 5, 11, "mnk", 11, 5, 10, "2222", 180, 9, 0x1ab5c3994d318607},
    {"fineq", 16, 70, 100, "mnk+A", 33, 32, 16, "2222", 4312, 52, 0x0b14886f0741eb19},
    {"fineq", 64, 64, 64, "mnk+A", 33, 32, 64, "2222", 6144, 23, 0xe8f21ba5bce74925},
    {"fineq", 100, 70, 50, "mnk+A", 33, 32, 100, "2222", 7530, 34, 0x35948685653c93e5},
    {"fineq", 32, 32, 32, "mnk", 32, 32, 32, "2222", 1568, 9, 0x8974f7b57e49b5e3},
    {"fineq", 256, 128, 512, "mnk", 33, 32, 256, "2222", 550528, 276, 0xb7e197d184ab42c2},
    {"fineq", 64, 1024, 1024, "mnk", 33, 32, 64, "2222", 2457600, 4256, 0xe80a0041b5383bc6},
    {"fineq", 256, 1024, 1024, "mnk", 33, 32, 256, "2222", 8773632, 4256, 0x2dc0cbfe035ed340},
    {"fineq", 16, 64, 64, "mnk+A", 33, 32, 16, "2222", 2688, 23, 0x0a29d05887973400},
    {"fineq", 16, 32, 64, "mnk+A", 33, 32, 16, "2222", 1856, 12, 0x4c77258d83d10033},
    {"fineq", 16, 172, 64, "mnk+A", 33, 32, 16, "2222", 5536, 67, 0x7cc7b7bb013c1af5},
    {"fineq", 16, 64, 172, "mnk+A", 33, 32, 16, "2222", 6720, 47, 0x9065c918506982c9},
    {"fineq", 1, 64, 64, "mnk+A", 33, 32, 1, "2222", 1608, 23, 0x3f8381c3363da27f},
    {"fineq", 1, 32, 64, "mnk+A", 33, 32, 1, "2222", 836, 12, 0xcdf1001569d24279},
    {"fineq", 1, 172, 64, "mnk+A", 33, 32, 1, "2222", 4216, 67, 0x1af5ccd99590a65d},
    {"fineq", 1, 64, 172, "mnk+A", 33, 32, 1, "2222", 4020, 47, 0xe7dbb441f805c363},
    {"fineq", 1, 4096, 4096, "mnk+A", 33, 32, 1, "2222", 5607936, 48641, 0x043be529d02fcfbd},
    {"fineq", 1, 11008, 4096, "mnk+A", 33, 32, 1, "2222", 15064416, 130721, 0xc8ae2d974c048108},
    {"fineq", 1, 4096, 11008, "mnk+A", 33, 32, 1, "2222", 15052032, 128897, 0xa042794284b92468},
    {"fineq", 2048, 4096, 4096, "mnk", 33, 32, 256, "2222", 1119617024, 517120, 0xa04cec036670fdd3},
    {"fineq", 2048, 11008, 4096, "mnk", 33, 32, 256, "2222", 3008970752, 1389760, 0xd277d79f27a7191f},
    {"fineq", 2048, 4096, 11008, "mnk", 33, 32, 256, "2222", 3007053824, 1373184, 0xfb3cd08303510be4},
    {"int8", 1, 1, 1, "mnk", 1, 1, 1, "2222", 8, 9, 0x19245d8d7c79f1a5},
    {"int8", 1, 3, 1, "mnk", 1, 3, 1, "2222", 14, 9, 0xb3ffefefe4ecd1d8},
    {"int8", 3, 2, 2, "mnk", 2, 2, 3, "2222", 26, 9, 0xf723d2a1f2c1a9b7},
    {"int8", 5, 7, 4, "mnk", 4, 7, 5, "2222", 82, 9, 0xf0c369dd6a163d1b},
    {"int8", 4, 9, 13, "mnk", 13, 9, 4, "2222", 203, 9, 0x769ff9a905e53a05},
    {"int8", 17, 5, 29, "mnk", 29, 5, 17, "2222", 716, 9, 0x837a35172acbbba2},
    {"int8", 2, 3, 64, "mnk+A", 32, 3, 2, "2222", 334, 12, 0xf9c6427390aff3fc},
    {"int8", 9, 4, 172, "mnk+A", 32, 4, 9, "2222", 2280, 24, 0xff49d9827b8827b9},
    {"int8", 3, 6, 17, "mnk", 17, 6, 3, "2222", 177, 9, 0x2bcf45a6dd79d9aa},
    {"int8", 7, 11, 40, "mnk+A", 32, 11, 7, "2222", 770, 12, 0x7f3b86cabe316719},
    {"int8", 40, 20, 64, "mnk+A", 32, 20, 40, "2222", 4040, 12, 0xf1e2ebe4e2e16b51},
    {"int8", 40, 9, 100, "mnk+A", 32, 9, 40, "2222", 5078, 18, 0xd1ce0fa9c537db2e},
    {"int8", 10, 9, 20, "mnk", 20, 9, 10, "2222", 438, 9, 0xcdc16ebd2dff5fe6},
    {"int8", 10, 5, 11, "mnk", 11, 5, 10, "2222", 215, 9, 0x0d62bb4c3a6200c5},
    {"int8", 16, 70, 100, "mnk+A", 32, 32, 16, "2222", 8932, 52, 0x990c38ec69646722},
    {"int8", 64, 64, 64, "mnk+A", 32, 32, 64, "2222", 8832, 23, 0xc07407fdd389674b},
    {"int8", 100, 70, 50, "mnk+A", 32, 32, 100, "2222", 9840, 34, 0x28f257e53c12874a},
    {"int8", 32, 32, 32, "mnk", 32, 32, 32, "2222", 2240, 9, 0x8b2f3831a6f4ed79},
    {"int8", 256, 128, 512, "mnk", 32, 32, 256, "2222", 594176, 276, 0x3170d5a3c7b3b388},
    {"int8", 64, 1024, 1024, "mnk", 32, 32, 64, "2222", 3155968, 4256, 0xb4914700e1e060d6},
    {"int8", 256, 1024, 1024, "mnk", 32, 32, 256, "2222", 9472000, 4256, 0x0577616a13a13c0f},
    {"int8", 16, 64, 64, "mnk+A", 32, 32, 16, "2222", 5376, 23, 0x5961d82861df0209},
    {"int8", 16, 32, 64, "mnk+A", 32, 32, 16, "2222", 3200, 12, 0xf3a71fcbf630a04b},
    {"int8", 16, 172, 64, "mnk+A", 32, 32, 16, "2222", 12760, 67, 0x00a870b7d05e7085},
    {"int8", 16, 64, 172, "mnk+A", 32, 32, 16, "2222", 14016, 47, 0x13b0fb75c25994a3},
    {"int8", 1, 64, 64, "mnk+A", 32, 32, 1, "2222", 4296, 23, 0xbd6fe82386be6ab0},
    {"int8", 1, 32, 64, "mnk+A", 32, 32, 1, "2222", 2180, 12, 0x26bf91f7e024ec15},
    {"int8", 1, 172, 64, "mnk+A", 32, 32, 1, "2222", 11440, 67, 0x325df41a7913b5cd},
    {"int8", 1, 64, 172, "mnk+A", 32, 32, 1, "2222", 11316, 47, 0x94aa02325f77f267},
    {"int8", 1, 4096, 4096, "mnk+A", 32, 32, 1, "2222", 16790016, 49793, 0x8c1ef5c1fbd4400c},
    {"int8", 1, 11008, 4096, "mnk+A", 32, 32, 1, "2222", 45116256, 133817, 0x132f52b72a4758eb},
    {"int8", 1, 4096, 11008, "mnk+A", 32, 32, 1, "2222", 45108480, 132737, 0xabede0299f8c7916},
    {"int8", 2048, 4096, 4096, "mnk", 32, 32, 256, "2222", 1209073664, 529408, 0xdfc096b0353de234},
    {"int8", 2048, 11008, 4096, "mnk", 32, 32, 256, "2222", 3249385472, 1422784, 0xf0f252d3a7a8b1d2},
    {"int8", 2048, 4096, 11008, "mnk", 32, 32, 256, "2222", 3247505408, 1414144, 0x7e339ed49c72fa1b},
    {"int4", 1, 1, 1, "mnk", 1, 1, 1, "2222", 8, 9, 0xc86fc8d28158c882},
    {"int4", 1, 3, 1, "mnk", 1, 3, 1, "2222", 14, 9, 0x4c9d173a663ae505},
    {"int4", 3, 2, 2, "mnk", 2, 2, 3, "2222", 24, 9, 0x91fb2cb32a4a8588},
    {"int4", 5, 7, 4, "mnk", 4, 7, 5, "2222", 68, 9, 0x3915ef5d763f49de},
    {"int4", 4, 9, 13, "mnk", 13, 9, 4, "2222", 149, 9, 0x758073888f031a7c},
    {"int4", 17, 5, 29, "mnk", 29, 5, 17, "2222", 646, 9, 0xb8318703a3337527},
    {"int4", 2, 3, 64, "mnk+A", 32, 3, 2, "2222", 238, 12, 0x63d23068024b59ba},
    {"int4", 9, 4, 172, "mnk+A", 32, 4, 9, "2222", 1936, 24, 0xa93d9050bcf35ead},
    {"int4", 3, 6, 17, "mnk", 17, 6, 3, "2222", 129, 9, 0x99c940d31f495617},
    {"int4", 7, 11, 40, "mnk+A", 32, 11, 7, "2222", 550, 12, 0xc994f47dbd71d9ab},
    {"int4", 40, 20, 64, "mnk+A", 32, 20, 40, "2222", 3400, 12, 0x240ceefe729d799d},
    {"int4", 40, 9, 100, "mnk+A", 32, 9, 40, "2222", 4628, 18, 0x7323c6a479c5571f},
    {"int4", 10, 9, 20, "mnk", 20, 9, 10, "2222", 348, 9, 0x9048f76cff20b185},
    {"int4", 10, 5, 11, "mnk", 11, 5, 10, "2222", 190, 9, 0xe1265f659754d6f4},
    {"int4", 16, 70, 100, "mnk+A", 32, 32, 16, "2222", 5432, 52, 0x2eb18c1f4888b964},
    {"int4", 64, 64, 64, "mnk+A", 32, 32, 64, "2222", 6784, 23, 0xb0b54d914cf54008},
    {"int4", 100, 70, 50, "mnk+A", 32, 32, 100, "2222", 8090, 34, 0xd984d45c69ec625f},
    {"int4", 32, 32, 32, "mnk", 32, 32, 32, "2222", 1728, 9, 0x3e8d4f3e495a0f22},
    {"int4", 256, 128, 512, "mnk", 32, 32, 256, "2222", 561408, 276, 0x954cae561541b352},
    {"int4", 64, 1024, 1024, "mnk", 32, 32, 64, "2222", 2631680, 4256, 0xf87e468eab5ad76d},
    {"int4", 256, 1024, 1024, "mnk", 32, 32, 256, "2222", 8947712, 4256, 0xf63ba8d15b97f54e},
    {"int4", 16, 64, 64, "mnk+A", 32, 32, 16, "2222", 3328, 23, 0x25c1215c29144daf},
    {"int4", 16, 32, 64, "mnk+A", 32, 32, 16, "2222", 2176, 12, 0x37cb3d90f029cd15},
    {"int4", 16, 172, 64, "mnk+A", 32, 32, 16, "2222", 7256, 67, 0x2cdc599c66d32082},
    {"int4", 16, 64, 172, "mnk+A", 32, 32, 16, "2222", 8512, 47, 0xef75a4b841e33be9},
    {"int4", 1, 64, 64, "mnk+A", 32, 32, 1, "2222", 2248, 23, 0x93942d2c13a2a7c4},
    {"int4", 1, 32, 64, "mnk+A", 32, 32, 1, "2222", 1156, 12, 0x454b8715afe45751},
    {"int4", 1, 172, 64, "mnk+A", 32, 32, 1, "2222", 5936, 67, 0x4bc4d1b010a2d46d},
    {"int4", 1, 64, 172, "mnk+A", 32, 32, 1, "2222", 5812, 47, 0xd3bd42410ffc09f2},
    {"int4", 1, 4096, 4096, "mnk+A", 32, 32, 1, "2222", 8401408, 49793, 0xe0be67c37244bdb1},
    {"int4", 1, 11008, 4096, "mnk+A", 32, 32, 1, "2222", 22571872, 133817, 0x5baf62c266df2a74},
    {"int4", 1, 4096, 11008, "mnk+A", 32, 32, 1, "2222", 22564096, 132737, 0xed62afbd65616419},
    {"int4", 2048, 4096, 4096, "mnk", 32, 32, 256, "2222", 1141964800, 529408, 0x2af61b164a2feb49},
    {"int4", 2048, 11008, 4096, "mnk", 32, 32, 256, "2222", 3069030400, 1422784, 0x3c13d42e598a9b32},
    {"int4", 2048, 4096, 11008, "mnk", 32, 32, 256, "2222", 3067150336, 1414144, 0xd9acd12dd7608272},
    {"int8-os", 1, 1, 1, "os", 1, 1, 1, "2222", 8, 8, 0xfa470a0c84bf8d2e},
    {"int8-os", 1, 3, 1, "os", 1, 3, 1, "2222", 14, 8, 0xc6c2fc8c5e940dc9},
    {"int8-os", 3, 2, 2, "os", 2, 2, 3, "2222", 26, 8, 0xa1faac86ddb55298},
    {"int8-os", 5, 7, 4, "os", 4, 7, 5, "2222", 82, 8, 0x0589a121a0542da2},
    {"int8-os", 4, 9, 13, "os", 13, 9, 4, "2222", 203, 8, 0x1f80a9ac603e1ce6},
    {"int8-os", 17, 5, 29, "os", 29, 5, 17, "2222", 716, 8, 0xcfbd7f4d97b7dc73},
    {"int8-os", 2, 3, 64, "os", 64, 3, 2, "2222", 334, 8, 0x9bb4517b46f77420},
    {"int8-os", 9, 4, 172, "os", 172, 4, 9, "2222", 2280, 8, 0x73e1c9ceb505e8f9},
    {"int8-os", 3, 6, 17, "os", 17, 6, 3, "2222", 177, 8, 0x9791d730fd18b0c5},
    {"int8-os", 7, 11, 40, "os", 40, 11, 7, "2222", 770, 8, 0x0a54567daf1fcafd},
    {"int8-os", 40, 20, 64, "os", 64, 20, 32, "2222", 5360, 16, 0xc17fb8465833a578},
    {"int8-os", 40, 9, 100, "os", 100, 9, 32, "2222", 5996, 16, 0x3848764f3d2e7dca},
    {"int8-os", 10, 9, 20, "os", 20, 9, 10, "2222", 438, 8, 0xc690d03aa55f00bb},
    {"int8-os", 10, 5, 11, "os", 11, 5, 10, "2222", 215, 8, 0xe55c90663ca8e270},
    {"int8-os", 16, 70, 100, "os", 100, 32, 16, "2222", 12132, 24, 0xdb0621c1a49ab65e},
    {"int8-os", 64, 64, 64, "os", 64, 32, 32, "2222", 17152, 32, 0x02e666ad7b016e4a},
    {"int8-os", 100, 70, 50, "os", 50, 32, 32, "2222", 30760, 96, 0x5b8b86664d07e348},
    {"int8-os", 32, 32, 32, "os", 32, 32, 32, "2222", 2240, 8, 0x3fb9abfe9e7ea72a},
    {"int8-os", 256, 128, 512, "os", 512, 32, 32, "2222", 1054720, 256, 0x7ba48961e3a64ed9},
    {"int8-os", 64, 1024, 1024, "os", 1024, 32, 32, "2222", 4206592, 512, 0x901bf7d6c8c452cf},
    {"int8-os", 256, 1024, 1024, "os", 1024, 32, 32, "2222", 16826368, 2048, 0x1a66e63251c6ae61},
    {"int8-os", 16, 64, 64, "os", 64, 32, 16, "2222", 6400, 16, 0x84decefa0c476854},
    {"int8-os", 16, 32, 64, "os", 64, 32, 16, "2222", 3200, 8, 0x6ac82238e5a5fe2a},
    {"int8-os", 16, 172, 64, "os", 64, 32, 16, "2222", 17880, 48, 0x7cc9738e0ff3b504},
    {"int8-os", 16, 64, 172, "os", 172, 32, 16, "2222", 16768, 16, 0xb24b747382c142a2},
    {"int8-os", 1, 64, 64, "os", 64, 32, 1, "2222", 4360, 16, 0x45ab8562a31e5f15},
    {"int8-os", 1, 32, 64, "os", 64, 32, 1, "2222", 2180, 8, 0x4d942ba57c05adcc},
    {"int8-os", 1, 172, 64, "os", 64, 32, 1, "2222", 11760, 48, 0x3f3415dd932defa2},
    {"int8-os", 1, 64, 172, "os", 172, 32, 1, "2222", 11488, 16, 0xcd3e1d4f0bd6bc04},
    {"int8-os", 1, 4096, 4096, "os", 1024, 32, 1, "2222", 17310208, 2176, 0x95948ed90a92dfe4},
    {"int8-os", 1, 11008, 4096, "os", 1024, 32, 1, "2222", 46521184, 5848, 0x971da5994be26f8d},
    {"int8-os", 1, 4096, 11008, "os", 1024, 32, 1, "2222", 46506496, 4864, 0x75882c6436697053},
    {"int8-os", 2048, 4096, 4096, "os", 1024, 32, 32, "2222", 2149056512, 139264, 0x9aef157a7515e90a},
    {"int8-os", 2048, 11008, 4096, "os", 1024, 32, 32, "2222", 5775589376, 374272, 0xc46cbc45f145bc52},
    {"int8-os", 2048, 4096, 11008, "os", 1024, 32, 32, "2222", 5772935168, 311296, 0xa87c23c82cac3c4b},
    {"int8-scalesim", 1, 1, 1, "mnk", 1, 1, 1, "2222", 8, 9, 0x0e1fc82662d15da8},
    {"int8-scalesim", 1, 3, 1, "mnk", 1, 3, 1, "2222", 14, 9, 0x79b67c295d50a97b},
    {"int8-scalesim", 3, 2, 2, "mnk", 2, 2, 3, "2222", 26, 9, 0x72b358384568c214},
    {"int8-scalesim", 5, 7, 4, "mnk", 4, 7, 5, "2222", 82, 9, 0x2a95fa508e422924},
    {"int8-scalesim", 4, 9, 13, "mnk", 13, 9, 4, "2222", 203, 9, 0x29308e38434c16e4},
    {"int8-scalesim", 17, 5, 29, "mnk", 29, 5, 17, "2222", 716, 9, 0xcffd0df542b5c01f},
    {"int8-scalesim", 2, 3, 64, "mnk+A", 32, 3, 2, "2222", 334, 12, 0x06c30837765b8dbb},
    {"int8-scalesim", 9, 4, 172, "mnk+A", 32, 4, 9, "2222", 2280, 24, 0x007313220d326fee},
    {"int8-scalesim", 3, 6, 17, "mnk", 17, 6, 3, "2222", 177, 9, 0xe6d3ca977674718b},
    {"int8-scalesim", 7, 11, 40, "mnk+A", 32, 11, 7, "2222", 770, 12, 0xbefe27578dbf55de},
    {"int8-scalesim", 40, 20, 64, "mnk+A", 32, 20, 40, "2222", 4040, 12, 0x04f4c245bd8e3c76},
    {"int8-scalesim", 40, 9, 100, "mnk+A", 32, 9, 40, "2222", 5078, 18, 0xb7982ad45f617bc1},
    {"int8-scalesim", 10, 9, 20, "mnk", 20, 9, 10, "2222", 438, 9, 0x905b044bfa8d6d67},
    {"int8-scalesim", 10, 5, 11, "mnk", 11, 5, 10, "2222", 215, 9, 0xc8932ad3b3405cd0},
    {"int8-scalesim", 16, 70, 100, "mnk+A", 32, 32, 16, "2222", 8932, 52, 0x0fda5ec13b3c0ed3},
    {"int8-scalesim", 64, 64, 64, "mnk+A", 32, 32, 64, "2222", 8832, 23, 0xfabd395cfba94672},
    {"int8-scalesim", 100, 70, 50, "mnk+A", 32, 32, 100, "2222", 9840, 34, 0x18a06d958ca42bbd},
    {"int8-scalesim", 32, 32, 32, "mnk", 32, 32, 32, "2222", 2240, 9, 0x464d80bfbbef2844},
    {"int8-scalesim", 256, 128, 512, "mnk", 32, 32, 256, "2222", 594176, 276, 0x5ee06e3b1868d783},
    {"int8-scalesim", 64, 1024, 1024, "mnk", 32, 32, 64, "2222", 3155968, 4256, 0x4d914c595a5412c1},
    {"int8-scalesim", 256, 1024, 1024, "mnk", 32, 32, 256, "2222", 9472000, 4256, 0x9ab81eb61e87d81a},
    {"int8-scalesim", 16, 64, 64, "mnk+A", 32, 32, 16, "2222", 5376, 23, 0x9693bd4b03ac2ec8},
    {"int8-scalesim", 16, 32, 64, "mnk+A", 32, 32, 16, "2222", 3200, 12, 0x9d045311a357ebbe},
    {"int8-scalesim", 16, 172, 64, "mnk+A", 32, 32, 16, "2222", 12760, 67, 0x01f53a829aafc222},
    {"int8-scalesim", 16, 64, 172, "mnk+A", 32, 32, 16, "2222", 14016, 47, 0x4feb3311c2913740},
    {"int8-scalesim", 1, 64, 64, "mnk+A", 32, 32, 1, "2222", 4296, 23, 0x1a9f9547f90a6595},
    {"int8-scalesim", 1, 32, 64, "mnk+A", 32, 32, 1, "2222", 2180, 12, 0xe61acec378ef2a60},
    {"int8-scalesim", 1, 172, 64, "mnk+A", 32, 32, 1, "2222", 11440, 67, 0xe9f388a9ed65beea},
    {"int8-scalesim", 1, 64, 172, "mnk+A", 32, 32, 1, "2222", 11316, 47, 0xafb89f357bd46808},
    {"int8-scalesim", 1, 4096, 4096, "mnk+A", 32, 32, 1, "2222", 16790016, 49793, 0xfcb25f37feb2f555},
    {"int8-scalesim", 1, 11008, 4096, "mnk+A", 32, 32, 1, "2222", 45116256, 133817, 0x797cc82e03f55fb0},
    {"int8-scalesim", 1, 4096, 11008, "mnk+A", 32, 32, 1, "2222", 45108480, 132737, 0x4ec636705664bd37},
    {"int8-scalesim", 2048, 4096, 4096, "mnk", 32, 32, 256, "2222", 1209073664, 529408, 0xc1c901b970da7f51},
    {"int8-scalesim", 2048, 11008, 4096, "mnk", 32, 32, 256, "2222", 3249385472, 1422784, 0xfe277af9b8eaffbf},
    {"int8-scalesim", 2048, 4096, 11008, "mnk", 32, 32, 256, "2222", 3247505408, 1414144, 0x4bff452c53830268},
    {"int8-os-scalesim", 1, 1, 1, "os", 1, 1, 1, "2222", 8, 8, 0xf04afa0fc0754889},
    {"int8-os-scalesim", 1, 3, 1, "os", 1, 3, 1, "2222", 14, 8, 0x8c3f845d2c4da020},
    {"int8-os-scalesim", 3, 2, 2, "os", 2, 2, 3, "2222", 26, 8, 0x565685d89dcfcaf9},
    {"int8-os-scalesim", 5, 7, 4, "os", 4, 7, 5, "2222", 82, 8, 0x9bf5786c07984d3b},
    {"int8-os-scalesim", 4, 9, 13, "os", 13, 9, 4, "2222", 203, 8, 0x2bbddffb7a14cded},
    {"int8-os-scalesim", 17, 5, 29, "os", 29, 5, 17, "2222", 716, 8, 0x4369d325e898f490},
    {"int8-os-scalesim", 2, 3, 64, "os", 64, 3, 2, "2222", 334, 8, 0xfe7475a75564da6b},
    {"int8-os-scalesim", 9, 4, 172, "os", 172, 4, 9, "2222", 2280, 8, 0xf91a29a6b442e2da},
    {"int8-os-scalesim", 3, 6, 17, "os", 17, 6, 3, "2222", 177, 8, 0x6bf08787dd39c742},
    {"int8-os-scalesim", 7, 11, 40, "os", 40, 11, 7, "2222", 770, 8, 0x96f6024573c6b4ba},
    {"int8-os-scalesim", 40, 20, 64, "os", 64, 20, 32, "2222", 5360, 16, 0xfc34285e5b35be93},
    {"int8-os-scalesim", 40, 9, 100, "os", 100, 9, 32, "2222", 5996, 16, 0x4de9fed8191e34ad},
    {"int8-os-scalesim", 10, 9, 20, "os", 20, 9, 10, "2222", 438, 8, 0x8d2df0c2d928592c},
    {"int8-os-scalesim", 10, 5, 11, "os", 11, 5, 10, "2222", 215, 8, 0xe353270e305799df},
    {"int8-os-scalesim", 16, 70, 100, "os", 100, 32, 16, "2222", 12132, 24, 0xacd003955043c351},
    {"int8-os-scalesim", 64, 64, 64, "os", 64, 32, 32, "2222", 17152, 32, 0x8096d0321958dba7},
    {"int8-os-scalesim", 100, 70, 50, "os", 50, 32, 32, "2222", 30760, 96, 0xf6507fb7d9c65459},
    {"int8-os-scalesim", 32, 32, 32, "os", 32, 32, 32, "2222", 2240, 8, 0xca6f204368e8e669},
    {"int8-os-scalesim", 256, 128, 512, "os", 512, 32, 32, "2222", 1054720, 256, 0x97a9857dfcec223a},
    {"int8-os-scalesim", 64, 1024, 1024, "os", 1024, 32, 32, "2222", 4206592, 512, 0x51c9367afe03a326},
    {"int8-os-scalesim", 256, 1024, 1024, "os", 1024, 32, 32, "2222", 16826368, 2048, 0x96a14affd7a14312},
    {"int8-os-scalesim", 16, 64, 64, "os", 64, 32, 16, "2222", 6400, 16, 0xd046e23b74bed08d},
    {"int8-os-scalesim", 16, 32, 64, "os", 64, 32, 16, "2222", 3200, 8, 0x180bf220cb3e65d3},
    {"int8-os-scalesim", 16, 172, 64, "os", 64, 32, 16, "2222", 17880, 48, 0x7fb269eacf1c71d3},
    {"int8-os-scalesim", 16, 64, 172, "os", 172, 32, 16, "2222", 16768, 16, 0xd1d4d027b8018295},
    {"int8-os-scalesim", 1, 64, 64, "os", 64, 32, 1, "2222", 4360, 16, 0x179e4ea339d808d8},
    {"int8-os-scalesim", 1, 32, 64, "os", 64, 32, 1, "2222", 2180, 8, 0xb7872dc22f66e55b},
    {"int8-os-scalesim", 1, 172, 64, "os", 64, 32, 1, "2222", 11760, 48, 0xbf36a7894b689521},
    {"int8-os-scalesim", 1, 64, 172, "os", 172, 32, 1, "2222", 11488, 16, 0xf6437790e747cd0f},
    {"int8-os-scalesim", 1, 4096, 4096, "os", 1024, 32, 1, "2222", 17310208, 2176, 0x4bb5d45407849481},
    {"int8-os-scalesim", 1, 11008, 4096, "os", 1024, 32, 1, "2222", 46521184, 5848, 0xc49a3c588be00d84},
    {"int8-os-scalesim", 1, 4096, 11008, "os", 1024, 32, 1, "2222", 46506496, 4864, 0xa60418dc776bcafe},
    {"int8-os-scalesim", 2048, 4096, 4096, "os", 1024, 32, 32, "2222", 2149056512, 139264, 0xda6f1d9cbce08661},
    {"int8-os-scalesim", 2048, 11008, 4096, "os", 1024, 32, 32, "2222", 5775589376, 374272, 0xcfb2a965b2d1f68b},
    {"int8-os-scalesim", 2048, 4096, 11008, "os", 1024, 32, 32, "2222", 5772935168, 311296, 0x4fb35c7df4e3cbea},
};
// clang-format on

// The whole stories260K layer as one program: GEMMs reuse buffer addresses, so the cross-GEMM
// dependencies (by byte range, each ring starting at its least recently used slot)
// are in the hash too. {arch, M, program ops, .tir hash}
struct ExpectedLayer {
  const char* arch;
  int m;
  uint64_t program_ops;
  uint64_t tir_hash;
};
// clang-format off
const ExpectedLayer kLayers[] = {
    {"fineq", 1, 251, 0x75cf2c9ea4e9004b},
    {"fineq", 16, 251, 0xcc5539f05fb7476a},
    {"int8", 1, 251, 0x8561592fd6e12e58},
    {"int8", 16, 251, 0x3ff95cebd268c72},
    {"int4", 1, 251, 0x9974b176219d9550},
    {"int4", 16, 251, 0x4b9983cc9515747f},
    {"int8-os", 1, 160, 0x976300421ff61625},
    {"int8-os", 16, 160, 0xac04e9c3a51215ed},
    {"int8-scalesim", 1, 251, 0x32960c647d318b03},
    {"int8-scalesim", 16, 251, 0xc29a66a5fc0a8303},
    {"int8-os-scalesim", 1, 160, 0xa83836cd8334d66e},
    {"int8-os-scalesim", 16, 160, 0x5c15665e022228a8},
};
// clang-format on

}  // namespace

TEST_CASE("chosen mappings and emitted programs are unchanged: test, stories260K and 7B decode shapes",
          "[compiler][regression]") {
  for (const Expected& e : kGemms) {
    if (e.m < 2048) check_gemm(e);
  }
}

TEST_CASE("the stories260K layer compiles to the same program", "[compiler][regression]") {
  for (const ExpectedLayer& e : kLayers) {
    const auto arch = arch_of(e.arch);
    const auto ops = zero_operands(format_of(arch), e.m, kStoriesLayer);
    const auto layer = fq::compiler::compile_layer(arch, ops.inputs);
    INFO(e.arch << " M " << e.m);
    CHECK(layer.program.size() == e.program_ops);
    CHECK(tir_hash(layer.program) == e.tir_hash);
  }
}

TEST_CASE("chosen mappings and emitted programs are unchanged: LLaMA-2-7B prefill, 2048 tokens",
          "[compiler][regression]") {
  for (const Expected& e : kGemms) {
    if (e.m >= 2048) check_gemm(e);
  }
}

