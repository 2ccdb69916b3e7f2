// bench_quantize: FineQ-R and RTN encoding speed (weights/s) with the scale search, on a seeded
// heavy-tailed matrix. Usage: bench_quantize [ROWS] [COLS] [CASE]   (default 4096 4096, every case;
// CASE is a substring of "fineq policy=ratio", "rtn clip=mse", ...). Prints wall and user-CPU time:
// on a loaded machine CPU time is the steadier figure. The checksum of the codes and scales lets
// two builds be compared for identical output.
#include "model/core/parallel.h"
#include "model/quant/i_quantizer.h"

#include <fmt/format.h>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

uint64_t next(uint64_t& s) {  // splitmix64
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double user_cpu_seconds() {  // this process, every thread
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec);
}

uint64_t checksum(const std::vector<uint8_t>& codes, const std::vector<uint16_t>& scales) {  // FNV-1a
  uint64_t h = 0xcbf29ce484222325ull;
  for (const uint8_t b : codes) h = (h ^ b) * 0x100000001b3ull;
  for (const uint16_t v : scales) h = (h ^ v) * 0x100000001b3ull;
  return h;
}

double uniform(uint64_t& s) { return (static_cast<double>(next(s) >> 11) + 0.5) * 0x1.0p-53; }

}  // namespace

int main(int argc, char** argv) {
  const int rows = argc > 1 ? std::atoi(argv[1]) : 4096;
  const int cols = argc > 2 ? std::atoi(argv[2]) : 4096;
  const std::string only = argc > 3 ? argv[3] : "";
  std::vector<float> w(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  uint64_t state = 42;
  for (auto& x : w) {  // Student-t-like tail: normal / sqrt(chi2/4) approximated by a Cauchy-clipped mix
    const double n = std::sqrt(-2.0 * std::log(uniform(state))) * std::cos(6.283185307179586 * uniform(state));
    const double scale = uniform(state) < 0.01 ? 10.0 : 1.0;
    x = static_cast<float>(0.02 * n * scale);
  }
  const double weights = static_cast<double>(w.size());
  fmt::print("bench_quantize: {} x {} = {:.1f} M weights, {} hardware threads\n", rows, cols, weights / 1e6,
             fq::default_threads());
  struct Case {
    const char* method;
    const char* key;
    const char* value;
  };
  for (const Case c : {Case{"fineq", "policy", "ratio"}, Case{"fineq", "policy", "mse"}, Case{"rtn", "bits", "4"},
                       Case{"rtn", "clip", "mse"}}) {
    if (fmt::format("{} {}={}", c.method, c.key, c.value).find(only) == std::string::npos) continue;
    fq::Params p("bench");
    p.set(c.key, c.value);
    const auto q = fq::make_quantizer(c.method, p);
    for (const int threads : {1, fq::default_threads()}) {
      setenv("FQ_THREADS", std::to_string(threads).c_str(), 1);
      const double cpu0 = user_cpu_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      const auto m = q->encode(w, rows, cols);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double cpu = user_cpu_seconds() - cpu0;
      fmt::print("  {:<6} {}={:<6} threads {}: {:6.3f} s  {:7.1f} M weights/s  {:6.1f} M weights/s per core  "
                 "user CPU {:6.3f} s = {:6.1f} M weights/CPU-s  checksum {:016x}\n",
                 c.method, c.key, c.value, threads, s, weights / s / 1e6, weights / s / 1e6 / threads, cpu,
                 weights / cpu / 1e6, checksum(m.codes, m.scales));
    }
  }
  return 0;
}
