#include "sim/engine.h"

#include "model/core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace fq::sim {
namespace {

// Function-local: registrations run during static initialisation, in no defined order.
std::map<std::string, std::unique_ptr<Engine>>& registry() {
  static std::map<std::string, std::unique_ptr<Engine>> r;
  return r;
}

}  // namespace

namespace detail {
EngineRegistration::EngineRegistration(std::unique_ptr<Engine> (*make)()) {
  std::unique_ptr<Engine> e = make();
  const std::string name = e->name();
  registry()[name] = std::move(e);
}
}  // namespace detail

uint64_t EngineResult::total_cycles() const {
  if (timeline) return timeline->total_cycles;
  if (total) return *total;
  fail("the {} engine computes no cycles", engine);
}

uint64_t EngineResult::done_cycle(size_t op) const {
  if (timeline) return timeline->ops.at(op).done;
  if (done) return done->at(op);
  fail("the {} engine computes no cycles", engine);
}

std::optional<uint64_t> EngineResult::event(const std::string& name) const {
  for (const auto& [n, v] : events) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::optional<std::string> Engine::refusal(const ArchConfig& /*arch*/) const { return std::nullopt; }

std::optional<std::string> Engine::refusal(const ArchConfig& arch, const ir::TileProgram& /*program*/) const {
  return refusal(arch);
}

EngineResult Engine::run(const ArchConfig& arch, const ir::TileProgram& program, ir::MemoryImage memory,
                         const EngineOptions& options) const {
  if (const auto why = refusal(arch, program)) fail("{} engine: {}", name(), *why);
  EngineResult r = execute(arch, program, std::move(memory), options);
  r.engine = name();
  return r;
}

void Engine::refuse_option(bool given, const char* what) const {
  if (given) fail("{}: the {} engine does not take this option", what, name());
}

void Engine::refuse_rtl_options(const EngineOptions& options) const {
  refuse_option(!options.wave.empty(), "--wave");
  refuse_option(!options.rtl_defines.empty(), "--rtl-define");
  refuse_option(!options.rtl_cache.empty(), "--rtl-cache");
  refuse_option(options.rtl_build_jobs != 0, "--build-jobs");
}

const Engine& find_engine(const std::string& name, const std::string& option) {
  const auto it = registry().find(name);
  if (it == registry().end()) {
    fail("{} '{}': unknown engine (registered: {})", option, name, fmt::join(engine_names(), ", "));
  }
  return *it->second;
}

std::vector<std::string> engine_names() {
  std::vector<std::string> names;
  for (const auto& [n, e] : registry()) names.push_back(n);
  return names;
}

std::vector<const Engine*> find_engines(const std::string& list, const std::string& option) {
  std::vector<const Engine*> out;
  std::istringstream in(list);
  std::string e;
  while (std::getline(in, e, ',')) {
    if (!registry().count(e)) {
      fail("{} '{}': unknown engine '{}' (registered: {})", option, list, e, fmt::join(engine_names(), ", "));
    }
    if (std::find(out.begin(), out.end(), registry().at(e).get()) != out.end()) {
      fail("{} '{}': engine '{}' given twice", option, list, e);
    }
    out.push_back(registry().at(e).get());
  }
  if (out.empty()) fail("{} '{}': no engine named (registered: {})", option, list, fmt::join(engine_names(), ", "));
  return out;
}

void require_parts(const Engine& engine, const EngineParts& need, const std::string& context, const std::string& why) {
  const EngineParts has = engine.parts();
  const char* missing = nullptr;
  if (need.bytes && !has.bytes) {
    missing = "computes no data";
  } else if (need.cycles && !has.cycles) {
    missing = "computes no cycles";
  } else if (need.op_timeline && !has.op_timeline) {
    missing = "gives only the done cycle of each op (no issue or finish cycles, no action counts)";
  }
  if (missing != nullptr) fail("{}: the {} engine {}; {}", context, engine.name(), missing, why);
}

}  // namespace fq::sim
