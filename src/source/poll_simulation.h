// A working day of site activity and the poll loop's answer to it, on a simulated clock: how
// the adaptive schedule compares with the fixed poll, in reads and in how long each event
// waits to be read. The unit tests hold the schedule to its promises with it, and
// bench/poll_schedule_bench prints the numbers. It drives the real PollSchedule with the
// poll loop's rules (source/poller.cpp): a fixed poll reads again at once after a read that
// found events; an adaptive one leaves that to its schedule.
#pragma once

#include <cstdint>
#include <vector>

#include "source/poll_schedule.h"

namespace sgeventd::source {

struct DayPattern {
  std::uint32_t seed = 1;
  double hours = 9;
  int burst_min = 1, burst_max = 20;          // events per burst
  double quiet_min_s = 5, quiet_max_s = 600;  // between bursts
  bool log_uniform_quiet = false;             // more short pauses than long ones
  double spacing_max_s = 2;                   // between a burst's events: uniform [0, this]
};

// Creation times in seconds from the start of the day, ascending.
std::vector<double> working_day(const DayPattern& pattern);

struct PollSimulation {
  std::int64_t reads = 0;
  double minutes = 0;
  std::vector<double> waits_s;  // per event: creation to the read that returned it
  double reads_per_minute() const { return minutes > 0 ? static_cast<double>(reads) / minutes : 0; }
  double percentile(double p) const;  // of waits_s, p in [0, 1]
};

// `read_s`: how long a read takes (an event created during it is found by the next one).
PollSimulation simulate_polls(const std::vector<double>& events, PollScheduleOptions options,
                              double read_s = 0.05);

}  // namespace sgeventd::source
