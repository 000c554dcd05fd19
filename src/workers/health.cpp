#include "workers/health.h"

#include <algorithm>
#include <string>

namespace sgeventd::workers {
namespace {

std::chrono::milliseconds budget(const InFlight& f, std::chrono::milliseconds per_callback) {
  return per_callback * static_cast<std::int64_t>(std::max<std::size_t>(f.callbacks, 1));
}

std::string mib(std::uint64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MiB"; }

}  // namespace

std::optional<WorkerError> HealthMonitor::check(const std::deque<InFlight>& in_flight,
                                                const RssReader& rss) {
  const auto now = clock_.now();
  if (limits_.callback_timeout && !in_flight.empty()) {
    const InFlight& oldest = in_flight.front();
    const auto allowed = budget(oldest, *limits_.callback_timeout);
    const auto running =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - oldest.started_at);
    if (running >= allowed) {
      return WorkerError{
          WorkerError::Kind::kTimeout,
          std::string(oldest.kind == InFlight::Kind::kEvent ? "event" : "ping") + " seq " +
              std::to_string(oldest.seq) + " has run " + std::to_string(running.count()) +
              " ms, over callback_timeout (" + std::to_string(allowed.count()) + " ms for " +
              std::to_string(std::max<std::size_t>(oldest.callbacks, 1)) + " callbacks)",
          std::nullopt};
    }
  }
  if (limits_.memory_limit_bytes &&
      (!last_memory_check_ || now - *last_memory_check_ >= limits_.memory_check_interval)) {
    last_memory_check_ = now;
    if (auto bytes = rss ? rss() : std::nullopt; bytes && *bytes > *limits_.memory_limit_bytes) {
      return WorkerError{WorkerError::Kind::kMemoryLimit,
                         "resident memory " + mib(*bytes) + " is over worker_memory_limit (" +
                             mib(*limits_.memory_limit_bytes) + ")",
                         std::nullopt};
    }
  }
  return std::nullopt;
}

std::optional<Clock::time_point> HealthMonitor::next_check(
    const std::deque<InFlight>& in_flight) const {
  std::optional<Clock::time_point> next;
  if (limits_.callback_timeout && !in_flight.empty()) {
    next = in_flight.front().started_at + budget(in_flight.front(), *limits_.callback_timeout);
  }
  if (limits_.memory_limit_bytes) {
    const auto t =
        last_memory_check_ ? *last_memory_check_ + limits_.memory_check_interval : clock_.now();
    if (!next || t < *next) next = t;
  }
  return next;
}

}  // namespace sgeventd::workers
