// The StateStore contract (DESIGN.md section 6): what every store must do, run against each of
// them (SQLite, PostgreSQL and the memory store). Store-specific
// behaviour (files, locks, reopening, import) is tested beside each store.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <memory>
#include <ostream>

#include "state/memory_state_store.h"
#include "state/pg_state_store.h"
#include "state/pg_test_support.h"
#include "state/sqlite_state_store.h"
#include "state/state_test_support.h"

namespace sgeventd::state {
namespace {

using testing::cursor_of;
using testing::kA;
using testing::kB;
using testing::kT0;

using namespace std::chrono_literals;

struct StoreKind {
  std::string name;
  // A new, empty store whose own clock says `now`.
  std::function<std::unique_ptr<StateStore>(testing::TempDir&, std::function<WallTime()> now)> make;
};

void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

class StateStoreContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  std::unique_ptr<StateStore> open(std::optional<WallTime> now = std::nullopt) {
    std::function<WallTime()> clock = wall_now;
    if (now) clock = [t = *now] { return t; };
    auto store = GetParam().make(dir_, clock);
    EXPECT_TRUE(store);
    return store;
  }
  testing::TempDir dir_;
};

std::vector<Gap> gaps_of(StateStore& store, const PluginKey& key) {
  auto p = store.plugin(key);
  EXPECT_TRUE(p && *p);
  return p && *p ? (*p)->gaps : std::vector<Gap>{};
}

TEST_P(StateStoreContract, AdvanceNeverMovesBackButSetDoes) {
  auto store = open();
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 10).advance_cursor(kA, 7)));
  EXPECT_EQ(cursor_of(*store, kA), 10);
  ASSERT_TRUE(store->commit(StateBatch().set_cursor(kA, 3)));
  EXPECT_EQ(cursor_of(*store, kA), 3);
  ASSERT_TRUE(store->commit(StateBatch().set_cursor(kA, std::nullopt)));
  EXPECT_EQ(cursor_of(*store, kA), std::nullopt);
}

TEST_P(StateStoreContract, NewPluginsAreActiveSinceTheirFirstMention) {
  auto store = open(kT0);
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 1)));
  auto p = store->plugin(kA);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->status, (PluginStatus{Activity::kActive, "", kT0}));
  auto missing = store->plugin(kB);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TEST_P(StateStoreContract, StatusChangesAreStored) {
  auto store = open();
  const PluginStatus off{Activity::kDeactivated, "stopOnError: ValueError in onTask", kT0};
  ASSERT_TRUE(store->commit(StateBatch().set_status(kA, off)));
  auto p = store->plugin(kA);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->status, off);
  EXPECT_EQ((*p)->cursor, std::nullopt);
  const PluginStatus disabled{Activity::kDisabled, "disabled by an operator", kT0 + 1min};
  ASSERT_TRUE(store->commit(StateBatch().set_status(kA, disabled)));
  p = store->plugin(kA);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->status, disabled);
}

TEST_P(StateStoreContract, PluginsAreListedByPathThenName) {
  auto store = open();
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kB, 2).advance_cursor(kA, 1).add_gap(
      kB, Gap{5, 6, kT0, kT0 + 5min})));
  auto all = store->plugins();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, kA);
  EXPECT_EQ((*all)[1].key, kB);
  EXPECT_TRUE((*all)[0].gaps.empty());
  EXPECT_EQ((*all)[1].gaps, (std::vector<Gap>{{5, 6, kT0, kT0 + 5min}}));
}

TEST_P(StateStoreContract, GapsKeepTheirFirstSightingWhenAddedAgain) {
  auto store = open();
  const WallTime later = kT0 + 1min;
  ASSERT_TRUE(store->commit(StateBatch().add_gap(kA, Gap{10, 12, kT0, kT0 + 5min})));
  ASSERT_TRUE(store->commit(StateBatch().add_gap(kA, Gap{8, 15, later, later + 5min})));
  EXPECT_EQ(gaps_of(*store, kA), (std::vector<Gap>{{8, 9, later, later + 5min},
                                                   {10, 12, kT0, kT0 + 5min},
                                                   {13, 15, later, later + 5min}}));
}

