// CommandLine: the option parser every fqsim command uses. Options are `--name value` or
// `--name=value` (repeatable ones collect every value) and flags; anything not asked for is
// rejected by finish(), naming it, so a misspelt option never passes silently.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fq {

class CommandLine {
 public:
  // `flags` are the options that take no value; every other `--name` takes one. Errors do not
  // name the program: run_command does.
  CommandLine(int argc, const char* const* argv, std::set<std::string> flags = {});

  std::optional<std::string> value(const std::string& name);  // last value given
  std::string required(const std::string& name);               // fq::Error if absent
  std::vector<std::string> values(const std::string& name);    // every value, in order
  bool flag(const std::string& name);
  std::vector<std::string> positional();
  // Options not asked for yet, for passing on (e.g. quantizer options); marks them used.
  std::map<std::string, std::string> take_rest();
  // Throws fq::Error naming the first option (or positional argument) nobody asked for.
  void finish() const;

 private:
  std::vector<std::pair<std::string, std::string>> m_options;  // in command-line order
  std::set<std::string> m_flags_given;
  std::vector<std::string> m_positional;
  std::set<std::string> m_used;
  bool m_positional_used = false;
};

// The body of every command's main(): runs `run`, and turns an fq::Error into one line
// "<program>: error: <message>" on stderr with exit status 1 (2 for any other exception).
int run_command(const char* program, int argc, char** argv, int (*run)(int, char**));

}  // namespace fq
