// Progress: a one-line progress indicator on stderr for long commands. Nothing is printed during
// the first second, so quick runs stay quiet; then a ticker thread redraws the line twice a second
// on a terminal, or prints a line every 5 s when stderr is a file or pipe (CI logs).
// Contract: stage() and advance_to() are cheap and thread-safe; the destructor stops the ticker
// and ends the line it drew, if any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace fq {

class Progress {
 public:
  explicit Progress(std::string program);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // A new stage; with total > 0 the line shows done/total and a percentage.
  void stage(const std::string& name, uint64_t total = 0, const std::string& unit = "");
  void advance_to(uint64_t done) { m_done.store(done, std::memory_order_relaxed); }

 private:
  void run();
  std::string line();

  std::string m_program;
  std::chrono::steady_clock::time_point m_start;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  bool m_drawn = false;
  bool m_tty = false;
  std::string m_stage, m_unit;
  uint64_t m_total = 0;
  std::atomic<uint64_t> m_done{0};
  std::thread m_thread;
};

}  // namespace fq