TEST_P(StateStoreContract, RemovingIdsSplitsGaps) {
  auto store = open();
  ASSERT_TRUE(store->commit(StateBatch()
                                .add_gap(kA, Gap{10, 20, kT0, kT0 + 5min})
                                .add_gap(kA, Gap{30, 31, kT0, kT0 + 5min})
                                .remove_gap_ids(kA, 15, 15)
                                .remove_gap_ids(kA, 20, 30)));
  EXPECT_EQ(gaps_of(*store, kA),
            (std::vector<Gap>{
                {10, 14, kT0, kT0 + 5min}, {16, 19, kT0, kT0 + 5min}, {31, 31, kT0, kT0 + 5min}}));
  ASSERT_TRUE(store->commit(StateBatch().remove_gap_ids(kA, std::numeric_limits<EventId>::min(),
                                                        std::numeric_limits<EventId>::max())));
  EXPECT_TRUE(gaps_of(*store, kA).empty());
}

TEST_P(StateStoreContract, OperationsApplyInOrder) {
  auto store = open();
  // Seen and filled in one pass: nothing left. Filled before seen: the gap stays.
  ASSERT_TRUE(store->commit(StateBatch()
                                .add_gap(kA, Gap{5, 5, kT0, kT0 + 5min})
                                .remove_gap_ids(kA, 5, 5)
                                .remove_gap_ids(kA, 9, 9)
                                .add_gap(kA, Gap{9, 9, kT0, kT0 + 5min})));
  EXPECT_EQ(gaps_of(*store, kA), (std::vector<Gap>{{9, 9, kT0, kT0 + 5min}}));
}

TEST_P(StateStoreContract, ABadOperationRollsBackTheWholeBatch) {
  auto store = open();
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 1)));
  auto r = store->commit(
      StateBatch().advance_cursor(kA, 50).advance_cursor(kB, 9).add_gap(kA, Gap{7, 3, kT0, kT0}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, StateErrorKind::kInvalidArgument);
  EXPECT_EQ(cursor_of(*store, kA), 1);
  auto b = store->plugin(kB);
  ASSERT_TRUE(b);
  EXPECT_FALSE(*b) << "the row made for B inside the failed batch must be gone";
  // The store is still usable, and a plugin first made in the failed batch gets a real row.
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kB, 9)));
  EXPECT_EQ(cursor_of(*store, kB), 9);
}

TEST_P(StateStoreContract, DeadLettersAreListedPagedAndFiltered) {
  auto store = open();
  ASSERT_TRUE(
      store->commit(StateBatch()
                        .park_dead_letter(testing::dead_letter(kA, "onShot", 100, 3, kT0))
                        .park_dead_letter(testing::dead_letter(kB, "onTask", 101, 1, kT0))
                        .park_dead_letter(testing::dead_letter(kA, "onShot", 102, 2, kT0))));
  auto all = store->dead_letters({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].event_id, 100);
  EXPECT_EQ((*all)[0].plugin, kA);
  EXPECT_EQ((*all)[0].attempts, 3);
  EXPECT_EQ((*all)[0].event_json, R"({"id": 100})");
  EXPECT_EQ((*all)[0].first_failure, kT0);
  EXPECT_FALSE((*all)[0].retried_at);

  auto only_a = store->dead_letters({kA, 0, 100});
  ASSERT_TRUE(only_a);
  ASSERT_EQ(only_a->size(), 2u);
  EXPECT_EQ((*only_a)[1].event_id, 102);

  auto page = store->dead_letters({std::nullopt, (*all)[0].id, 1});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].event_id, 101);
}

TEST_P(StateStoreContract, ADeadLetterParkedAgainCountsAttempts) {
  auto store = open();
  ASSERT_TRUE(store->commit(
      StateBatch().park_dead_letter(testing::dead_letter(kA, "onShot", 100, 3, kT0))));
  ASSERT_TRUE(store->commit(StateBatch().park_dead_letter(
      testing::dead_letter(kA, "onShot", 100, 2, kT0 + 1h, "KeyError: 'entity'"))));
  auto all = store->dead_letters({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].attempts, 5);
  EXPECT_EQ((*all)[0].first_failure, kT0);
  EXPECT_EQ((*all)[0].last_failure, kT0 + 1h);
  EXPECT_EQ((*all)[0].error, "KeyError: 'entity'");
}

