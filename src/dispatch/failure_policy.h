// What happens after a callback fails (DESIGN.md section 4). Compatible by default: with no
// retries configured, stopOnError=True deactivates the plugin and holds its cursor before the
// failing event, so the event runs again when the plugin is reactivated (its file changes, or
// after `reactivation` seconds), exactly as shotgunEvents does; stopOnError=False moves on and
// the event is kept as a dead letter that can be re-driven.
#pragma once

#include <chrono>

namespace sgeventd::dispatch {

struct RetrySettings {
  int retries = 0;                                // extra attempts after the first failure
  std::chrono::milliseconds retry_backoff{1000};  // first pause, doubled each time
  std::chrono::milliseconds max_backoff{std::chrono::minutes(10)};
};

struct FailureDecision {
  enum class Action {
    kRetry,       // run the failed callback (and the ones after it) again after `delay`
    kDeactivate,  // stopOnError: stop the plugin, keep the event pending
    kDeadLetter,  // give up on this event for this callback and move on
  };
  Action action = Action::kDeadLetter;
  std::chrono::milliseconds delay{0};
};

// `failures` counts this event's failed attempts for this callback, this one included.
FailureDecision decide_after_failure(int failures, bool stop_on_error, const RetrySettings& s);

}  // namespace sgeventd::dispatch
