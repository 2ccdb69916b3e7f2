#include "compiler/compiler.h"

#include "compiler/lowering.h"
#include "model/core/error.h"

#include <fmt/format.h>

#include <algorithm>

namespace fq::compiler {
namespace {

void check_input(const GemmInput& in) {
  const EncodedMatrix& w = in.weights->matrix;
  const std::string& name = in.weights->name;
  if (in.acts.cols != w.cols) {
    fail("gemm '{}': activations have K = {} but the weights have K = {}", name, in.acts.cols, w.cols);
  }
  if (w.group_size != 0) {
    fail("gemm '{}': group scales (group {}) are a software-only option; the hardware path needs per-row scales", name,
         w.group_size);
  }
  if (in.acts.q.size() != static_cast<size_t>(in.acts.rows) * static_cast<size_t>(in.acts.cols) ||
      in.acts.scales.size() != static_cast<size_t>(in.acts.rows)) {
    fail("gemm '{}': activation arrays do not match their shape [{}, {}]", name, in.acts.rows, in.acts.cols);
  }
}

}  // namespace

CompiledLayer compile_layer(const ArchConfig& arch, std::span<const GemmInput> gemms) {
  if (gemms.empty()) fail("compile: the layer has no GEMM");
  std::vector<GemmPlan> plans;
  for (const GemmInput& in : gemms) {
    check_input(in);
    plans.push_back(plan_gemm(arch, in.weights->name, in.acts.rows, in.weights->matrix.rows, in.weights->matrix.cols,
                              in.weights->matrix.format, &in.weights->matrix));
  }
  return lower_layer(arch, gemms, std::move(plans));
}

CompiledLayer lower_layer(const ArchConfig& arch, std::span<const GemmInput> gemms, std::vector<GemmPlan> plans) {
  if (plans.size() != gemms.size()) fail("compile: {} plans for {} GEMMs", plans.size(), gemms.size());
  CompiledLayer out;
  out.plans = std::move(plans);
  out.program.arch_fingerprint = fingerprint(arch);
  out.program.arch_name = arch.name;
  out.memory.arch_fingerprint = out.program.arch_fingerprint;
  for (const GemmInput& in : gemms) {
    check_input(in);
    const EncodedMatrix& w = in.weights->matrix;
    const std::string& name = in.weights->name;
    ir::GemmDesc d;
    d.name = name;
    d.format = w.format;
    d.m = static_cast<uint32_t>(in.acts.rows);
    d.n = static_cast<uint32_t>(w.rows);
    d.k = static_cast<uint32_t>(w.cols);
    d.a_stride = d.k;
    auto& mem = out.memory;
    d.w_addr = mem.allocate(name + ".w", w.codes.size());
    mem.write(d.w_addr, w.codes);
    d.ws_addr = mem.allocate(name + ".ws", 2 * w.scales.size());
    for (size_t i = 0; i < w.scales.size(); ++i) mem.write_u16(d.ws_addr + 2 * i, w.scales[i]);
    d.a_addr = mem.allocate(name + ".a", in.acts.q.size());
    mem.write(d.a_addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.acts.q.data()), in.acts.q.size()));
    d.as_addr = mem.allocate(name + ".as", 4 * in.acts.scales.size());
    for (size_t i = 0; i < in.acts.scales.size(); ++i) mem.write_f32(d.as_addr + 4 * i, in.acts.scales[i]);
    d.acc_addr = mem.allocate(name + ".acc", uint64_t{4} * d.m * d.n);
    d.y_addr = mem.allocate(name + ".y", uint64_t{4} * d.m * d.n);
    out.program.gemms.push_back(d);
  }
  int64_t ops = 0;
  for (const GemmPlan& p : out.plans) ops += p.candidates[static_cast<size_t>(std::max(p.chosen, 0))].mapping.ops;
  out.program.reserve(static_cast<size_t>(ops), static_cast<size_t>(2 * ops));
  BufferHistory history;
  for (uint32_t g = 0; g < out.program.gemms.size(); ++g) {
    const GemmPlan& p = out.plans[g];
    if (p.chosen < 0 || !p.candidates[static_cast<size_t>(p.chosen)].legal) {
      fail("compile: gemm '{}' has no legal mapping chosen", p.name);
    }
    lower_gemm(out.program, g, p.mapping(), history);
  }
  return out;
}

std::string mapping_summary(const CompiledLayer& layer) {
  std::string s = fmt::format("{:<16} {:>6} {:>6} {:>6} {:>8} {:>5} {:>4} {:>4} {:>5} {:>10} {:>12} {:>12}\n", "gemm",
                              "M", "N", "K", "format", "order", "kt", "nt", "mc", "ops", "dram_rd_B", "est_cycles");
  for (const GemmPlan& p : layer.plans) {
    const Mapping& mp = p.mapping();
    s += fmt::format("{:<16} {:>6} {:>6} {:>6} {:>8} {:>5} {:>4} {:>4} {:>5} {:>10} {:>12} {:>12}\n", p.name, p.m, p.n,
                     p.k, format_name(p.format), fmt::format("{}{}", to_string(mp.order), mp.a_resident ? "+A" : ""),
                     mp.kt, mp.nt, mp.mc, mp.ops, mp.dram_read_bytes, mp.est_cycles);
  }
  return s;
}

}  // namespace fq::compiler
