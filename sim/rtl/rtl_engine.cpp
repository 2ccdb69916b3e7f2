#include "sim/rtl/rtl_engine.h"

#include "model/arch/pe_model.h"
#include "model/core/data_dir.h"
#include "model/core/error.h"
#include "model/core/subprocess.h"
#include "model/ir/tir_text.h"
#include "sim/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fq::sim {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kIdepth = uint64_t{1} << 16;  // instructions per unit the runner's fq_top holds

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
uint64_t fnv(uint64_t h, const std::string& s) {
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string q(1, '\'');  // built by appending: GCC 12 misreports "'" + s + "'" (-Wrestrict)
  q.append(s);
  q.push_back('\'');
  return q;
}

fs::path user_cache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != 0) return fs::path(x) / "fqsim" / "rtl";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != 0) return fs::path(h) / ".cache" / "fqsim" / "rtl";
  return fs::temp_directory_path() / "fqsim-rtl";
}

// Where runners are looked up, in order; a missing one is built into the first. An explicit
// folder (option, then $FQSIM_RTL_CACHE) is the only one. Otherwise the user cache, then the
// build tree's (what the test command's rtl_runner.* fixtures filled), so that a runner the
// tests built is reused, not Verilated again.
std::vector<fs::path> cache_folders(const RtlOptions& o) {
  if (!o.cache_dir.empty()) return {fs::path(o.cache_dir)};
  if (const char* d = std::getenv("FQSIM_RTL_CACHE"); d != nullptr && *d != 0) return {fs::path(d)};
  return {user_cache(), fs::path(FQ_BUILD_RTL_CACHE)};
}

std::vector<std::string> parameters(const ArchConfig& a, int64_t wbuf, int64_t abuf, int64_t obuf, int64_t sbuf,
                                    int64_t db) {
  return {fmt::format("-GROWS={}", a.rows), fmt::format("-GCOLS={}", a.cols),
          fmt::format("-GKIND={}", pe_model(a).rtl_kind()),
          fmt::format("-GWBITS={}", pe_model(a).rtl_wbits(a)),
          fmt::format("-GWBUF={}", wbuf), fmt::format("-GABUF={}", abuf), fmt::format("-GOBUF={}", obuf),
          fmt::format("-GSBUF={}", sbuf), fmt::format("-GDB={}", db), fmt::format("-GIDEPTH={}", kIdepth),
          fmt::format("-GWSETS={}", a.weight_sets), fmt::format("-GACC_W={}", a.acc_bits)};
}

// A runner's capacities: the value rounded up to a power of two, at least `floor`. The floors
// cover the presets and the usual sweeps (buffers up to 1 MiB, up to 64 DRAM bytes per cycle), so
// those share one model; the Verilated buffers are plain arrays, and a larger one costs memory,
// not simulation time.
constexpr int64_t kBufferCapacityFloor = int64_t{1} << 20;
constexpr int64_t kDramBytesFloor = 64;
int64_t capacity(int64_t v, int64_t floor) {
  return std::max(floor, static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(v))));
}

}  // namespace

std::vector<std::string> rtl_runner_parameters(const ArchConfig& a) {
  return parameters(a, capacity(a.weight_bytes, kBufferCapacityFloor), capacity(a.act_bytes, kBufferCapacityFloor),
                    capacity(a.out_bytes, kBufferCapacityFloor), capacity(a.scale_bytes, kBufferCapacityFloor),
                    capacity(a.dram_bytes_per_cycle, kDramBytesFloor));
}

