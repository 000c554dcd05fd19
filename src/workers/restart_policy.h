// When to restart a worker that died, and when to stop trying. Pure logic on an injected
// Clock and random source, so every path is unit-tested without processes or sleeps.
//
//   failure n (counted since the last stable run) waits
//       min(max_backoff, initial_backoff * multiplier^(n-1)) * (1 +- jitter)
//   a run longer than `stable_after` forgives earlier failures (the backoff starts over);
//   `crash_loop_failures` failures within `crash_loop_window` quarantine the worker: no
//   restart until its plugin file changes (or an operator reloads), as shotgunEvents keeps a
//   failed plugin inactive until its file changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "sgeventd/clock.h"

namespace sgeventd::workers {

struct RestartPolicy {
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{60'000};
  double multiplier = 2.0;
  double jitter = 0.2;  // each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]
  std::chrono::milliseconds stable_after{60'000};
  int crash_loop_failures = 5;  // 0 disables quarantine
  std::chrono::milliseconds crash_loop_window{120'000};
};

class RestartTracker {
 public:
  // `uniform01` returns values in [0, 1); default: a per-tracker PRNG seeded from the address
  // and time (jitter only has to de-synchronise workers, not be unpredictable).
  RestartTracker(RestartPolicy policy, Clock& clock, std::function<double()> uniform01 = {});

  struct Decision {
    bool quarantine = false;
    Clock::time_point restart_at{};  // when !quarantine
    std::chrono::milliseconds delay{0};
  };

  // A worker process was started now.
  void started();
  // It ended without being asked to (crash, protocol error, timeout or memory kill).
  // `made_progress`: it answered events in the run that ended. Such a run is not a crash loop
  // (a leaking plugin restarted at its memory limit handles events between restarts): it
  // counts neither toward quarantine nor toward the backoff, which starts over.
  Decision failed(bool made_progress = false);
  // Planned restarts (hot reload, operator reload) and file changes: forget the failures and
  // lift a quarantine.
  void reset();

  bool quarantined() const { return quarantined_; }
  int consecutive_failures() const { return consecutive_; }
  // The delay before restart after `failures` consecutive failures, before jitter.
  std::chrono::milliseconds base_delay(int failures) const;

 private:
  RestartPolicy policy_;
  Clock& clock_;
  std::function<double()> uniform01_;
  std::optional<Clock::time_point> started_at_;
  int consecutive_ = 0;
  std::deque<Clock::time_point> recent_;  // failure times within the crash loop window
  bool quarantined_ = false;
};

}  // namespace sgeventd::workers
