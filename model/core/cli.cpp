#include "model/core/cli.h"

#include "model/core/error.h"

#include <fmt/format.h>

namespace fq {

CommandLine::CommandLine(int argc, const char* const* argv, std::set<std::string> flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2);
      const auto eq = name.find('=');
      if (eq != std::string::npos) {
        m_options.emplace_back(name.substr(0, eq), name.substr(eq + 1));
      } else if (flags.count(name)) {
        m_flags_given.insert(name);
      } else {
        if (i + 1 >= argc) fail("option --{} needs a value", name);
        m_options.emplace_back(name, argv[++i]);
      }
    } else {
      m_positional.push_back(arg);
    }
  }
}

std::optional<std::string> CommandLine::value(const std::string& name) {
  m_used.insert(name);
  std::optional<std::string> last;
  for (const auto& [key, v] : m_options) {
    if (key == name) last = v;
  }
  return last;
}

std::string CommandLine::required(const std::string& name) {
  auto v = value(name);
  if (!v) fail("missing required option --{}", name);
  return *v;
}

std::vector<std::string> CommandLine::values(const std::string& name) {
  m_used.insert(name);
  std::vector<std::string> out;
  for (const auto& [key, v] : m_options) {
    if (key == name) out.push_back(v);
  }
  return out;
}

bool CommandLine::flag(const std::string& name) {
  m_used.insert(name);
  return m_flags_given.count(name) != 0;
}

std::vector<std::string> CommandLine::positional() {
  m_positional_used = true;
  return m_positional;
}

std::map<std::string, std::string> CommandLine::take_rest() {
  std::map<std::string, std::string> rest;
  for (const auto& [key, v] : m_options) {
    if (!m_used.count(key)) rest[key] = v;
  }
  for (const auto& [key, v] : rest) m_used.insert(key);
  return rest;
}

void CommandLine::finish() const {
  for (const auto& [key, v] : m_options) {
    if (!m_used.count(key)) fail("unknown option --{}", key);
  }
  for (const auto& f : m_flags_given) {
    if (!m_used.count(f)) fail("unknown option --{}", f);
  }
  if (!m_positional_used && !m_positional.empty()) fail("unexpected argument '{}'", m_positional.front());
}

int run_command(const char* program, int argc, char** argv, int (*run)(int, char**)) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    fmt::print(stderr, "{}: error: {}\n", program, e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", program, e.what());
    return 2;
  }
}

}  // namespace fq
