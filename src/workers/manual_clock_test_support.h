// A Clock that moves only when the test says so (for the policy unit tests).
#pragma once

#include "sgeventd/clock.h"

namespace sgeventd::workers {

class ManualClock final : public Clock {
 public:
  time_point now() const override { return now_; }
  void sleep_for(std::chrono::milliseconds d) override { now_ += d; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  time_point now_{std::chrono::hours(1)};
};

}  // namespace sgeventd::workers
