// The source's promises on an in-memory log with a fake clock: every visible event handed on
// exactly once, late ids caught while their gap is open (measured from first sight, not from
// the events' own age), nothing re-read behind the cursor, errors leave the source unmoved.

#include "source/event_source.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>

#include "fake_transport.h"
#include "source/fake_event_log.h"

namespace sgeventd::source {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

std::vector<std::int64_t> ids(const PollOutcome& o) {
  std::vector<std::int64_t> out;
  for (const auto& e : o.events) out.push_back(e.id);
  return out;
}

struct Fixture {
  FakeClock clock;
  FakeEventLog log{clock};
  SourceOptions options;
  std::optional<EventSource> source;

  void start(std::int64_t after = 0) { source.emplace(log, clock, options, after); }
  PollOutcome poll() {
    auto r = source->poll();
    EXPECT_TRUE(r) << r.error().describe();
    return r ? std::move(*r) : PollOutcome{};
  }
};

TEST(EventSource, ContiguousIdsInOrderOnce) {
  Fixture f;
  for (int id = 1; id <= 5; ++id) f.log.add(id);
  f.start();
  EXPECT_EQ(ids(f.poll()), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(f.poll().events.empty());
  EXPECT_EQ(f.source->cursor(), 5);
  EXPECT_TRUE(f.source->gaps().empty());
}

TEST(EventSource, FullPagesAskForAnImmediatePoll) {
  Fixture f;
  f.options.batch_size = 2;
  for (int id = 1; id <= 3; ++id) f.log.add(id);
  f.start();
  auto first = f.poll();
  EXPECT_TRUE(first.page_full);
  auto second = f.poll();
  EXPECT_FALSE(second.page_full);
  EXPECT_EQ(ids(second), (std::vector<std::int64_t>{3}));
}

TEST(EventSource, IdCommittedTwentySecondsLateIsDeliveredOnceFlaggedLate) {
  Fixture f;
  f.log.add(1);
  f.log.add(2, f.clock.wall_now() + 20s);  // a long transaction
  f.log.add(3);
  f.start();
  EXPECT_EQ(ids(f.poll()), (std::vector<std::int64_t>{1, 3}));
  EXPECT_TRUE(f.source->gaps().contains(2));
  std::vector<SourcedEvent> late;
  for (int i = 0; i < 30; ++i) {
    f.clock.advance(1s);
    auto o = f.poll();
    for (auto& e : o.events) late.push_back(e);
  }
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].id, 2);
  EXPECT_TRUE(late[0].late);
  EXPECT_TRUE(f.source->gaps().empty());
}

TEST(EventSource, LookAgainHandsOnAnEventBehindTheCursorOnceMore) {
  Fixture f;
  for (int id = 1; id <= 5; ++id) f.log.add(id);
  f.start();
  EXPECT_EQ(ids(f.poll()), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  // A deactivated plugin missed 2 and 3; nothing else is read again for it.
  f.source->look_again(GapRange{2, 3, f.clock.wall_now()});
  f.source->look_again(GapRange{9, 12, f.clock.wall_now()});  // above the cursor: ignored
  auto again = f.poll();
  EXPECT_EQ(ids(again), (std::vector<std::int64_t>{2, 3}));
  EXPECT_TRUE(again.events[0].late);
  EXPECT_TRUE(f.source->gaps().empty());
  f.clock.advance(2s);
  EXPECT_TRUE(f.poll().events.empty());
}

TEST(EventSource, GapFirstSeenLongAfterTheEventsIsStillHeld) {
  // The original measures a gap's age from the created_at of the event after it, so a daemon
  // ten minutes behind gives gaps up at once. Here the clock starts when the gap is seen.
  Fixture f;
  f.log.add(1);
  f.log.add(3);
  f.clock.advance(10min);  // the daemon was down; 1 and 3 are ten minutes old
  f.start();
  f.log.add(2, f.clock.wall_now() + 4min);
  EXPECT_EQ(ids(f.poll()), (std::vector<std::int64_t>{1, 3}));
  std::vector<std::int64_t> seen;
  for (int i = 0; i < 250; ++i) {
    f.clock.advance(1s);
    auto o = f.poll();
    EXPECT_TRUE(o.expired.empty());
    for (auto id : ids(o)) seen.push_back(id);
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{2}));
}