TEST_P(StateStoreContract, DeadLettersCanBeFetchedMarkedAndDeleted) {
  auto store = open();
  ASSERT_TRUE(store->commit(
      StateBatch().park_dead_letter(testing::dead_letter(kA, "onShot", 100, 1, kT0))));
  const std::int64_t id = (*store->dead_letters({}))[0].id;

  auto marked = store->mark_dead_letter_retried(id, kT0 + 2min);
  ASSERT_TRUE(marked);
  EXPECT_TRUE(*marked);
  ASSERT_TRUE(store->mark_dead_letter_retried(id, kT0 + 3min));
  auto got = store->dead_letter(id);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->retried_at, kT0 + 3min);
  EXPECT_EQ((*got)->retry_count, 2);

  auto deleted = store->delete_dead_letter(id);
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(*store->delete_dead_letter(id));
  EXPECT_FALSE(*store->mark_dead_letter_retried(id, kT0));
  auto gone = store->dead_letter(id);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
}

TEST_P(StateStoreContract, LegacyDefaultsCanBeSetAndDropped) {
  auto store = open();
  ASSERT_TRUE(store->commit(
      StateBatch().set_legacy_default({"/plugins", 40}).set_legacy_default({"", 30})));
  auto d = store->legacy_defaults();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (std::vector<LegacyDefault>{{"", 30}, {"/plugins", 40}}));
  ASSERT_TRUE(store->commit(StateBatch().drop_legacy_defaults()));
  EXPECT_TRUE(store->legacy_defaults()->empty());
}

// --- opening what the path holds ---

TEST_P(StateStoreContract, CommitsAreAllOrNothingAcrossEveryKindOfOperation) {
  auto store = open(kT0);
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 5).set_legacy_default({"", 3})));
  auto r = store->commit(StateBatch()
                             .park_dead_letter(testing::dead_letter(kA, "cb", 6, 1, kT0))
                             .drop_legacy_defaults()
                             .set_status(kA, {Activity::kDeactivated, "x", kT0})
                             .add_gap(kA, Gap{9, 8, kT0, kT0}));
  ASSERT_FALSE(r);
  EXPECT_TRUE(store->dead_letters({})->empty());
  EXPECT_EQ(store->legacy_defaults()->size(), 1u);
  EXPECT_EQ((*store->plugin(kA))->status.activity, Activity::kActive);
}

std::string kind_name(const ::testing::TestParamInfo<StoreKind>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(
    Stores, StateStoreContract,
    ::testing::Values(StoreKind{"Sqlite",
                                [](testing::TempDir& dir,
                                   std::function<WallTime()> now) -> std::unique_ptr<StateStore> {
                                  SqliteStateOptions options;
                                  options.now = std::move(now);
                                  auto s = SqliteStateStore::open(dir.file("state.db"), options);
                                  EXPECT_TRUE(s) << (s ? "" : s.error().describe());
                                  if (!s) return nullptr;
                                  return std::move(*s);
                                }},
                      StoreKind{"Postgres",
                                [](testing::TempDir&,
                                   std::function<WallTime()> now) -> std::unique_ptr<StateStore> {
                                  // A state of its own name in the process's database; it
                                  // writes only while it holds the lease.
                                  PgStateOptions options;
                                  options.url = testing::test_database_url();
                                  options.name = testing::unique_state_name("contract");
                                  options.now = std::move(now);
                                  auto s = PgStateStore::open(options);
                                  EXPECT_TRUE(s) << (s ? "" : s.error().describe());
                                  if (!s) return nullptr;
                                  auto grant = (*s)->leader_lease()->try_acquire();
                                  EXPECT_TRUE(grant && *grant);
                                  return std::move(*s);
                                }},
                      StoreKind{"Memory",
                                [](testing::TempDir&,
                                   std::function<WallTime()> now) -> std::unique_ptr<StateStore> {
                                  return std::make_unique<MemoryStateStore>(std::move(now));
                                }}),
    kind_name);

}  // namespace
}  // namespace sgeventd::state
