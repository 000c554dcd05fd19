#include "sgeventd/clock.h"

#include <thread>

namespace sgeventd {
namespace {

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::milliseconds duration) override {
    std::this_thread::sleep_for(duration);
  }
};

}  // namespace

Clock& Clock::real() {
  static SteadyClock clock;
  return clock;
}

}  // namespace sgeventd
