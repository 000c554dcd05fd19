#include "source/poll_schedule.h"

#include <algorithm>

namespace sgeventd::source {

using std::chrono::milliseconds;

PollScheduleOptions resolved(PollScheduleOptions o) {
  o.fetch_interval = std::max(o.fetch_interval, milliseconds(1));
  if (o.min_interval.count() <= 0)
    o.min_interval = std::max(o.fetch_interval / 10, milliseconds(1));
  if (o.max_interval.count() <= 0) o.max_interval = o.fetch_interval * 2;
  if (o.quick_for.count() <= 0) o.quick_for = o.fetch_interval * 2 / 5;
  o.growth = std::max(o.growth, 1.0);
  o.max_interval = std::max(o.max_interval, o.min_interval);
  return o;
}

PollSchedule::PollSchedule(PollScheduleOptions options, Clock::time_point start)
    : options_(resolved(options)),
      interval_ms_(static_cast<double>(options_.fetch_interval.count())),
      credits_at_(start) {}

double PollSchedule::capacity() const {
  return std::max(
      1.0, options_.saved_seconds * 1000.0 / static_cast<double>(options_.fetch_interval.count()));
}

double PollSchedule::credits(Clock::time_point now) const {
  const double earned = std::chrono::duration<double, std::milli>(now - credits_at_).count() /
                        static_cast<double>(options_.fetch_interval.count());
  return std::min(capacity(), credits_ + std::max(0.0, earned));
}

void PollSchedule::timed_read(Clock::time_point now) {
  credits_ = credits(now) - 1;
  credits_at_ = now;
}

void PollSchedule::result(Clock::time_point now, bool activity) {
  const auto min = static_cast<double>(options_.min_interval.count());
  const auto max = static_cast<double>(options_.max_interval.count());
  if (activity) last_activity_ = now;
  if (activity || now - last_activity_ < options_.quick_for) {
    interval_ms_ = min;
    return;
  }
  // Credits past what the budget keeps are lost: with the store full, a quiet site is read as
  // often as the fixed poll reads it (the first event of a burst waits no longer), and the
  // emptier the store, the closer the ceiling comes to max_interval, saving for bursts.
  const double fetch = std::min(static_cast<double>(options_.fetch_interval.count()), max);
  const double ceiling = std::max(min, max - (max - fetch) * credits(now) / capacity());
  interval_ms_ = std::clamp(interval_ms_ * options_.growth, min, ceiling);
}

milliseconds PollSchedule::interval() const {
  return milliseconds(static_cast<long long>(interval_ms_));
}

milliseconds PollSchedule::pause(Clock::time_point now) const {
  if (!options_.adaptive) return options_.fetch_interval;
  // Wait the interval, or until a credit is there, whichever is later.
  const double fetch = static_cast<double>(options_.fetch_interval.count());
  const double short_of_credit = 1.0 - credits(now) - interval_ms_ / fetch;
  const double wait = interval_ms_ + std::max(0.0, short_of_credit) * fetch;
  return milliseconds(static_cast<long long>(wait + 0.999));
}

}  // namespace sgeventd::source
