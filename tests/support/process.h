// Running the project's real binaries from tests: spawn, capture output, bounded waits.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sgeventd::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 if killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with argv, extra environment variables set (and the ones mapped to
// "" removed), stdin from /dev/null; kills it after `timeout`.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Path of a binary built into build/bin.
std::string binary(const std::string& name);

}  // namespace sgeventd::testing
