#include "dispatch/failure_policy.h"

#include <algorithm>

namespace sgeventd::dispatch {

FailureDecision decide_after_failure(int failures, bool stop_on_error, const RetrySettings& s) {
  using Action = FailureDecision::Action;
  if (failures <= s.retries) {
    // backoff * 2^(failures-1), capped, without overflowing on large counts.
    std::chrono::milliseconds delay = s.retry_backoff;
    for (int i = 1; i < failures && delay < s.max_backoff; ++i) delay *= 2;
    return {Action::kRetry, std::min(delay, s.max_backoff)};
  }
  return {stop_on_error ? Action::kDeactivate : Action::kDeadLetter, std::chrono::milliseconds(0)};
}

}  // namespace sgeventd::dispatch
