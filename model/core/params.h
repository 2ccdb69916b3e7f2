// Params: named string options of a component (quantizer, reader) with typed getters.
// Contract: every key a component reads is marked used; check_all_used() then rejects the rest,
// so a misspelt option is an error that names it, never a silent default.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>

namespace fq {

class Params {
 public:
  Params() = default;
  // `context` names where the options came from in error messages ("quantize --method fineq");
  // a command's own options have none, since run_command already names the program.
  explicit Params(std::string context) : m_context(std::move(context)) {}

  void set(const std::string& key, const std::string& value) { m_values[key] = value; }
  bool has(const std::string& key) const { return m_values.count(key) != 0; }

  std::string get_string(const std::string& key, const std::string& fallback) const;
  // One of `choices`; anything else is an error naming the key and listing the choices.
  std::string get_choice(const std::string& key, const std::string& fallback,
                         std::initializer_list<const char*> choices) const;
  double get_double(const std::string& key, double fallback) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  // Range-checked integer: the message names the key and the allowed range.
  int64_t get_int(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const;

  // Throws fq::Error naming the first key nobody asked for.
  void check_all_used() const;

  const std::map<std::string, std::string>& values() const { return m_values; }
  const std::string& context() const { return m_context; }

 private:
  std::string prefix() const { return m_context.empty() ? "" : m_context + ": "; }

  std::string m_context;
  std::map<std::string, std::string> m_values;
  mutable std::set<std::string> m_used;
};

}  // namespace fq
