// What makes the daemon unhealthy (GET /healthz, docs/admin-api.md), read from the status
// snapshot the daemon publishes every second: a pure function, so every rule has a unit test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sgeventd/value.h"

namespace sgeventd::daemon {

struct HealthThresholds {
  std::int64_t max_lag = 10000;  // events a plugin's cursor may trail the feed
  int poll_failures = 3;         // failed reads of the event log in a row
};

// One line per problem; empty when healthy. `status` is the status file's object (null
// while the daemon is starting: then that is the one problem).
std::vector<std::string> health_problems(const Value& status, const HealthThresholds& limits);

}  // namespace sgeventd::daemon
