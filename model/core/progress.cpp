#include "model/core/progress.h"

#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace fq {

Progress::Progress(std::string program)
    : m_program(std::move(program)), m_start(std::chrono::steady_clock::now()), m_tty(isatty(STDERR_FILENO) != 0) {
  m_thread = std::thread([this] { run(); });
}

Progress::~Progress() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
  if (m_drawn && m_tty) std::fputs("\n", stderr);
}

void Progress::stage(const std::string& name, uint64_t total, const std::string& unit) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_stage = name;
  m_total = total;
  m_unit = unit;
  m_done.store(0, std::memory_order_relaxed);
}

std::string Progress::line() {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  std::string text = fmt::format("[{}] {}", m_program, m_stage);
  if (m_total > 0) {
    const uint64_t done = m_done.load(std::memory_order_relaxed);
    text += fmt::format(" {}/{} {} ({:.0f}%)", done, m_total, m_unit, 100.0 * static_cast<double>(done) / static_cast<double>(m_total));
  }
  return text + fmt::format(", {:.1f} s", s);
}

void Progress::run() {
  std::unique_lock<std::mutex> lock(m_mutex);
  if (m_cv.wait_for(lock, std::chrono::seconds(1), [this] { return m_stop; })) return;
  const auto period = m_tty ? std::chrono::milliseconds(500) : std::chrono::milliseconds(5000);
  do {
    const std::string text = line();
    if (m_tty) {
      std::fprintf(stderr, "\r%-78s", text.c_str());
    } else {
      std::fprintf(stderr, "%s\n", text.c_str());
    }
    std::fflush(stderr);
    m_drawn = true;
  } while (!m_cv.wait_for(lock, period, [this] { return m_stop; }));
}

}  // namespace fq
