// The limits a running worker is held to: callback_timeout and worker_memory_limit
// (DESIGN.md section 4). check() says whether to kill it; Worker::abort does the kill.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "sgeventd/clock.h"
#include "workers/worker.h"
#include "workers/worker_error.h"

namespace sgeventd::workers {

struct HealthLimits {
  // Per callback. An event runs its callbacks one after the other, so its budget is this
  // times its callback count (at least one); pings get one budget.
  std::optional<std::chrono::milliseconds> callback_timeout;
  std::optional<std::uint64_t> memory_limit_bytes;
  // Reading /proc costs a syscall or three: at most this often per worker.
  std::chrono::milliseconds memory_check_interval{1'000};
};

class HealthMonitor {
 public:
  using RssReader = std::function<std::optional<std::uint64_t>()>;

  HealthMonitor(HealthLimits limits, Clock& clock) : limits_(limits), clock_(clock) {}

  // The error to abort the worker with, or nullopt if it is within its limits.
  std::optional<WorkerError> check(const std::deque<InFlight>& in_flight, const RssReader& rss);
  std::optional<WorkerError> check(const Worker& session) {
    return check(session.in_flight(), [&] { return session.rss_bytes(); });
  }
  // When check() can next find something (for the poll timeout).
  std::optional<Clock::time_point> next_check(const std::deque<InFlight>& in_flight) const;

  const HealthLimits& limits() const { return limits_; }

 private:
  HealthLimits limits_;
  Clock& clock_;
  std::optional<Clock::time_point> last_memory_check_;
};

}  // namespace sgeventd::workers
