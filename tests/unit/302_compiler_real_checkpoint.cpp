// Every linear layer of the real stories260K checkpoint, quantized, compiled and run by the golden
// interpreter, equals the golden integer GEMM (acc) and its dequantisation (y) bit for bit.
#include "compiler/compiler.h"
#include "model/arch/arch_config.h"
#include "model/ckpt/checkpoint.h"
#include "model/golden/act_quant.h"
#include "model/golden/int_gemm.h"
#include "model/ir/tile_interpreter.h"
#include "model/ir/tir_text.h"
#include "model/quant/i_quantizer.h"
#include "support/paths.h"

#include <catch2/catch.hpp>

namespace {

void check_layer(const std::string& preset, const std::string& method, const std::map<std::string, std::string>& opts,
                 int tokens) {
  const auto ckpt = fq::open_checkpoint(fq::test::stories260k());
  const auto arch = fq::load_arch((fq::test::source_dir() / "configs" / preset).string());
  fq::Params params("test");
  for (const auto& [k, v] : opts) params.set(k, v);
  const auto quantizer = fq::make_quantizer(method, params);

  std::vector<fq::QTensor> tensors;
  for (const auto& name : fq::select_tensors(*ckpt, "")) {
    const auto& info = *std::find_if(ckpt->tensors().begin(), ckpt->tensors().end(),
                                     [&](const fq::TensorInfo& t) { return t.name == name; });
    const int rows = static_cast<int>(info.shape[0]), cols = static_cast<int>(info.shape[1]);
    tensors.push_back({name, method, quantizer->describe(), quantizer->encode(ckpt->load(name), rows, cols)});
  }
  REQUIRE(tensors.size() == 35);
  std::vector<fq::QuantizedActs> acts;
  std::vector<fq::compiler::GemmInput> inputs;
  for (size_t g = 0; g < tensors.size(); ++g) {
    const int k = tensors[g].matrix.cols;
    acts.push_back(fq::quantize_activations(fq::synthetic_activations(tokens, k, 100 + g), tokens, k));
  }
  for (size_t g = 0; g < tensors.size(); ++g) {
    inputs.push_back({&tensors[g], {acts[g].rows, acts[g].cols, acts[g].q, acts[g].scales}});
  }
  const auto layer = fq::compiler::compile_layer(arch, inputs);
  REQUIRE(fq::ir::parse_tir_text(fq::ir::to_tir_text(layer.program), "stories.tir") == layer.program);
  auto mem = layer.memory;
  fq::golden::run_tile_program(layer.program, arch, mem);
  for (size_t g = 0; g < tensors.size(); ++g) {
    const auto& d = layer.program.gemms[g];
    const auto acc = fq::int_gemm(acts[g], tensors[g].matrix);
    const auto y = fq::dequant(acc, acts[g], tensors[g].matrix);
    size_t acc_mismatches = 0, y_mismatches = 0;
    for (size_t i = 0; i < acc.size(); ++i) {
      acc_mismatches += mem.read_i32(d.acc_addr + 4 * i) != acc[i] ? 1 : 0;
      y_mismatches += mem.read_f32(d.y_addr + 4 * i) != y[i] ? 1 : 0;
    }
    INFO(preset << " " << d.name);
    CHECK(acc_mismatches == 0);
    CHECK(y_mismatches == 0);
  }
}

}  // namespace

SCENARIO("stories260K layers: compiled programs equal the golden GEMM", "[compiler][golden][model]") {
  for (const int tokens : {1, 16}) {
    WHEN("FineQ-R (ratio) on the fineq preset, " << tokens << " tokens") {
      check_layer("fineq.yaml", "fineq", {{"policy", "ratio"}}, tokens);
    }
    WHEN("FineQ-R (mse) on the fineq preset, " << tokens << " tokens") {
      check_layer("fineq.yaml", "fineq", {{"policy", "mse"}}, tokens);
    }
    WHEN("RTN INT8 on the int8 preset, " << tokens << " tokens") {
      check_layer("int8.yaml", "rtn", {{"bits", "8"}}, tokens);
    }
    WHEN("RTN INT4 on the int4 preset, " << tokens << " tokens") {
      check_layer("int4.yaml", "rtn", {{"bits", "4"}}, tokens);
    }
  }
}
