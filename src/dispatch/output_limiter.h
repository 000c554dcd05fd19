// How much a plugin may write to the logs: its stderr lines and its `log` messages, per plugin,
// so a plugin printing in a loop cannot fill the disk or drown the others' lines. Two token
// buckets: lines per second (a burst of one second's worth) and bytes per minute (a burst of
// one minute's worth). What does not fit is dropped and counted; the owner writes one line
// saying how much was dropped (take_dropped). Pure logic on the times it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "sgeventd/clock.h"

namespace sgeventd::dispatch {

struct OutputLimits {
  double lines_per_second = 1000;                // 0: no limit on lines
  std::uint64_t bytes_per_minute = 16ull << 20;  // 0: no limit on bytes
};

class OutputLimiter {
 public:
  explicit OutputLimiter(OutputLimits limits = {}) : limits_(limits) {}

  // True when a line of `bytes` may be written at `now`; false: it is dropped (and counted).
  bool admit(std::size_t bytes, Clock::time_point now);

  struct Dropped {
    std::uint64_t lines = 0;
    std::uint64_t bytes = 0;
  };
  // What was dropped since the last call, if anything (the count starts over).
  std::optional<Dropped> take_dropped();
  bool dropping() const { return dropped_.lines > 0; }

 private:
  void refill(Clock::time_point now);

  OutputLimits limits_;
  double line_tokens_ = -1;  // < 0: not started (the first call fills both buckets)
  double byte_tokens_ = 0;
  Clock::time_point last_{};
  Dropped dropped_;
};

}  // namespace sgeventd::dispatch
