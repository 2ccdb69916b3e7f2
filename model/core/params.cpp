#include "model/core/params.h"

#include "model/core/error.h"

#include <charconv>
#include <cmath>

namespace fq {

std::string Params::get_string(const std::string& key, const std::string& fallback) const {
  m_used.insert(key);
  const auto it = m_values.find(key);
  return it == m_values.end() ? fallback : it->second;
}

std::string Params::get_choice(const std::string& key, const std::string& fallback,
                               std::initializer_list<const char*> choices) const {
  const std::string value = get_string(key, fallback);
  std::string known;
  for (const char* c : choices) {
    if (value == c) return value;
    if (!known.empty()) known.append(", ");
    known.append(c);
  }
  fail("{}option '{}' must be one of {}, got '{}'", prefix(), key, known, value);
}

double Params::get_double(const std::string& key, double fallback) const {
  m_used.insert(key);
  const auto it = m_values.find(key);
  if (it == m_values.end()) return fallback;
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(it->second, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != it->second.size() || it->second.empty() || !std::isfinite(v)) {
    fail("{}option '{}' must be a finite number, got '{}'", prefix(), key, it->second);
  }
  return v;
}

int64_t Params::get_int(const std::string& key, int64_t fallback) const {
  m_used.insert(key);
  const auto it = m_values.find(key);
  if (it == m_values.end()) return fallback;
  const std::string& s = it->second;
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    fail("{}option '{}' must be an integer, got '{}'", prefix(), key, s);
  }
  return v;
}

int64_t Params::get_int(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
  const int64_t v = get_int(key, fallback);
  if (v < lo || v > hi) fail("{}option '{}' = {} is outside [{}, {}]", prefix(), key, v, lo, hi);
  return v;
}

void Params::check_all_used() const {
  for (const auto& [key, value] : m_values) {
    if (!m_used.count(key)) fail("{}unknown option '{}' (value '{}')", prefix(), key, value);
  }
}

}  // namespace fq
