// parallel_for: splits [0, n) into contiguous chunks over worker threads. Results must not
// depend on the split (callers write disjoint outputs), so output is thread-count independent.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace fq {

// Worker count: FQ_THREADS if set (>= 1), else the hardware concurrency.
int default_threads();

// Calls body(begin, end) on disjoint chunks; rethrows the first exception of any worker.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body, int threads = 0);

}  // namespace fq
