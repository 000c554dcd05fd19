#include "source/poll_simulation.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace sgeventd::source {

std::vector<double> working_day(const DayPattern& p) {
  std::mt19937 random(p.seed);
  std::uniform_int_distribution<int> burst(p.burst_min, p.burst_max);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double end = p.hours * 3600;
  std::vector<double> events;
  double t = 0;
  for (;;) {
    const double u = unit(random);
    t += p.log_uniform_quiet ? p.quiet_min_s * std::pow(p.quiet_max_s / p.quiet_min_s, u)
                             : p.quiet_min_s + (p.quiet_max_s - p.quiet_min_s) * u;
    for (int n = burst(random); n > 0; --n) {
      if (t >= end) return events;
      events.push_back(t);
      t += p.spacing_max_s * unit(random);
    }
  }
}

double PollSimulation::percentile(double p) const {
  if (waits_s.empty()) return 0;
  std::vector<double> sorted = waits_s;
  std::sort(sorted.begin(), sorted.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

PollSimulation simulate_polls(const std::vector<double>& events, PollScheduleOptions options,
                              double read_s) {
  using Clock = PollSchedule::Clock;
  const Clock::time_point origin{};
  const auto at = [&](double s) {
    return origin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  PollSchedule schedule(options, origin);
  PollSimulation out;
  const double end = events.empty() ? 0 : events.back() + 60;
  std::size_t next = 0;  // the first event not read yet
  // A read started at `t` returns what was created before it started.
  const auto read = [&](double t) {
    ++out.reads;
    std::size_t found = 0;
    while (next < events.size() && events[next] < t) {
      out.waits_s.push_back(t + read_s - events[next]);
      ++next;
      ++found;
    }
    return found > 0;
  };
  double t = 0;
  while (t < end) {
    schedule.timed_read(at(t));
    const bool activity = read(t);
    schedule.result(at(t), activity);
    t += read_s;
    if (activity && !schedule.adaptive()) {
      read(t);  // the fixed poll reads again at once after events
      t += read_s;
    }
    t += std::chrono::duration<double>(schedule.pause(at(t))).count();
  }
  out.minutes = t / 60;
  return out;
}

}  // namespace sgeventd::source
