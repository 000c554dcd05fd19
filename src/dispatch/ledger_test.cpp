// The ledger's rules one at a time, with the state operations each one emits. The histories
// that combine them are in ledger_property_test.cpp.
#include "dispatch/ledger.h"

#include <gtest/gtest.h>

#include <variant>

namespace sgeventd::dispatch {
namespace {

using namespace std::chrono_literals;
using state::StateBatch;
using state::WallTime;

const WallTime kNow{std::chrono::floor<std::chrono::milliseconds>(
    std::chrono::sys_days{std::chrono::year{2026} / 12 / 1}.time_since_epoch())};

PluginLedger make(std::int64_t cursor, std::vector<state::Gap> gaps = {}) {
  PluginStart start;
  start.cursor = cursor;
  start.gaps = std::move(gaps);
  start.own_state = true;
  return PluginLedger({"/p/a.py", "a"}, start, LedgerSettings{60s, 100});
}

template <class Op>
std::vector<Op> ops_of(const StateBatch& b) {
  std::vector<Op> out;
  for (const auto& op : b.operations()) {
    if (const Op* o = std::get_if<Op>(&op)) out.push_back(*o);
  }
  return out;
}

TEST(Ledger, SkippedIdsBecomeGapsInMemoryAndInTheState) {
  auto l = make(10);
  StateBatch ops;
  EXPECT_EQ(l.offer(11, true, kNow, ops), Offer::kDeliver);
  EXPECT_EQ(l.offer(14, false, kNow, ops), Offer::kNothing);
  const auto added = ops_of<StateBatch::AddGap>(ops);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].gap.first_id, 12);
  EXPECT_EQ(added[0].gap.last_id, 13);
  EXPECT_EQ(added[0].gap.expiry, kNow + 60s);
  EXPECT_EQ(l.gap_ids(), 2);
  EXPECT_EQ(l.cursor(), 10);  // 11 is in flight
  l.resolve(11, false, ops);
  EXPECT_EQ(l.cursor(), 14);
  EXPECT_EQ(l.cursor_to_commit(), 14);
  l.committed(14);
  EXPECT_FALSE(l.cursor_to_commit());
}

TEST(Ledger, AHiddenIdIsNoGap) {
  auto l = make(10);
  StateBatch ops;
  l.pass_over(11, kNow, ops);
  l.pass_over(12, kNow, ops);
  EXPECT_EQ(l.offer(13, true, kNow, ops), Offer::kDeliver);
  EXPECT_TRUE(ops_of<StateBatch::AddGap>(ops).empty());
  EXPECT_EQ(l.cursor(), 12);
}

TEST(Ledger, ALateEventKeepsItsGapInTheStateUntilItIsDone) {
  auto l = make(10);
  StateBatch ops;
  l.offer(12, false, kNow, ops);
  ops.clear();
  EXPECT_EQ(l.offer_late(11, true, ops), Offer::kDeliver);
  EXPECT_EQ(l.gap_ids(), 0);
  EXPECT_TRUE(ops.empty());                                 // a crash now finds it again
  EXPECT_EQ(l.offer_late(11, true, ops), Offer::kNothing);  // not missing any more
  l.resolve(11, true, ops);
  const auto removed = ops_of<StateBatch::RemoveGapIds>(ops);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].first_id, 11);
}

TEST(Ledger, ALateEventNobodyWantsSettlesItsGapAtOnce) {
  auto l = make(10);
  StateBatch ops;
  l.offer(12, false, kNow, ops);
  ops.clear();
  EXPECT_EQ(l.offer_late(11, false, ops), Offer::kNothing);
  EXPECT_EQ(ops_of<StateBatch::RemoveGapIds>(ops).size(), 1u);
}