TEST(EventSource, ExpiredGapsAreReportedOnceAndNeverDelivered) {
  Fixture f;
  f.log.add(1);
  f.log.add(3);
  f.start();
  f.poll();
  f.clock.advance(5min);
  auto o = f.poll();
  ASSERT_EQ(o.expired.size(), 1u);
  EXPECT_EQ(o.expired[0].first, 2);
  f.log.add(2);  // far too late: the site committed it after the backlog timeout
  f.clock.advance(1s);
  EXPECT_TRUE(f.poll().events.empty());
  EXPECT_TRUE(f.poll().expired.empty());
}

TEST(EventSource, ALastLookJustBeforeExpiry) {
  Fixture f;
  f.options.recheck_interval = 1h;  // would never recheck on its own within the backlog
  f.log.add(1);
  f.log.add(3);
  f.start();
  f.poll();  // gap 2 seen, first recheck scheduled in an hour
  f.poll();  // the first recheck ran here (no previous one) and found nothing
  f.log.add(2, f.clock.wall_now() + 4min);
  f.clock.advance(5min);
  auto o = f.poll();
  EXPECT_EQ(ids(o), (std::vector<std::int64_t>{2}));
  EXPECT_TRUE(o.expired.empty());
}

TEST(EventSource, NeverReReadsTheWindowBehindTheCursor) {
  // shotgunEvents re-reads everything above the oldest gap every poll (its issue #32).
  Fixture f;
  for (int id = 1; id <= 400; ++id) {
    if (id != 5) f.log.add(id);
  }
  f.start();
  f.poll();
  const auto rows_before = f.log.rows_returned;
  for (int i = 0; i < 100; ++i) {
    f.clock.advance(1s);
    auto o = f.poll();
    EXPECT_LE(o.requests, 2);
  }
  EXPECT_EQ(f.log.rows_returned, rows_before);  // the empty rechecks return nothing
  EXPECT_EQ(f.log.read_after_calls, 101);
  EXPECT_LE(f.log.read_matching_calls, 101);
}

TEST(EventSource, ErrorsLeaveTheSourceUnmoved) {
  Fixture f;
  f.log.add(1);
  f.log.add(3);
  f.start();
  f.log.fail_next(1);
  EXPECT_FALSE(f.source->poll());
  EXPECT_EQ(f.source->cursor(), 0);
  EXPECT_EQ(ids(f.poll()), (std::vector<std::int64_t>{1, 3}));
  f.log.add(2);
  f.clock.advance(2s);
  f.log.fail_next(1);  // the recheck fails
  EXPECT_FALSE(f.source->poll());
  EXPECT_TRUE(f.source->gaps().contains(2));
  EXPECT_EQ(ids(f.poll()), (std::vector<std::int64_t>{2}));
}

TEST(EventSource, RestoredGapsAreStillWatched) {
  Fixture f;
  GapSet restored;
  restored.add(7, 7, f.clock.wall_now());
  f.log.add(8);
  f.log.add(7);
  f.source.emplace(f.log, f.clock, f.options, 8, restored);
  EXPECT_EQ(ids(f.poll()), (std::vector<std::int64_t>{7}));
}

// Property: whatever the order ids become visible in, with every delay shorter than the
// backlog timeout and any polling rhythm, every id is handed on exactly once.
RC_GTEST_PROP(EventSourceProperty, EveryIdExactlyOnce, ()) {
  FakeClock clock;
  FakeEventLog log(clock);
  SourceOptions options;
  options.batch_size = *rc::gen::inRange(1, 50);
  options.backlog_timeout = 5min;
  const int count = *rc::gen::inRange(1, 300);
  const auto delays = *rc::gen::container<std::vector<int>>(
      static_cast<std::size_t>(count), rc::gen::inRange(0, 240));  // seconds, < 5 min
  for (int id = 1; id <= count; ++id) {
    log.add(id, clock.wall_now() + std::chrono::seconds(delays[static_cast<std::size_t>(id - 1)]));
  }
  EventSource source(log, clock, options, 0);
  std::multiset<std::int64_t> delivered;
  for (int step = 0; step < 2000 && static_cast<int>(delivered.size()) < count; ++step) {
    auto o = source.poll();
    RC_ASSERT(o.has_value());
    RC_ASSERT(o->expired.empty());
    for (const auto& e : o->events) delivered.insert(e.id);
    if (!o->page_full) clock.advance(std::chrono::milliseconds(*rc::gen::inRange(100, 6000)));
  }
  RC_ASSERT(static_cast<int>(delivered.size()) == count);
  for (int id = 1; id <= count; ++id) RC_ASSERT(delivered.count(id) == 1u);
}

