#include "dispatch/output_limiter.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace sgeventd::dispatch {

void OutputLimiter::refill(Clock::time_point now) {
  const double lines_cap = limits_.lines_per_second;
  const double bytes_cap = static_cast<double>(limits_.bytes_per_minute);
  if (line_tokens_ < 0) {
    line_tokens_ = lines_cap;
    byte_tokens_ = bytes_cap;
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  line_tokens_ = std::min(lines_cap, line_tokens_ + seconds * lines_cap);
  byte_tokens_ = std::min(bytes_cap, byte_tokens_ + seconds * bytes_cap / 60.0);
}

bool OutputLimiter::admit(std::size_t bytes, Clock::time_point now) {
  refill(now);
  const bool limit_lines = limits_.lines_per_second > 0;
  const bool limit_bytes = limits_.bytes_per_minute > 0;
  const double size = static_cast<double>(bytes);
  if ((limit_lines && line_tokens_ < 1.0) || (limit_bytes && byte_tokens_ < size)) {
    ++dropped_.lines;
    dropped_.bytes += bytes;
    return false;
  }
  if (limit_lines) line_tokens_ -= 1.0;
  if (limit_bytes) byte_tokens_ -= size;
  return true;
}

std::optional<OutputLimiter::Dropped> OutputLimiter::take_dropped() {
  if (dropped_.lines == 0) return std::nullopt;
  return std::exchange(dropped_, Dropped{});
}

}  // namespace sgeventd::dispatch
