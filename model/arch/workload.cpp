#include "model/arch/workload.h"

#include "model/core/error.h"

#include <yaml-cpp/yaml.h>

#include <set>

namespace fq {
namespace {

int64_t positive(const YAML::Node& node, const std::string& path, const std::string& key) {
  if (!node || !node.IsScalar()) fail("{}: key '{}' is missing or not a scalar", path, key);
  try {
    const auto v = node.as<int64_t>();
    if (v > 0) return v;
  } catch (const YAML::Exception&) {
  }
  fail("{}: key '{}' (line {}) must be a positive integer, got '{}'", path, key, node.Mark().line + 1, node.Scalar());
}

void only_keys(const YAML::Node& map, const std::set<std::string>& keys, const std::string& path,
               const std::string& where) {
  for (const auto& item : map) {
    // A complex key ("? [a, b]") has no text: as<std::string>() would throw a YAML exception.
    if (!item.first.IsScalar()) fail("{}: the key at line {} is not a plain name", path, item.first.Mark().line + 1);
    const auto key = item.first.as<std::string>();
    if (!keys.count(key)) fail("{}: unknown key '{}{}' (line {})", path, where, key, item.first.Mark().line + 1);
  }
}

}  // namespace

std::vector<GemmShape> load_workload(const std::string& path, int64_t tokens) {
  if (tokens <= 0) fail("{}: the token count M must be positive, got {}", path, tokens);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    fail("{}: cannot open the workload file", path);
  } catch (const YAML::Exception& e) {
    fail("{}: YAML syntax error at line {}, column {}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (!root.IsMap()) fail("{}: a workload is a YAML mapping (traces/README.md)", path);
  only_keys(root, {"version", "name", "source", "layers", "gemms"}, path, "");
  if (positive(root["version"], path, "version") != 1) fail("{}: unsupported workload version (this reader: 1)", path);
  const int64_t layers = positive(root["layers"], path, "layers");
  // The list is expanded per layer: a one-line file must not ask for 10^12 copies.
  if (layers > 65536) fail("{}: key 'layers' (line {}) is {}, at most 65536", path, root["layers"].Mark().line + 1, layers);
  const YAML::Node gemms = root["gemms"];
  if (!gemms || !gemms.IsSequence() || gemms.size() == 0) fail("{}: key 'gemms' must be a non-empty list", path);
  std::vector<GemmShape> out;
  for (int64_t l = 0; l < layers; ++l) {
    for (size_t i = 0; i < gemms.size(); ++i) {
      const YAML::Node g = gemms[i];
      const std::string where = "gemms[" + std::to_string(i) + "].";
      if (!g.IsMap()) fail("{}: '{}' must be a mapping", path, where);
      only_keys(g, {"name", "n", "k"}, path, where);
      if (!g["name"] || !g["name"].IsScalar()) fail("{}: key '{}name' is missing", path, where);
      std::string name = g["name"].Scalar();
      if (const auto at = name.find("{l}"); at != std::string::npos) name.replace(at, 3, std::to_string(l));
      out.push_back({name, tokens, positive(g["n"], path, where + "n"), positive(g["k"], path, where + "k")});
    }
  }
  return out;
}

}  // namespace fq