// Found by the property test: a shed queue read again while a late event was on its way took
// the late event as new and sent it twice, and its late entry never resolved.
TEST(Ledger, AnIdReadAgainWhileOnItsWayAsALateEventIsNotSentTwice) {
  auto l = make(10);
  StateBatch ops;
  EXPECT_EQ(l.offer(11, true, kNow, ops), Offer::kDeliver);  // queued, not sent
  EXPECT_EQ(l.offer(13, false, kNow, ops), Offer::kNothing);
  EXPECT_EQ(l.offer_late(12, true, ops), Offer::kDeliver);
  l.rewind(13, ops);  // the queue of new events is dropped: back to the cursor
  EXPECT_EQ(l.head(), 10);
  EXPECT_EQ(l.offer(11, true, kNow, ops), Offer::kDeliver);
  EXPECT_EQ(l.offer(12, true, kNow, ops), Offer::kNothing);  // already on its way
  EXPECT_EQ(l.offer(13, false, kNow, ops), Offer::kNothing);
  l.resolve(11, false, ops);
  EXPECT_EQ(l.cursor(), 11);  // 12 holds the cursor now
  l.resolve(12, true, ops);
  EXPECT_EQ(l.cursor(), 13);
  EXPECT_EQ(l.in_flight(), 0u);
}

// Found by the property test: ids sent before a deactivation counted as sent after the
// reactivation, so a rewind then skipped them for good.
TEST(Ledger, ARewindAfterAReactivationGoesBackToTheCursor) {
  auto l = make(10);
  StateBatch ops;
  for (std::int64_t id = 11; id <= 13; ++id) {
    l.offer(id, true, kNow, ops);
    l.sent(id);
  }
  l.deactivate("stopOnError", kNow, ops);
  EXPECT_EQ(l.reactivate(kNow, ops), 10);
  for (std::int64_t id = 11; id <= 13; ++id)
    EXPECT_EQ(l.offer(id, true, kNow, ops), Offer::kDeliver);
  l.rewind(13, ops);  // none of them was sent again
  EXPECT_EQ(l.head(), 10);
  EXPECT_EQ(l.offer(11, true, kNow, ops), Offer::kDeliver);
}

TEST(Ledger, ADeactivatedPluginTakesNothingAndItsGapsWaitForIt) {
  auto l = make(10);
  StateBatch ops;
  l.offer(13, false, kNow, ops);
  EXPECT_TRUE(l.deactivate("callback failed", kNow, ops));
  EXPECT_FALSE(l.deactivate("again", kNow, ops));
  const auto status = ops_of<StateBatch::SetStatus>(ops);
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].status.activity, state::Activity::kDeactivated);
  EXPECT_EQ(l.offer(14, true, kNow, ops), Offer::kNothing);
  EXPECT_EQ(l.offer_late(11, true, ops), Offer::kNothing);
  l.expire(kNow + 1h, ops);
  EXPECT_EQ(l.gap_ids(), 2);  // waited for while it is away
  ops.clear();
  EXPECT_EQ(l.reactivate(kNow + 1h, ops), 13);
  // Back, it waits for them from now, in the state too.
  const auto added = ops_of<StateBatch::AddGap>(ops);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].gap.first_seen, kNow + 1h);
  l.expire(kNow + 1h + 30s, ops);
  EXPECT_EQ(l.gap_ids(), 2);
  l.expire(kNow + 1h + 61s, ops);
  EXPECT_EQ(l.gap_ids(), 0);
}

TEST(Ledger, ADisabledPluginIsOffTheFeedUntilEnabledAndStartsDisabled) {
  auto l = make(10);
  StateBatch ops;
  EXPECT_TRUE(l.disable("disabled by an operator", kNow, ops));
  EXPECT_FALSE(l.disable("again", kNow, ops));
  EXPECT_TRUE(l.deactivated());
  EXPECT_TRUE(l.disabled());
  const auto status = ops_of<StateBatch::SetStatus>(ops);
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].status.activity, state::Activity::kDisabled);
  EXPECT_EQ(l.offer(11, true, kNow, ops), Offer::kNothing);
  EXPECT_EQ(l.reactivate(kNow, ops), 10) << "it resumes after its cursor";
  EXPECT_FALSE(l.disabled());
  EXPECT_EQ(l.offer(11, true, kNow, ops), Offer::kDeliver);

  // A deactivated plugin can be disabled too; and a start from a disabled state stays off.
  auto d = make(10);
  EXPECT_TRUE(d.deactivate("callback failed", kNow, ops));
  EXPECT_TRUE(d.disable("disabled by an operator", kNow, ops));
  PluginStart start;
  start.cursor = 30;
  start.disabled = true;
  start.disabled_reason = "maintenance";
  PluginLedger off({"/p/b.py", "b"}, start, LedgerSettings{60s, 100});
  EXPECT_TRUE(off.disabled());
  EXPECT_EQ(off.deactivation_reason(), "maintenance");
  EXPECT_EQ(off.offer(31, true, kNow, ops), Offer::kNothing);
}

