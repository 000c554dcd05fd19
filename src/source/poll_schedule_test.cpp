#include "source/poll_schedule.h"

#include <gtest/gtest.h>

#include "source/poll_simulation.h"

namespace sgeventd::source {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = PollSchedule::Clock;

PollScheduleOptions adaptive(milliseconds fetch = seconds(5)) {
  PollScheduleOptions o;
  o.adaptive = true;
  o.fetch_interval = fetch;
  return o;
}

TEST(PollSchedule, FixedWaitsFetchIntervalWhateverHappens) {
  PollScheduleOptions o;
  o.fetch_interval = seconds(5);
  const Clock::time_point t0{};
  PollSchedule s(o, t0);
  for (bool activity : {true, false, false, true}) {
    s.timed_read(t0);
    s.result(t0, activity);
    EXPECT_EQ(s.pause(t0), seconds(5));
  }
}

TEST(PollSchedule, DefaultsFollowFetchInterval) {
  const auto o = resolved(adaptive(seconds(5)));
  EXPECT_EQ(o.min_interval, milliseconds(500));
  EXPECT_EQ(o.max_interval, seconds(10));
  EXPECT_EQ(o.quick_for, seconds(2));
  PollScheduleOptions odd = adaptive(seconds(5));
  odd.min_interval = seconds(20);  // above the maximum: the maximum wins
  EXPECT_EQ(resolved(odd).max_interval, seconds(20));
}

TEST(PollSchedule, QuickAfterActivityThenLonger) {
  Clock::time_point t{};
  PollSchedule s(adaptive(), t);
  t += seconds(150);  // a quiet site saved half the store: 30 credits of 60
  s.timed_read(t);
  s.result(t, true);
  EXPECT_EQ(s.pause(t), milliseconds(500));
  t += milliseconds(1900);  // still within quick_for: quick
  s.timed_read(t);
  s.result(t, false);
  EXPECT_EQ(s.pause(t), milliseconds(500));
  // Then doubling, up to a ceiling between max_interval (an empty store) and fetch_interval (a
  // full one): about 7.5 s, half full.
  for (int i = 0; i < 6; ++i) {
    t += s.pause(t);
    s.timed_read(t);
    s.result(t, false);
  }
  EXPECT_GT(s.interval(), milliseconds(7'000));
  EXPECT_LT(s.interval(), milliseconds(8'000));
}

TEST(PollSchedule, AQuietSiteWithAnEmptyStoreIsReadAtTheMaximumAndAFullOneAtTheFixedRate) {
  Clock::time_point t{};
  PollSchedule s(adaptive(), t);
  for (int i = 0; i < 6; ++i) {
    s.timed_read(t);
    s.result(t, false);
    t += s.pause(t);
  }
  EXPECT_GT(s.interval(), milliseconds(9'000)) << "saving, nearly at max_interval";
  // A long quiet spell fills the store: nothing is saved past it, so the reads come as often
  // as the fixed poll's, and no more often.
  for (int i = 0; i < 200; ++i) {
    s.timed_read(t);
    s.result(t, false);
    t += s.pause(t);
  }
  EXPECT_GE(s.credits(t), s.capacity() - 2);
  EXPECT_GE(s.interval(), milliseconds(5'000));
  EXPECT_LT(s.interval(), milliseconds(5'200));
}

TEST(PollSchedule, TheBudgetSlowsAFastSiteToTheFixedRate) {
  Clock::time_point t{};
  PollSchedule s(adaptive(), t);
  // Events at every read, from the start: no credits saved, so after the first free read the
  // schedule cannot do better than one read per fetch_interval.
  std::int64_t reads = 0;
  while (t < Clock::time_point{} + std::chrono::hours(1)) {
    s.timed_read(t);
    ++reads;
    s.result(t, true);
    t += s.pause(t);
  }
  EXPECT_LE(reads, 1 + 3600 / 5 + 1);
  EXPECT_GE(reads, 3600 / 5 - 1);
}

TEST(PollSchedule, NoWaitLongerThanTheMaximumOrFetchInterval) {
  Clock::time_point t{};
  PollSchedule s(adaptive(), t);
  for (int i = 0; i < 1000; ++i) {
    s.timed_read(t);
    s.result(t, i % 7 == 0);
    const auto p = s.pause(t);
    EXPECT_LE(p, seconds(10) + milliseconds(1));
    t += p;
  }
}

// The numbers asked of adaptive polling, on seeded working days of bursts of 1-20 events 0-2 s
// apart, 5 s to 10 min of quiet between them: at most the fixed poll's reads and 12 a minute,
// p50 at most a third of the fixed poll's, p95 at most twice its.
TEST(PollSimulationDay, AdaptiveBeatsTheFixedPollWithNoMoreReads) {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    DayPattern day;
    day.seed = seed;
    const auto events = working_day(day);
    ASSERT_GT(events.size(), 500u);
    PollScheduleOptions fixed;
    fixed.fetch_interval = seconds(5);
    const auto f = simulate_polls(events, fixed);
    const auto a = simulate_polls(events, adaptive());
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    EXPECT_LE(a.reads, f.reads);
    EXPECT_LE(a.reads, 1 + a.minutes * 12);  // a fixed 5 s poll's timed reads
    EXPECT_LE(a.percentile(0.5), f.percentile(0.5) / 3);
    EXPECT_LE(a.percentile(0.95), f.percentile(0.95) * 2);
    EXPECT_EQ(a.waits_s.size(), events.size());
  }
}

// More short pauses than long ones (log-uniform quiet): the budget binds, so the schedule
// gains less, but it still never reads more, and the tail stays within twice the fixed one's.
TEST(PollSimulationDay, ABusierDayStillKeepsTheBudget) {
  DayPattern day;
  day.log_uniform_quiet = true;
  const auto events = working_day(day);
  PollScheduleOptions fixed;
  fixed.fetch_interval = seconds(5);
  const auto f = simulate_polls(events, fixed);
  const auto a = simulate_polls(events, adaptive());
  EXPECT_LE(a.reads, f.reads);
  EXPECT_LE(a.reads, 1 + a.minutes * 12);
  EXPECT_LT(a.percentile(0.5), f.percentile(0.5));
  EXPECT_LE(a.percentile(0.95), f.percentile(0.95) * 2);
}

// Activity at every read all day: the schedule can only match the fixed poll's rate.
TEST(PollSimulationDay, ABusySiteGetsNoMoreReadsThanTheFixedPoll) {
  std::vector<double> events;
  for (double t = 0; t < 9 * 3600; t += 0.3) events.push_back(t);
  const auto a = simulate_polls(events, adaptive());
  EXPECT_LE(a.reads, 1 + a.minutes * 12);
  EXPECT_LE(a.percentile(1.0), 5.0 + 0.1);
}

}  // namespace
}  // namespace sgeventd::source
