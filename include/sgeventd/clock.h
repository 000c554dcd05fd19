// Time as a dependency, so retry, backoff and timeout logic can be tested without sleeping.
#pragma once

#include <chrono>

namespace sgeventd {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
  // Wall-clock time, for what is persisted or shown (steady time means nothing across a
  // restart). Fakes override it to move with now().
  virtual std::chrono::system_clock::time_point wall_now() const {
    return std::chrono::system_clock::now();
  }

  // The process's real steady clock (thread-safe, shared).
  static Clock& real();
};

}  // namespace sgeventd