TEST(Ledger, ARejoinDropsTheGapsItWillReadAgainAndReturnsTheOthers) {
  auto l = make(10, {state::Gap{5, 6, kNow, kNow + 60s}});
  StateBatch ops;
  l.offer(13, false, kNow, ops);  // gap 11-12
  const auto look_for = l.rejoin(10, 13, {}, ops);
  ASSERT_EQ(look_for.size(), 1u);
  EXPECT_EQ(look_for[0].first, 5);
  const auto removed = ops_of<StateBatch::RemoveGapIds>(ops);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].first_id, 11);
  EXPECT_EQ(removed[0].last_id, 13);
}

TEST(Ledger, CompletionRecordsAnswerForTheEventsTheyName) {
  auto l = make(10, {state::Gap{5, 5, kNow, kNow + 60s}});
  EXPECT_EQ(l.take_recorded({3, 5, 12, 12, 14}), 3u);  // 3: below the cursor, no gap
  StateBatch ops;
  EXPECT_EQ(l.offer(11, true, kNow, ops), Offer::kDeliver);
  EXPECT_EQ(l.offer(12, true, kNow, ops), Offer::kDoneBefore);
  EXPECT_EQ(l.offer(13, false, kNow, ops), Offer::kNothing);
  EXPECT_EQ(l.offer_late(5, true, ops), Offer::kDoneBefore);
  EXPECT_EQ(ops_of<StateBatch::RemoveGapIds>(ops).size(), 1u);  // its gap is settled
  l.resolve(11, false, ops);
  EXPECT_EQ(l.cursor(), 13);
  EXPECT_EQ(l.not_resent(), 2);
}

TEST(Ledger, FailuresCountPerEventAndCallbackAndResetWhenResolved) {
  auto l = make(10);
  StateBatch ops;
  l.offer(11, true, kNow, ops);
  EXPECT_EQ(l.count_failure(11, 0, "boom"), 1);
  EXPECT_EQ(l.count_failure(11, 0, "boom"), 2);
  EXPECT_EQ(l.count_failure(11, 1, "bang"), 1);
  EXPECT_EQ(l.errors(), 3);
  EXPECT_EQ(l.last_error(), "bang");
  l.resolve(11, false, ops);
  EXPECT_EQ(l.count_failure(11, 0, "boom"), 1);
}

TEST(Ledger, ARegappedLateEventIsWaitedForAgainFromNow) {
  auto l = make(10);
  StateBatch ops;
  l.offer(12, false, kNow, ops);
  l.offer_late(11, true, ops);
  ops.clear();
  EXPECT_TRUE(l.regap(11, kNow + 10s, ops));
  EXPECT_EQ(l.in_flight(), 0u);
  const auto added = ops_of<StateBatch::AddGap>(ops);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].gap.first_seen, kNow + 10s);
  EXPECT_EQ(l.offer_late(11, true, ops), Offer::kDeliver);
}

TEST(Ledger, AParkedEventIsStoredForItsPlugin) {
  auto l = make(10);
  StateBatch ops;
  state::DeadLetter letter;
  letter.callback = "cb";
  letter.event_id = 11;
  l.park(letter, ops);
  const auto parked = ops_of<StateBatch::ParkDeadLetter>(ops);
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].letter.plugin, l.key());
  EXPECT_EQ(l.dead_letters(), 1);
}

}  // namespace
}  // namespace sgeventd::dispatch
