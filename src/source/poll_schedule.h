// When the poll thread reads the event log next, when nothing made it read at once (a full
// page, a webhook, a request): docs/configuration.md, "Adaptive polling".
//
// Fixed: every fetch_interval, as the original.
// Adaptive: the interval follows the site's activity. Events come in bursts, so for quick_for
// after a read that found events the reads come min_interval apart; then each read that finds
// nothing doubles the interval (`growth`), up to a ceiling that is max_interval while the
// budget below is empty and comes down to fetch_interval as it fills (a full budget saves
// nothing more: a long quiet site is read as often as the fixed poll reads it). A budget keeps the
// reads no more frequent than the fixed poll's: a credit is earned every fetch_interval (at most
// `saved_seconds` worth are kept) and each timed read spends one, so the quick reads after
// activity are paid for by the slow ones of a quiet site. Whatever the site does, timed
// reads never outnumber 1 + elapsed / fetch_interval, and no read waits longer than
// max(max_interval, fetch_interval).
#pragma once

#include <chrono>

namespace sgeventd::source {

struct PollScheduleOptions {
  bool adaptive = false;
  std::chrono::milliseconds fetch_interval{5000};  // adaptive: the average read budget
  std::chrono::milliseconds min_interval{0};       // 0: fetch_interval / 10
  std::chrono::milliseconds max_interval{0};       // 0: fetch_interval * 2
  // Tuned with bench/poll_schedule_bench on simulated working days (docs/configuration.md):
  double growth = 2;  // the stretch per read that found nothing...
  std::chrono::milliseconds quick_for{
      0};                      // ...once this long passed since activity; 0: 0.4 x fetch
  double saved_seconds = 300;  // credits kept, in seconds of fixed polls
};

class PollSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PollSchedule(PollScheduleOptions options, Clock::time_point start = Clock::now());

  // A read that the schedule timed starts at `now`: it spends a credit.
  void timed_read(Clock::time_point now);
  // What the read that started at `now` found: events (or ids a server-side filter hid), or
  // nothing.
  void result(Clock::time_point now, bool activity);
  // How long from `now` until the next timed read.
  std::chrono::milliseconds pause(Clock::time_point now) const;

  bool adaptive() const { return options_.adaptive; }
  std::chrono::milliseconds interval() const;  // what follows the last result, before the budget
  double credits(Clock::time_point now) const;
  double capacity() const;  // the most credits kept

 private:
  PollScheduleOptions options_;
  double interval_ms_;
  Clock::time_point last_activity_{};
  double credits_ = 1;  // the first read is the fixed poll's first read too
  Clock::time_point credits_at_;
};

// The options with their defaults filled in (min and max from fetch_interval), min ≤ max.
PollScheduleOptions resolved(PollScheduleOptions options);

}  // namespace sgeventd::source