namespace {

// How a runner is Verilated and compiled (part of the cache key: a runner built otherwise is not
// reused). The generated C++ is split into files of about 20000 statements (Verilator's default)
// and functions of about 3000 (the default is 20000), which the compiler optimises far more
// cheaply; the per-cycle code (OPT_FAST) at -O1 and the construction and trace-setup code
// (OPT_SLOW) at -O0: measured in docs/performance.md ("RTL runner build"). The Verilator
// options proper (warnings, X policy, include folder, waivers) are rtl/fq_verilator.f, the file the
// models of tests/rtl use too (docs/rtl.md); its content is hashed with the rest of rtl/.
std::string recipe() {
  return fmt::format("-F {} --output-split 20000 --output-split-cfuncs 3000",
                     quote((data_dir() / "rtl/fq_verilator.f").string()));
}
const char* const kMakeOptions = "OPT_FAST=-O1 OPT_SLOW=-O0";

// The runner's makefile: Verilator's, plus verilated.h precompiled once for the fast and once for
// the slow files (a .gch folder: GCC takes the one built with the same options and ignores the
// others) instead of parsed by each of the 40-odd generated files, which nearly all include it
// first (docs/performance.md "Build time"). GCC looks for the .gch in the folder where it finds
// the header, so the build folder gets a link to verilated.h (made through a stamp: a target
// named verilated.h would be found through Verilator's VPATH and never made).
const char* const kRunnerMakefile = R"(include Vfq_top.mk
VK_PCH = verilated.h.gch/fast.gch verilated.h.gch/slow.gch
verilated.h.link:
	ln -sf $(VERILATOR_ROOT)/include/verilated.h verilated.h
	mkdir -p verilated.h.gch
	touch $@
verilated.h.gch/fast.gch: | verilated.h.link
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) $(OPT_FAST) -x c++-header $(VERILATOR_ROOT)/include/verilated.h -o $@
	rm -f $(basename $@).d
verilated.h.gch/slow.gch: | verilated.h.link
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) $(OPT_SLOW) -x c++-header $(VERILATOR_ROOT)/include/verilated.h -o $@
	rm -f $(basename $@).d
$(VK_FAST_OBJS) $(VK_SLOW_OBJS) $(VK_USER_OBJS): | $(VK_PCH)
)";

// How runners are built (recipe, make options, makefile), hashed into the runner's key and the
// shared runtime's.
uint64_t build_hash(uint64_t h) { return fnv(fnv(fnv(h, recipe()), kMakeOptions), kRunnerMakefile); }

// The runner's C++ compiles go through ccache when it is installed: a runner whose key changed only
// because a library it links changed (any edit to model/ir, arch, quant or core) compiles the same
// Verilated C++ again and hits, so only Verilator and the link run again (all ten runners of
// rtl_runners 282 -> 86 s; 259 s on an empty cache: docs/performance.md "Runner compiles through
// ccache"). ccache returns the object the same compile made, so it is not in the cache key.
// CCACHE_DISABLE=1 turns it off.
bool use_ccache() {
  static const bool have = std::system("command -v ccache > /dev/null 2>&1") == 0;
  return have;
}

// Verilator's runtime objects (verilated.o and the like) and the precompiled verilated.h are the
// same for every runner built with the same recipe, flags and tools; built once per cache folder
// (an entry `runtime-KEY`) and copied into each later runner's build folder, where make finds
// them up to date: a small runner's build went from 16.9 to 6.8 s (docs/performance.md
// "rtl_runners two at a time, and shared runtime objects"). ccache would share the objects but
// not the precompiled headers.
bool is_runtime_file(const fs::path& rel) {
  const std::string name = rel.filename().string();
  return (name.rfind("verilated", 0) == 0 && rel.extension() == ".o") ||
         rel.parent_path().filename() == "verilated.h.gch";
}
std::vector<fs::path> runtime_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const fs::path rel = fs::relative(e.path(), dir);
    if (e.is_regular_file() && is_runtime_file(rel)) files.push_back(rel);
  }
  return files;
}
// Copies the shared runtime into a Verilated build folder: make then skips those compiles.
void take_runtime(const fs::path& runtime, const fs::path& obj) {
  if (!fs::exists(runtime / "complete")) return;
  for (const fs::path& rel : runtime_files(runtime)) {
    fs::create_directories((obj / rel).parent_path());
    fs::copy_file(runtime / rel, obj / rel, fs::copy_options::overwrite_existing);
  }
}
// Keeps a finished build's runtime as the folder's shared one (first build wins; a concurrent
// one that loses the rename discards its copy).
void keep_runtime(const fs::path& obj, const fs::path& runtime) {
  if (fs::exists(runtime / "complete")) return;
  const fs::path tmp = runtime.string() + fmt::format(".tmp{}", getpid());
  fs::remove_all(tmp);
  for (const fs::path& rel : runtime_files(obj)) {
    fs::create_directories((tmp / rel).parent_path());
    fs::copy_file(obj / rel, tmp / rel);
  }
  std::ofstream(tmp / "complete") << "";
  std::error_code ec;
  fs::rename(tmp, runtime, ec);
  if (ec) fs::remove_all(tmp);
}

