#include "workers/restart_policy.h"

#include <gtest/gtest.h>

#include <set>

#include "workers/manual_clock_test_support.h"

namespace sgeventd::workers {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RestartPolicy policy() {
  RestartPolicy p;
  p.initial_backoff = milliseconds(500);
  p.max_backoff = seconds(10);
  p.multiplier = 2.0;
  p.jitter = 0.0;
  p.stable_after = seconds(60);
  p.crash_loop_failures = 5;
  p.crash_loop_window = seconds(120);
  return p;
}

TEST(RestartTracker, BackoffDoublesUpToTheCap) {
  ManualClock clock;
  RestartPolicy p = policy();
  p.crash_loop_failures = 0;  // no quarantine in this test
  RestartTracker t(p, clock);
  const milliseconds expected[] = {milliseconds(500), seconds(1),  seconds(2), seconds(4),
                                   seconds(8),        seconds(10), seconds(10)};
  for (auto want : expected) {
    t.started();
    clock.advance(milliseconds(10));
    auto d = t.failed();
    ASSERT_FALSE(d.quarantine);
    EXPECT_EQ(d.delay, want);
    EXPECT_EQ(d.restart_at, clock.now() + want);
    clock.advance(d.delay);
  }
  EXPECT_EQ(t.base_delay(1000), seconds(10));  // no overflow for huge counts
}

TEST(RestartTracker, JitterStaysWithinItsBand) {
  ManualClock clock;
  RestartPolicy p = policy();
  p.jitter = 0.25;
  double draw = 0.0;
  RestartTracker t(p, clock, [&] { return draw; });
  t.started();
  draw = 0.0;  // lowest factor: 0.75
  EXPECT_EQ(t.failed().delay, milliseconds(375));
  t.reset();
  t.started();
  draw = 0.999999;  // highest: just under 1.25
  EXPECT_EQ(t.failed().delay, milliseconds(624));
  t.reset();
  t.started();
  draw = 0.5;
  EXPECT_EQ(t.failed().delay, milliseconds(500));
}

TEST(RestartTracker, DefaultJitterSpreadsWorkers) {
  ManualClock clock;
  RestartPolicy p = policy();
  p.jitter = 0.5;
  p.crash_loop_failures = 0;
  std::set<std::int64_t> delays;
  for (int i = 0; i < 20; ++i) {
    RestartTracker t(p, clock);
    t.started();
    const auto d = t.failed().delay;
    EXPECT_GE(d, milliseconds(250));
    EXPECT_LE(d, milliseconds(750));
    delays.insert(d.count());
  }
  EXPECT_GT(delays.size(), 1u);
}

TEST(RestartTracker, AStableRunForgivesEarlierFailures) {
  ManualClock clock;
  RestartTracker t(policy(), clock);
  t.started();
  EXPECT_EQ(t.failed().delay, milliseconds(500));
  t.started();
  EXPECT_EQ(t.failed().delay, seconds(1));
  t.started();
  clock.advance(seconds(61));  // ran long enough: counts as healthy
  EXPECT_EQ(t.failed().delay, milliseconds(500));
  EXPECT_EQ(t.consecutive_failures(), 1);
}

TEST(RestartTracker, CrashLoopQuarantinesUntilReset) {
  ManualClock clock;
  RestartTracker t(policy(), clock);
  for (int i = 0; i < 4; ++i) {
    t.started();
    clock.advance(seconds(1));
    ASSERT_FALSE(t.failed().quarantine) << i;
  }
  t.started();
  EXPECT_TRUE(t.failed().quarantine);
  EXPECT_TRUE(t.quarantined());
  t.reset();  // the plugin file changed
  EXPECT_FALSE(t.quarantined());
  t.started();
  auto d = t.failed();
  EXPECT_FALSE(d.quarantine);
  EXPECT_EQ(d.delay, milliseconds(500));
}

TEST(RestartTracker, FailuresSpreadBeyondTheWindowAreNotALoop) {
  ManualClock clock;
  RestartTracker t(policy(), clock);
  for (int i = 0; i < 20; ++i) {
    t.started();
    clock.advance(seconds(40));  // 3 failures per 120 s window at most
    ASSERT_FALSE(t.failed().quarantine) << i;
  }
}

TEST(RestartTracker, ZeroDisablesQuarantine) {
  ManualClock clock;
  RestartPolicy p = policy();
  p.crash_loop_failures = 0;
  RestartTracker t(p, clock);
  for (int i = 0; i < 50; ++i) {
    t.started();
    ASSERT_FALSE(t.failed().quarantine);
  }
}

}  // namespace
}  // namespace sgeventd::workers
