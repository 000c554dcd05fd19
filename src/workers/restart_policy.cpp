#include "workers/restart_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

namespace sgeventd::workers {

RestartTracker::RestartTracker(RestartPolicy policy, Clock& clock,
                               std::function<double()> uniform01)
    : policy_(policy), clock_(clock), uniform01_(std::move(uniform01)) {
  if (!uniform01_) {
    const auto seed =
        static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(this)) ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    uniform01_ = [engine = std::mt19937_64(seed)]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

void RestartTracker::started() { started_at_ = clock_.now(); }

std::chrono::milliseconds RestartTracker::base_delay(int failures) const {
  if (failures <= 0) return std::chrono::milliseconds(0);
  const double initial = static_cast<double>(policy_.initial_backoff.count());
  const double cap = static_cast<double>(policy_.max_backoff.count());
  // Capped before pow overflows anything: 2^64 ms is beyond any max_backoff.
  const double exponent = std::min(failures - 1, 64);
  const double delay = std::min(cap, initial * std::pow(policy_.multiplier, exponent));
  return std::chrono::milliseconds(static_cast<std::int64_t>(delay));
}

RestartTracker::Decision RestartTracker::failed(bool made_progress) {
  const auto now = clock_.now();
  if (made_progress || (started_at_ && now - *started_at_ >= policy_.stable_after)) {
    consecutive_ = 0;
  }
  started_at_.reset();
  ++consecutive_;

  if (!made_progress) recent_.push_back(now);
  while (!recent_.empty() && now - recent_.front() > policy_.crash_loop_window) {
    recent_.pop_front();
  }
  Decision d;
  if (policy_.crash_loop_failures > 0 &&
      static_cast<int>(recent_.size()) >= policy_.crash_loop_failures) {
    quarantined_ = true;
    d.quarantine = true;
    return d;
  }
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  const double factor = 1.0 + jitter * (2.0 * uniform01_() - 1.0);
  d.delay = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(base_delay(consecutive_).count()) * factor));
  d.restart_at = now + d.delay;
  return d;
}

void RestartTracker::reset() {
  consecutive_ = 0;
  recent_.clear();
  quarantined_ = false;
}

}  // namespace sgeventd::workers
