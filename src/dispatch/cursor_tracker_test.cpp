#include "dispatch/cursor_tracker.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "dispatch/failure_policy.h"

namespace sgeventd::dispatch {
namespace {

using namespace std::chrono_literals;

TEST(CursorTracker, NonMatchingEventsAdvanceOnlyBehindInFlightOnes) {
  CursorTracker c(100);
  c.observe(101, false);
  EXPECT_EQ(c.committed(), 101);
  c.observe(102, true);
  c.observe(103, false);
  c.observe(104, true);
  EXPECT_EQ(c.committed(), 101);  // 102 still in flight
  c.resolve(102);
  EXPECT_EQ(c.committed(), 103);
  c.resolve(104);
  EXPECT_EQ(c.committed(), 104);
  EXPECT_EQ(c.in_flight(), 0u);
}

TEST(CursorTracker, IdsAlreadySeenAreIgnored) {
  CursorTracker c(10);
  c.observe(9, true);
  c.observe(10, true);
  EXPECT_EQ(c.committed(), 10);
  EXPECT_EQ(c.in_flight(), 0u);
}

TEST(CursorTracker, LateEventsDoNotHoldTheCursor) {
  CursorTracker c(10);
  c.observe(12, true);
  c.observe_late(11);
  c.resolve(12);
  EXPECT_EQ(c.committed(), 12);
  EXPECT_TRUE(c.late_pending(11));
  c.resolve(11);
  EXPECT_FALSE(c.late_pending(11));
}

// Whatever order results come back in, the cursor never passes an unresolved event and ends
// at the head.
TEST(CursorTracker, RewindForgetsUnsentEventsButNeverGoesBelowItsStart) {
  CursorTracker t(100);
  t.observe(101, true);
  t.observe(102, true);
  t.observe(103, true);
  t.rewind(101);  // 102 and 103 were dropped from the queue: they will be read again
  EXPECT_EQ(t.head(), 101);
  EXPECT_EQ(t.in_flight(), 1u);
  t.observe(102, true);  // accepted again
  EXPECT_EQ(t.in_flight(), 2u);
  t.resolve(101);
  t.resolve(102);
  EXPECT_EQ(t.committed(), 102);

  CursorTracker ahead(500);  // started ahead of the feed: what it resolved before stays done
  ahead.rewind(300);
  EXPECT_EQ(ahead.head(), 500);
  ahead.observe(400, true);
  EXPECT_EQ(ahead.in_flight(), 0u);
}

// What the cursor passed was resolved: going back below it would take those ids as new (an
// event its completion records called done would be sent again).
TEST(CursorTracker, RewindNeverGoesBelowTheCommittedCursor) {
  CursorTracker t(100);
  t.observe(101, false);
  t.observe(102, false);
  t.rewind(100);  // nothing was sent after 100
  EXPECT_EQ(t.head(), 102);
  EXPECT_EQ(t.committed(), 102);
}

RC_GTEST_PROP(CursorTrackerProperty, NeverPassesAnUnresolvedEvent, ()) {
  const auto needs = *rc::gen::container<std::vector<bool>>(rc::gen::arbitrary<bool>());
  CursorTracker c(0);
  std::vector<std::int64_t> open;
  for (std::size_t i = 0; i < needs.size(); ++i) {
    const auto id = static_cast<std::int64_t>(i + 1);
    c.observe(id, needs[i]);
    if (needs[i]) open.push_back(id);
  }
  const auto order = *rc::gen::unique<std::vector<std::size_t>>(
      open.size(), rc::gen::inRange<std::size_t>(0, std::max<std::size_t>(open.size(), 1)));
  std::set<std::int64_t> unresolved(open.begin(), open.end());
  for (std::size_t k : order) {
    if (k >= open.size()) continue;
    c.resolve(open[k]);
    unresolved.erase(open[k]);
    if (!unresolved.empty()) RC_ASSERT(c.committed() < *unresolved.begin());
  }
  for (auto id : open) c.resolve(id);
  RC_ASSERT(c.committed() == static_cast<std::int64_t>(needs.size()));
}

TEST(FailurePolicy, CompatibleByDefault) {
  RetrySettings none;
  EXPECT_EQ(decide_after_failure(1, true, none).action, FailureDecision::Action::kDeactivate);
  EXPECT_EQ(decide_after_failure(1, false, none).action, FailureDecision::Action::kDeadLetter);
}

TEST(FailurePolicy, RetriesWithDoublingCappedBackoff) {
  RetrySettings s{3, 1000ms, 3000ms};
  EXPECT_EQ(decide_after_failure(1, true, s).delay, 1000ms);
  EXPECT_EQ(decide_after_failure(2, true, s).delay, 2000ms);
  EXPECT_EQ(decide_after_failure(3, true, s).delay, 3000ms);  // capped
  EXPECT_EQ(decide_after_failure(3, true, s).action, FailureDecision::Action::kRetry);
  EXPECT_EQ(decide_after_failure(4, true, s).action, FailureDecision::Action::kDeactivate);
  EXPECT_EQ(decide_after_failure(4, false, s).action, FailureDecision::Action::kDeadLetter);
  RetrySettings many{1000000, 1000ms, 600000ms};
  EXPECT_EQ(decide_after_failure(999999, false, many).delay, 600000ms);
}

}  // namespace
}  // namespace sgeventd::dispatch
