#include "model/core/subprocess.h"

#include "model/core/error.h"

#include <cstdio>
#include <sys/wait.h>

namespace fq {

std::pair<int, std::string> run_capture(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) fail("cannot run '{}'", command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace fq