// Server-side filters: the event reads leave most ids out; only real holes become gaps.
TEST(EventSource, IdsTheFiltersHideAreNotGaps) {
  Fixture f;
  for (int id = 1; id <= 100; ++id) {
    if (id != 55) f.log.add(id);  // 55: a transaction still open
  }
  f.log.hide([](std::int64_t id) { return id % 10 != 0; });  // 1 in 10 matches
  f.start();
  auto first = f.poll();
  EXPECT_EQ(ids(first), (std::vector<std::int64_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
  EXPECT_EQ(first.hidden.size(), 89u);
  EXPECT_EQ(f.source->cursor(), 100);
  ASSERT_EQ(f.source->gaps().ranges().size(), 1u) << "only the open transaction";
  EXPECT_EQ(f.source->gaps().ranges()[0].first, 55);
  EXPECT_EQ(f.source->gaps().ranges()[0].last, 55);
  EXPECT_EQ(first.requests, 2);
  // The hole fills with an event the filters hide: the gap closes, nothing is handed on.
  f.log.add(55);
  f.clock.advance(2s);
  auto second = f.poll();
  EXPECT_TRUE(second.events.empty());
  EXPECT_EQ(second.settled, (std::vector<std::int64_t>{55}));
  EXPECT_TRUE(f.source->gaps().empty());
  f.clock.advance(10min);
  EXPECT_TRUE(f.poll().expired.empty()) << "nothing is given up";
}

TEST(EventSource, AFilteredPollAtRestIsOneSmallRead) {
  Fixture f;
  for (int id = 1; id <= 3; ++id) f.log.add(id);
  f.log.hide([](std::int64_t) { return true; });
  f.start();
  f.poll();
  const int before = f.log.read_after_calls;
  auto idle = f.poll();
  EXPECT_EQ(idle.requests, 1);
  EXPECT_EQ(f.log.read_after_calls, before) << "no event read when no id is new";
}

TEST(EventSource, MoreMatchesThanAPageCoverOnlyUpToTheLastOne) {
  Fixture f;
  f.options.batch_size = 3;
  for (int id = 1; id <= 6; ++id) f.log.add(id);
  f.log.hide([](std::int64_t id) { return id == 2; });
  f.start();
  // Ids 1-3 read; events 1 and 3 (2 hidden) fit the page.
  auto first = f.poll();
  EXPECT_EQ(ids(first), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(first.hidden, (std::vector<std::int64_t>{2}));
  EXPECT_TRUE(first.page_full);
  auto second = f.poll();
  EXPECT_EQ(ids(second), (std::vector<std::int64_t>{4, 5, 6}));
  EXPECT_TRUE(f.source->gaps().empty());
}

RC_GTEST_PROP(EventSourceProperty, FilteredOrNotTheSameIdsAreGaps, ()) {
  // Whatever the filters hide, the gaps are the ids that do not exist, as without filters.
  const auto present = *rc::gen::container<std::vector<bool>>(60, rc::gen::arbitrary<bool>());
  const auto hidden = *rc::gen::container<std::vector<bool>>(60, rc::gen::arbitrary<bool>());
  const int batch = *rc::gen::inRange(1, 20);
  Fixture plain, filtered;
  for (auto* f : {&plain, &filtered}) {
    f->options.batch_size = batch;
    for (int id = 1; id <= 60; ++id) {
      if (present[id - 1]) f->log.add(id);
    }
  }
  filtered.log.hide([hidden](std::int64_t id) { return hidden[id - 1]; });
  plain.start();
  filtered.start();
  std::vector<std::int64_t> got;
  for (int i = 0; i < 200 && filtered.source->cursor() < 60; ++i) {
    for (const auto& e : filtered.poll().events) got.push_back(e.id);
  }
  for (int i = 0; i < 200 && plain.source->cursor() < 60; ++i) plain.poll();
  std::vector<std::int64_t> expected;
  std::int64_t last = 0;
  for (int id = 1; id <= 60; ++id) {
    if (present[id - 1]) last = id;
    if (present[id - 1] && !hidden[id - 1]) expected.push_back(id);
  }
  RC_ASSERT(got == expected);
  RC_ASSERT(filtered.source->cursor() == last);
  RC_ASSERT(filtered.source->gaps().ranges() == plain.source->gaps().ranges());
}

}  // namespace
}  // namespace sgeventd::source
