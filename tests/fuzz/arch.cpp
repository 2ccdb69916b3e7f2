// fuzz_arch: arch YAML plus `--set` overrides (the input is the YAML, then optionally a '\0'
// and one KEY=VALUE override per line), loaded and fingerprinted; whatever loads must survive
// the documented round trip parse_arch(to_yaml(a)) == a with the same fingerprint.
#include "fuzz/targets.h"

#include "model/arch/arch_config.h"
#include "model/core/error.h"

#include <string>
#include <vector>

namespace fq::fuzz {

int arch(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string yaml = input.substr(0, nul);
  std::vector<std::string> overrides;
  if (nul != std::string::npos) {
    size_t start = nul + 1;
    while (start <= input.size()) {
      const size_t nl = input.find('\n', start);
      overrides.push_back(input.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  ArchConfig a;
  try {
    a = parse_arch(yaml, "fuzz.yaml", overrides);
  } catch (const Error&) {
    return 0;
  }
  const std::string text = to_yaml(a), fp = fingerprint(a);
  const ArchConfig b = parse_arch(text, "to_yaml");
  if (to_yaml(b) != text || fingerprint(b) != fp) broken("parse_arch(to_yaml(a)) differs from a:\n" + text);
  return 0;
}

}  // namespace fq::fuzz