// The libraries the runner links (in link order): this build's archives, or the installed ones.
std::vector<fs::path> runner_libs() {
  std::vector<fs::path> libs;
  std::istringstream files(FQ_RUNNER_LIBS), names(FQ_RUNNER_LIB_NAMES);
  const auto prefix = install_prefix();
  for (std::string file, name; files >> file && names >> name;) {
    libs.push_back(prefix ? *prefix / FQ_INSTALL_LIBDIR / fmt::format("lib{}.a", name) : fs::path(file));
  }
  return libs;
}

// The runner for this arch, built on first use.
fs::path runner_for(const ArchConfig& arch, const RtlOptions& o) {
  const fs::path src = data_dir();
  // Verilated: the modules (.v); hashed: every file of rtl/ (includes, recipe and waivers too).
  std::vector<fs::path> rtl_files, sources;
  for (const auto& e : fs::directory_iterator(src / "rtl")) {
    if (e.is_regular_file()) rtl_files.push_back(e.path());
  }
  std::sort(rtl_files.begin(), rtl_files.end());
  for (const auto& p : rtl_files) {
    if (p.extension() == ".v") sources.push_back(p);
  }
  const std::vector<fs::path> runner_src = {src / "sim/rtl/rtl_runner_main.cpp", src / "sim/rtl/top_harness.h",
                                            src / "sim/rtl/rtl_harness.h", src / "sim/rtl/fq_isa.h"};
  const std::vector<fs::path> libs = runner_libs();
  std::vector<std::string> args = rtl_runner_parameters(arch);
  for (const auto& d : o.defines) args.push_back(fmt::format("+define+{}", d));
  // Tracing is half the generated code: only a run that asks for a waveform gets a traced runner
  // (its own cache entry, built on first use).
  if (!o.wave.empty()) args.push_back("--trace-fst");
  uint64_t h = kFnvOffset;
  for (const auto& p : rtl_files) h = fnv(fnv(h, p.filename().string()), slurp(p));
  for (const auto& p : runner_src) h = fnv(h, slurp(p));
  for (const auto& a : args) h = fnv(h, a);
  h = build_hash(h);
  for (const fs::path& lib : libs) {
    h = fnv(h, fmt::format("{}:{}", fs::file_size(lib), fs::last_write_time(lib).time_since_epoch().count()));
  }
  const std::vector<fs::path> folders = cache_folders(o);
  for (const fs::path& folder : folders) {
    const fs::path found = folder / fmt::format("{:016x}", h) / "fq_rtl_runner";
    if (fs::exists(found)) return found;
  }
  const fs::path cache = folders.front();
  const fs::path dir = cache / fmt::format("{:016x}", h);
  const fs::path exe = dir / "fq_rtl_runner";

  // Build in a private folder, then rename it into place: concurrent builds cannot collide.
  fs::create_directories(cache);
  const fs::path tmp = cache / fmt::format("{:016x}.tmp{}", h, getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  if (o.status) {
    o.status(fmt::format("building the RTL runner for {}x{} {} (first use of this arch: a few minutes)", arch.rows,
                         arch.cols, arch.pe_kind));
  }
  std::string link_line;
  for (const fs::path& lib : libs) link_line += lib.string() + " ";
  link_line += "-lfmt -lyaml-cpp -pthread";
  const fs::path obj = tmp / "obj";
  const fs::path log = tmp / "build.log";
  std::string cmd = "verilator --cc --exe " + recipe() + " --top-module fq_top";
  for (const auto& a : args) cmd += fmt::format(" {}", a);
  for (const auto& p : sources) cmd += fmt::format(" {}", quote(p.string()));
  cmd += fmt::format(" {}", quote((src / "sim/rtl/rtl_runner_main.cpp").string()));
  const std::string cflags = fmt::format("-std=c++20 -DNDEBUG -I{} -DFQ_RTL_IDEPTH={}{}", include_dir().string(),
                                         kIdepth, o.wave.empty() ? "" : " -DFQ_RTL_TRACE");
  cmd += fmt::format(" -CFLAGS {} -LDFLAGS {} --Mdir {} -o fq_rtl_runner > {} 2>&1", quote(cflags), quote(link_line),
                     quote(obj.string()), quote(log.string()));
  bool built = std::system(cmd.c_str()) == 0;
  // The runtime's key: what its compiles depend on (the recipe and makefile, this runner's C++
  // flags, which carry FQ_RTL_TRACE exactly when it is Verilated with --trace-fst, and the tools'
  // versions), not the design.
  const uint64_t rk =
      fnv(fnv(build_hash(kFnvOffset), cflags), run_capture("verilator --version; g++ --version").second);
  const fs::path runtime = cache / fmt::format("runtime-{:016x}", rk);
  if (built) {
    take_runtime(runtime, obj);
    std::ofstream(obj / "fq_runner.mk") << kRunnerMakefile;
    // The sloppiness lets ccache use the precompiled verilated.h (as in the CMake build). Depend
    // mode takes the includes from the compiler's -MMD output instead of running the
    // preprocessor on every miss, which cost a cold full-size runner 127 s against 108 s without
    // ccache (docs/performance.md "With ccache on an empty cache"); every input of a compile (the
    // source, the headers the .d lists, among them verilated.h, the flags, the compiler) is still
    // hashed, and the precompiled header is made of those same inputs.
    // The job count changes no object (not in the key). ctest builds runners one job each beside
    // other tests (tests/CMakeLists.txt), a user by default on every core.
    const unsigned jobs = o.build_jobs > 0 ? static_cast<unsigned>(o.build_jobs)
                                           : std::max(1u, std::thread::hardware_concurrency());
    cmd = fmt::format("{}make -C {} -f fq_runner.mk -j {} {}{} >> {} 2>&1",
                      use_ccache() ? "CCACHE_SLOPPINESS=pch_defines,time_macros CCACHE_DEPEND=1 " : "",
                      quote(obj.string()), jobs,
                      kMakeOptions, use_ccache() ? " OBJCACHE=ccache" : "", quote(log.string()));
    built = std::system(cmd.c_str()) == 0;
  }
  if (!built || !fs::exists(obj / "fq_rtl_runner")) {
    const std::string text = slurp(log);
    fail("building the RTL runner failed (log: {}): {}", log.string(),
         text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
  }
  keep_runtime(obj, runtime);
  fs::rename(tmp / "obj" / "fq_rtl_runner", tmp / "fq_rtl_runner");
  fs::remove_all(tmp / "obj");
  std::error_code ec;
  fs::rename(tmp, dir, ec);  // fails when another process got there first: use theirs
  if (ec) fs::remove_all(tmp);
  if (!fs::exists(exe)) fail("the RTL runner {} is missing after the build", exe.string());
  return exe;
}

}  // namespace

std::string rtl_unsupported(const ArchConfig& arch) {
  if (arch.dataflow != Dataflow::kWeightStationary) return "the RTL implements the weight-stationary dataflow only";
  if (arch.timing != TimingModel::kDefault) return "timing: scalesim is a modelling convention with no RTL";
  if (arch.weight_bytes > (int64_t{1} << 24) || arch.act_bytes > (int64_t{1} << 24) ||
      arch.out_bytes > (int64_t{1} << 24) || arch.scale_bytes > (int64_t{1} << 24)) {
    return "the RTL's behavioural buffers are limited to 16 MiB each";
  }
  return "";
}

std::vector<std::string> rtl_parameters(const ArchConfig& arch) {
  return parameters(arch, arch.weight_bytes, arch.act_bytes, arch.out_bytes, arch.scale_bytes, arch.dram_bytes_per_cycle);
}

std::string rtl_runner(const ArchConfig& arch, const RtlOptions& options) {
  if (const std::string why = rtl_unsupported(arch); !why.empty()) fail("RTL engine: {}", why);
  return runner_for(arch, options).string();
}

RtlResult run_rtl(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory,
                  const RtlOptions& options) {
  if (const std::string why = rtl_unsupported(arch); !why.empty()) fail("RTL engine: {}", why);
  if (const std::string why = rtl_program_unsupported(program); !why.empty()) fail("RTL engine: {}", why);
  RtlResult r;
  r.runner = runner_for(arch, options).string();
  static std::atomic<uint64_t> runs{0};  // one folder per run: threads of one process may run in parallel
  const fs::path work = fs::temp_directory_path() / fmt::format("fqsim-rtl-run-{}-{}", getpid(), runs++);
  fs::remove_all(work);
  fs::create_directories(work);
  {
    std::ofstream a(work / "arch.yaml");
    a << to_yaml(arch);
  }
  ir::write_tir(program, work / "program.tir");
  ir::write_mem(memory, work / "in.mem");
  std::string cmd = fmt::format("{} {} {} {} {} {}", quote(r.runner), quote((work / "arch.yaml").string()),
                                quote((work / "program.tir").string()), quote((work / "in.mem").string()),
                                quote((work / "out.mem").string()), quote((work / "out.txt").string()));
  if (!options.wave.empty()) cmd += fmt::format(" {}", quote(options.wave));
  cmd += fmt::format(" 2> {}", quote((work / "stderr.txt").string()));
  if (std::system(cmd.c_str()) != 0) {
    const std::string err = slurp(work / "stderr.txt");
    fs::remove_all(work);
    fail("RTL run failed: {}", err.empty() ? "the runner crashed" : err);
  }
  memory = ir::read_mem(work / "out.mem");
  std::ifstream in(work / "out.txt");
  std::string word;
  in >> word >> r.total_cycles >> word >> r.pulses;
  r.done.resize(program.size());
  for (auto& d : r.done) in >> d;
  if (!in) fail("RTL run: malformed result file {}", (work / "out.txt").string());
  fs::remove_all(work);
  return r;
}

std::string rtl_program_unsupported(const ir::TileProgram& program) {
  std::array<uint64_t, ir::kNumUnits> per_unit{};
  for (ir::OpId id = 0; id < program.size(); ++id) ++per_unit[static_cast<size_t>(ir::unit_of(program.op(id).opcode))];
  for (size_t u = 0; u < per_unit.size(); ++u) {
    if (per_unit[u] > kIdepth) {
      return fmt::format("the program has {} {} ops; the RTL's instruction memory holds {} per unit", per_unit[u],
                         ir::unit_name(static_cast<ir::Unit>(u)), kIdepth);
    }
  }
  return "";
}

namespace {

// The registered engine "rtl": rtl/fq_top.v through Verilator. It reports the done cycle of
// every op (the controller's retire counters), not issue or finish, and no action counts.
class Rtl final : public Engine {
 public:
  std::string name() const override { return "rtl"; }
  std::string description() const override {
    return "the Verilog of rtl/ through Verilator (weight stationary, default timing); data and done cycles";
  }
  EngineParts parts() const override { return {.bytes = true, .cycles = true, .op_timeline = false}; }
  std::optional<std::string> refusal(const ArchConfig& arch) const override {
    if (std::string why = rtl_unsupported(arch); !why.empty()) return why;
    return std::nullopt;
  }
  std::optional<std::string> refusal(const ArchConfig& arch, const ir::TileProgram& program) const override {
    if (auto why = refusal(arch)) return why;
    if (std::string why = rtl_program_unsupported(program); !why.empty()) return why;
    return std::nullopt;
  }

 protected:
  EngineResult execute(const ArchConfig& arch, const ir::TileProgram& program, ir::MemoryImage memory,
                       const EngineOptions& options) const override {
    refuse_option(!options.vcd.empty(), "--vcd");
    RtlOptions o;
    o.cache_dir = options.rtl_cache;
    o.defines = options.rtl_defines;
    o.wave = options.wave;
    o.build_jobs = options.rtl_build_jobs;
    o.status = options.status;
    RtlResult res = run_rtl(program, arch, memory, o);
    EngineResult r;
    r.done = std::move(res.done);
    r.total = res.total_cycles;
    r.pe_additions = res.pulses;
    r.memory = std::move(memory);
    r.runner = res.runner;
    return r;
  }
};

}  // namespace

}  // namespace fq::sim

FQ_REGISTER_ENGINE(rtl, fq::sim::Rtl);
