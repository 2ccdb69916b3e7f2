#pragma once
// Running a shell command and reading what it prints (the Slurm client commands, tool versions).
#include <string>
#include <utility>

namespace fq {

// Runs `command` through the shell; its stdout and stderr together, and the exit status (-1 when
// it did not exit). Fails when the shell cannot be started.
std::pair<int, std::string> run_capture(const std::string& command);

}  // namespace fq
