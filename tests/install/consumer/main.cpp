// Quantizes a weight matrix in the format the arch's PEs run (FineQ-R, or RTN INTb), compiles one GEMM for an architecture (a preset name
// or a YAML path), runs the program on every registered engine that can run it without
// building anything (golden, fast, systemc), and checks what each returns: the golden engine's
// accumulators against the reference integer GEMM, the timed engines' cycles against each other.
// Exit 0 only if every check holds.
#include "compiler/compiler.h"
#include "model/arch/arch_config.h"
#include "model/arch/pe_model.h"
#include "model/core/error.h"
#include "model/core/params.h"
#include "model/golden/act_quant.h"
#include "model/golden/int_gemm.h"
#include "model/quant/i_quantizer.h"
#include "sim/engine.h"

#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  try {
    const fq::ArchConfig arch = fq::load_arch(argc > 1 ? argv[1] : "fineq");
    const int m = 8, n = 64, k = 256;
    std::vector<float> w(static_cast<size_t>(n) * k);
    for (size_t i = 0; i < w.size(); ++i) w[i] = 0.05f * std::sin(0.37f * static_cast<float>(i));
    const fq::HwFormat format = fq::pe_model(arch).weight_format(arch);
    fq::Params options("consumer");
    const std::string method = format == fq::HwFormat::kFineqR ? "fineq" : "rtn";
    if (method == "rtn") options.set("bits", std::to_string(fq::format_int_bits(format)));
    const auto quantizer = fq::make_quantizer(method, options);
    const fq::QTensor weights{"w", method, quantizer->describe(), quantizer->encode(w, n, k)};
    const fq::QuantizedActs acts = fq::quantize_activations(fq::synthetic_activations(m, k, 7), m, k);

    const fq::compiler::GemmInput gemm{&weights, {m, k, acts.q, acts.scales}};
    const fq::compiler::CompiledLayer layer = fq::compiler::compile_layer(arch, std::span(&gemm, 1));
    const std::vector<int32_t> expected = fq::int_gemm(acts, weights.matrix);
    const fq::ir::GemmDesc& d = layer.program.gemms.at(0);

    int failures = 0;
    std::vector<uint64_t> totals;
    for (const char* name : {"golden", "fast", "systemc"}) {
      const fq::sim::EngineResult r = fq::sim::find_engine(name).run(arch, layer.program, layer.memory);
      if (r.memory) {
        size_t wrong = 0;
        for (size_t i = 0; i < expected.size(); ++i) {
          if (r.memory->read_i32(d.acc_addr + 4 * i) != expected[i]) ++wrong;
        }
        std::printf("%s: %zu of %zu accumulators differ from int_gemm\n", name, wrong, expected.size());
        failures += wrong != 0;
      }
      if (r.timed()) {
        std::printf("%s: %llu cycles\n", name, static_cast<unsigned long long>(r.total_cycles()));
        totals.push_back(r.total_cycles());
      }
    }
    if (totals.size() != 2 || totals[0] != totals[1] || totals[0] == 0) {
      std::printf("the timed engines disagree\n");
      ++failures;
    }
    std::printf("%s\n", failures == 0 ? "consumer: PASS" : "consumer: FAIL");
    return failures == 0 ? 0 : 1;
  } catch (const fq::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 2;
  }
}
