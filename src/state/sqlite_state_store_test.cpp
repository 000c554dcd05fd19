#include "state/sqlite_state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "state/state_test_support.h"

namespace sgeventd::state {
namespace {

using testing::exists;
using testing::read_file;
using testing::TempDir;
using testing::write_file;
using namespace std::chrono_literals;

const PluginKey kA{"/plugins/a.py", "a"};
const PluginKey kB{"/plugins/b.py", "b"};
const WallTime kT0 = WallTime(1'700'000'000'000ms);

std::unique_ptr<SqliteStateStore> open_ok(const std::string& path,
                                          SqliteStateOptions options = {}) {
  auto store = SqliteStateStore::open(path, std::move(options));
  EXPECT_TRUE(store) << (store ? "" : store.error().describe());
  return store ? std::move(*store) : nullptr;
}

std::optional<EventId> cursor_of(StateStore& store, const PluginKey& key) {
  auto p = store.plugin(key);
  EXPECT_TRUE(p) << p.error().describe();
  return p && *p ? (*p)->cursor : std::nullopt;
}

std::vector<Gap> gaps_of(StateStore& store, const PluginKey& key) {
  auto p = store.plugin(key);
  EXPECT_TRUE(p && *p);
  return p && *p ? (*p)->gaps : std::vector<Gap>{};
}

TEST(SqliteStateStore, CreatesAnEmptyStateWhereNothingIs) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store);
  auto all = store->plugins();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  EXPECT_FALSE(store->legacy_import());
  EXPECT_FALSE(exists(dir.file("state.db.new")));
}

TEST(SqliteStateStore, CursorsSurviveReopening) {
  TempDir dir;
  {
    auto store = open_ok(dir.file("state.db"));
    ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 10).advance_cursor(kB, 20)));
  }
  auto store = open_ok(dir.file("state.db"));
  EXPECT_EQ(cursor_of(*store, kA), 10);
  EXPECT_EQ(cursor_of(*store, kB), 20);
}

TEST(SqliteStateStore, AdvanceNeverMovesBackButSetDoes) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 10).advance_cursor(kA, 7)));
  EXPECT_EQ(cursor_of(*store, kA), 10);
  ASSERT_TRUE(store->commit(StateBatch().set_cursor(kA, 3)));
  EXPECT_EQ(cursor_of(*store, kA), 3);
  ASSERT_TRUE(store->commit(StateBatch().set_cursor(kA, std::nullopt)));
  EXPECT_EQ(cursor_of(*store, kA), std::nullopt);
}

TEST(SqliteStateStore, NewPluginsAreActiveSinceTheirFirstMention) {
  TempDir dir;
  SqliteStateOptions options;
  options.now = [] { return kT0; };
  auto store = open_ok(dir.file("state.db"), options);
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 1)));
  auto p = store->plugin(kA);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->status, (PluginStatus{Activity::kActive, "", kT0}));
  auto missing = store->plugin(kB);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TEST(SqliteStateStore, StatusChangesAreStored) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  const PluginStatus off{Activity::kDeactivated, "stopOnError: ValueError in onTask", kT0};
  ASSERT_TRUE(store->commit(StateBatch().set_status(kA, off)));
  auto p = store->plugin(kA);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->status, off);
  EXPECT_EQ((*p)->cursor, std::nullopt);
}

TEST(SqliteStateStore, PluginsAreListedByPathThenName) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
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

TEST(SqliteStateStore, GapsKeepTheirFirstSightingWhenAddedAgain) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  const WallTime later = kT0 + 1min;
  ASSERT_TRUE(store->commit(StateBatch().add_gap(kA, Gap{10, 12, kT0, kT0 + 5min})));
  ASSERT_TRUE(store->commit(StateBatch().add_gap(kA, Gap{8, 15, later, later + 5min})));
  EXPECT_EQ(gaps_of(*store, kA), (std::vector<Gap>{{8, 9, later, later + 5min},
                                                   {10, 12, kT0, kT0 + 5min},
                                                   {13, 15, later, later + 5min}}));
}

TEST(SqliteStateStore, RemovingIdsSplitsGaps) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
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

TEST(SqliteStateStore, OperationsApplyInOrder) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  // Seen and filled in one pass: nothing left. Filled before seen: the gap stays.
  ASSERT_TRUE(store->commit(StateBatch()
                                .add_gap(kA, Gap{5, 5, kT0, kT0 + 5min})
                                .remove_gap_ids(kA, 5, 5)
                                .remove_gap_ids(kA, 9, 9)
                                .add_gap(kA, Gap{9, 9, kT0, kT0 + 5min})));
  EXPECT_EQ(gaps_of(*store, kA), (std::vector<Gap>{{9, 9, kT0, kT0 + 5min}}));
}

TEST(SqliteStateStore, ABadOperationRollsBackTheWholeBatch) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
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

DeadLetter letter(const PluginKey& plugin, std::string callback, EventId event, int attempts,
                  WallTime at, std::string error = "ValueError: boom") {
  DeadLetter d;
  d.plugin = plugin;
  d.callback = std::move(callback);
  d.event_id = event;
  d.event_json = R"({"id": )" + std::to_string(event) + "}";
  d.error = std::move(error);
  d.attempts = attempts;
  d.first_failure = at;
  d.last_failure = at;
  return d;
}

