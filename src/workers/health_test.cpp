#include "workers/health.h"

#include <gtest/gtest.h>

#include "workers/manual_clock_test_support.h"

namespace sgeventd::workers {
namespace {

using std::chrono::milliseconds;

InFlight event(std::uint64_t seq, std::size_t callbacks, Clock::time_point started) {
  return InFlight{seq, InFlight::Kind::kEvent, callbacks, started, started};
}

TEST(HealthMonitor, NoLimitsNeverKills) {
  ManualClock clock;
  HealthMonitor m({}, clock);
  std::deque<InFlight> q{event(1, 1, clock.now())};
  clock.advance(milliseconds(1'000'000));
  EXPECT_FALSE(m.check(q, [] { return std::optional<std::uint64_t>(1ull << 40); }));
  EXPECT_FALSE(m.next_check(q));
}

TEST(HealthMonitor, CallbackTimeoutCountsFromWhenTheEventStarted) {
  ManualClock clock;
  HealthLimits limits;
  limits.callback_timeout = milliseconds(100);
  HealthMonitor m(limits, clock);
  std::deque<InFlight> q{event(1, 1, clock.now())};
  EXPECT_EQ(m.next_check(q), clock.now() + milliseconds(100));
  clock.advance(milliseconds(99));
  EXPECT_FALSE(m.check(q, {}));
  clock.advance(milliseconds(1));
  auto e = m.check(q, {});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, WorkerError::Kind::kTimeout);
  EXPECT_NE(e->message.find("seq 1"), std::string::npos);
}

TEST(HealthMonitor, AnEventsBudgetScalesWithItsCallbacks) {
  ManualClock clock;
  HealthLimits limits;
  limits.callback_timeout = milliseconds(100);
  HealthMonitor m(limits, clock);
  std::deque<InFlight> q{event(1, 3, clock.now())};
  clock.advance(milliseconds(299));
  EXPECT_FALSE(m.check(q, {}));
  clock.advance(milliseconds(1));
  EXPECT_TRUE(m.check(q, {}));
}

TEST(HealthMonitor, QueuedEventsDoNotCountTheirWaitingTime) {
  ManualClock clock;
  HealthLimits limits;
  limits.callback_timeout = milliseconds(100);
  HealthMonitor m(limits, clock);
  // Sent long ago but started only now (the one before it was just answered).
  InFlight f = event(2, 1, clock.now());
  f.sent_at = clock.now() - milliseconds(5000);
  std::deque<InFlight> q{f};
  EXPECT_FALSE(m.check(q, {}));
}

TEST(HealthMonitor, MemoryLimitIsCheckedAtMostEveryInterval) {
  ManualClock clock;
  HealthLimits limits;
  limits.memory_limit_bytes = 100u << 20;
  limits.memory_check_interval = milliseconds(1000);
  HealthMonitor m(limits, clock);
  std::uint64_t rss = 50u << 20;
  int reads = 0;
  auto reader = [&] {
    ++reads;
    return std::optional<std::uint64_t>(rss);
  };
  std::deque<InFlight> none;
  EXPECT_FALSE(m.check(none, reader));
  rss = 200u << 20;
  clock.advance(milliseconds(500));
  EXPECT_FALSE(m.check(none, reader));  // not yet time to look
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(m.next_check(none), clock.now() + milliseconds(500));
  clock.advance(milliseconds(500));
  auto e = m.check(none, reader);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, WorkerError::Kind::kMemoryLimit);
  EXPECT_NE(e->message.find("200 MiB"), std::string::npos);
}

TEST(HealthMonitor, AWorkerThatEndedHasNoRss) {
  ManualClock clock;
  HealthLimits limits;
  limits.memory_limit_bytes = 1;
  HealthMonitor m(limits, clock);
  EXPECT_FALSE(m.check({}, [] { return std::optional<std::uint64_t>(); }));
}

}  // namespace
}  // namespace sgeventd::workers