TEST(SqliteStateStore, DeadLettersAreListedPagedAndFiltered) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store->commit(StateBatch()
                                .park_dead_letter(letter(kA, "onShot", 100, 3, kT0))
                                .park_dead_letter(letter(kB, "onTask", 101, 1, kT0))
                                .park_dead_letter(letter(kA, "onShot", 102, 2, kT0))));
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

TEST(SqliteStateStore, ADeadLetterParkedAgainCountsAttempts) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store->commit(StateBatch().park_dead_letter(letter(kA, "onShot", 100, 3, kT0))));
  ASSERT_TRUE(store->commit(
      StateBatch().park_dead_letter(letter(kA, "onShot", 100, 2, kT0 + 1h, "KeyError: 'entity'"))));
  auto all = store->dead_letters({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].attempts, 5);
  EXPECT_EQ((*all)[0].first_failure, kT0);
  EXPECT_EQ((*all)[0].last_failure, kT0 + 1h);
  EXPECT_EQ((*all)[0].error, "KeyError: 'entity'");
}

TEST(SqliteStateStore, DeadLettersCanBeFetchedMarkedAndDeleted) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store->commit(StateBatch().park_dead_letter(letter(kA, "onShot", 100, 1, kT0))));
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

TEST(SqliteStateStore, CheckpointIsCheapWhenIdleAndRecordsDurability) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  EXPECT_TRUE(store->checkpoint());
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 5)));
  EXPECT_TRUE(store->checkpoint());
  EXPECT_TRUE(store->checkpoint());
  EXPECT_EQ(cursor_of(*store, kA), 5);
}

TEST(SqliteStateStore, LegacyDefaultsCanBeSetAndDropped) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store->commit(
      StateBatch().set_legacy_default({"/plugins", 40}).set_legacy_default({"", 30})));
  auto d = store->legacy_defaults();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (std::vector<LegacyDefault>{{"", 30}, {"/plugins", 40}}));
  ASSERT_TRUE(store->commit(StateBatch().drop_legacy_defaults()));
  EXPECT_TRUE(store->legacy_defaults()->empty());
}

// --- opening what the path holds ---

TEST(SqliteStateStore, ASecondOpenIsRefusedWithThePid) {
  TempDir dir;
  auto first = open_ok(dir.file("state.db"));
  auto second = SqliteStateStore::open(dir.file("state.db"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, StateErrorKind::kLocked);
  EXPECT_NE(second.error().message.find("pid " + std::to_string(getpid())), std::string::npos)
      << second.error().message;
  first.reset();
  EXPECT_TRUE(SqliteStateStore::open(dir.file("state.db")));
}

TEST(SqliteStateStore, AReadOnlyOpenSeesTheStateWhileTheDaemonHoldsIt) {
  TempDir dir;
  auto daemon = open_ok(dir.file("state.db"));
  ASSERT_TRUE(daemon->commit(StateBatch().advance_cursor(kA, 77)));
  SqliteStateOptions options;
  options.read_only = true;
  auto reader = open_ok(dir.file("state.db"), options);
  ASSERT_TRUE(reader);
  EXPECT_EQ(cursor_of(*reader, kA), 77);
  auto write = reader->commit(StateBatch().advance_cursor(kA, 78));
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().kind, StateErrorKind::kUnwritable);
}

TEST(SqliteStateStore, AnEmptyFileIsAnErrorNotAReset) {
  TempDir dir;
  write_file(dir.file("state.db"), "");
  auto store = SqliteStateStore::open(dir.file("state.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, StateErrorKind::kCorrupt);
  EXPECT_NE(store.error().message.find("empty"), std::string::npos);
  EXPECT_EQ(read_file(dir.file("state.db")), "");
}

TEST(SqliteStateStore, GarbageIsAnErrorAndLeftUntouched) {
  TempDir dir;
  write_file(dir.file("state.db"), "hello, this is not a state\n");
  auto store = SqliteStateStore::open(dir.file("state.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, StateErrorKind::kCorrupt);
  EXPECT_NE(store.error().message.find("neither"), std::string::npos) << store.error().message;
  EXPECT_EQ(read_file(dir.file("state.db")), "hello, this is not a state\n");
}

TEST(SqliteStateStore, AForeignSqliteDatabaseIsRefused) {
  TempDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("other.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStateStore::open(dir.file("other.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, StateErrorKind::kCorrupt);
  EXPECT_NE(store.error().message.find("not an sgeventd state"), std::string::npos);
}

TEST(SqliteStateStore, ANewerSchemaIsRefused) {
  TempDir dir;
  { open_ok(dir.file("state.db")); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("state.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStateStore::open(dir.file("state.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, StateErrorKind::kNewerSchema);
  EXPECT_NE(store.error().message.find("version 99"), std::string::npos) << store.error().message;
}

TEST(SqliteStateStore, ADamagedDatabaseIsAClearError) {
  TempDir dir;
  {
    auto store = open_ok(dir.file("state.db"));
    StateBatch batch;
    for (int i = 0; i < 200; ++i) {
      batch.park_dead_letter(letter(kA, "cb", i, 1, kT0, std::string(500, 'x')));
    }
    ASSERT_TRUE(store->commit(batch));
  }
  // Scribble over everything after the first page (the header stays valid).
  std::string bytes = read_file(dir.file("state.db"));
  ASSERT_GT(bytes.size(), 8192u);
  for (std::size_t i = 4096; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(i * 31);
  write_file(dir.file("state.db"), bytes);
  auto store = SqliteStateStore::open(dir.file("state.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, StateErrorKind::kCorrupt) << store.error().describe();
}

}  // namespace
}  // namespace sgeventd::state
