#include "state/sqlite_state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "state/state_test_support.h"

namespace sgeventd::state {
namespace {

using testing::cursor_of;
using testing::kA;
using testing::kB;
using testing::kT0;

using testing::exists;
using testing::read_file;
using testing::TempDir;
using testing::write_file;
using namespace std::chrono_literals;

std::unique_ptr<SqliteStateStore> open_ok(const std::string& path,
                                          SqliteStateOptions options = {}) {
  auto store = SqliteStateStore::open(path, std::move(options));
  EXPECT_TRUE(store) << (store ? "" : store.error().describe());
  return store ? std::move(*store) : nullptr;
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

TEST(SqliteStateStore, CheckpointIsCheapWhenIdleAndRecordsDurability) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  EXPECT_TRUE(store->checkpoint());
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 5)));
  EXPECT_TRUE(store->checkpoint());
  EXPECT_TRUE(store->checkpoint());
  EXPECT_EQ(cursor_of(*store, kA), 5);
}

// A copy of the files a store holds open, as a crash would leave them: the database, its WAL
// and the lock file beside them (what the next open reads the last checkpoint's number from).
void copy_crash_image(TempDir& dir, const std::string& to) {
  for (const char* suffix : {"", "-wal", ".lock"}) {
    std::filesystem::copy_file(dir.file("state.db") + suffix, to + suffix);
  }
}

TEST(SqliteStateStore, AStateOlderThanItsLastDurableCheckpointIsReported) {
  TempDir dir;
  {
    auto store = open_ok(dir.file("state.db"));
    ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 10)));
    ASSERT_TRUE(store->checkpoint());
  }
  std::filesystem::copy_file(dir.file("state.db"), dir.file("backup.db"));
  {
    auto store = open_ok(dir.file("state.db"));
    EXPECT_FALSE(store->rollback());  // reopened as it was left
    ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 20)));
    ASSERT_TRUE(store->checkpoint());
  }
  // The file replaced by the older copy: the lock file still says checkpoint 2.
  std::filesystem::copy_file(dir.file("backup.db"), dir.file("state.db"),
                             std::filesystem::copy_options::overwrite_existing);
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store->rollback());
  EXPECT_EQ(store->rollback()->found, 1u);
  EXPECT_EQ(store->rollback()->recorded, 2u);
  EXPECT_EQ(cursor_of(*store, kA), 10);
}

TEST(SqliteStateStore, ADamagedWalThatSqliteSilentlyIgnoresIsReported) {
  TempDir dir;
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 10)));
  ASSERT_TRUE(store->checkpoint());
  ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 20)));
  ASSERT_TRUE(store->checkpoint());
  const std::string image = dir.file("image.db");
  copy_crash_image(dir, image);
  store.reset();
  // One flipped byte in the first frame's page: SQLite drops that frame and every later one
  // (their checksums chain), and opens the database as it was before them, without an error.
  {
    std::fstream wal(image + "-wal", std::ios::in | std::ios::out | std::ios::binary);
    wal.seekg(32 + 24 + 100);
    const char byte = static_cast<char>(wal.get() ^ 0x5a);
    wal.seekp(32 + 24 + 100);
    wal.put(byte);
  }
  auto damaged = open_ok(image);
  ASSERT_TRUE(damaged);
  ASSERT_TRUE(damaged->rollback());
  EXPECT_EQ(damaged->rollback()->recorded, 2u);
  EXPECT_LT(damaged->rollback()->found, 2u);
}

TEST(SqliteStateStore, ARemovedStateStartsTheCountAgainWithoutAWarning) {
  TempDir dir;
  {
    auto store = open_ok(dir.file("state.db"));
    ASSERT_TRUE(store->commit(StateBatch().advance_cursor(kA, 10)));
    ASSERT_TRUE(store->checkpoint());
  }
  std::filesystem::remove(dir.file("state.db"));
  auto store = open_ok(dir.file("state.db"));
  EXPECT_FALSE(store->rollback());
}

TEST(SqliteStateStore, AHardLinkedLockFileIsRefused) {
  TempDir dir;
  write_file(dir.file("victim"), "precious\n");
  ASSERT_EQ(::link(dir.file("victim").c_str(), dir.file("state.db.lock").c_str()), 0);
  auto store = SqliteStateStore::open(dir.file("state.db"));
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("hard link"), std::string::npos) << store.error().describe();
  EXPECT_EQ(read_file(dir.file("victim")), "precious\n");
}

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

TEST(SqliteStateStore, AnotherSpellingOfThePathFindsTheSameLock) {
  TempDir dir;
  auto first = open_ok(dir.file("state.db"));
  // A link to the state, and a link to its folder: both name the file the first store holds.
  ASSERT_EQ(::symlink(dir.file("state.db").c_str(), dir.file("alias.db").c_str()), 0);
  ASSERT_EQ(::symlink(dir.path().c_str(), dir.file("folder").c_str()), 0);
  for (const std::string& other :
       {dir.file("alias.db"), dir.file("folder") + "/state.db",
        dir.file("folder") + "/../" + std::filesystem::path(dir.path()).filename().string() +
            "/state.db"}) {
    auto second = SqliteStateStore::open(other);
    ASSERT_FALSE(second) << other;
    EXPECT_EQ(second.error().kind, StateErrorKind::kLocked) << second.error().describe();
  }
}

TEST(SqliteStateStore, AStateWithASecondHardLinkIsRefused) {
  TempDir dir;
  open_ok(dir.file("state.db")).reset();
  ASSERT_EQ(::link(dir.file("state.db").c_str(), dir.file("twin.db").c_str()), 0);
  for (const std::string& name : {dir.file("state.db"), dir.file("twin.db")}) {
    auto store = SqliteStateStore::open(name);
    ASSERT_FALSE(store) << name;
    EXPECT_NE(store.error().message.find("2 hard links"), std::string::npos)
        << store.error().describe();
  }
}

TEST(SqliteStateStore, ALinkPlantedAtTheLockIsNotWrittenThrough) {
  TempDir dir;
  write_file(dir.file("victim"), "precious\n");
  ASSERT_EQ(::symlink(dir.file("victim").c_str(), dir.file("state.db.lock").c_str()), 0);
  auto store = SqliteStateStore::open(dir.file("state.db"));
  ASSERT_FALSE(store);
  EXPECT_EQ(read_file(dir.file("victim")), "precious\n");
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

// A state written by a version-1 sgeventd (no 'disabled' status): its plugins table as that
// version made it.
constexpr const char* kVersion1Plugins = R"sql(
PRAGMA foreign_keys=OFF;
BEGIN;
CREATE TABLE plugins_old(
  id INTEGER PRIMARY KEY, path TEXT NOT NULL, name TEXT NOT NULL, cursor INTEGER,
  status TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
  reason TEXT NOT NULL, since_ms INTEGER NOT NULL, UNIQUE (path, name));
INSERT INTO plugins_old SELECT * FROM plugins;
DROP TABLE plugins;
ALTER TABLE plugins_old RENAME TO plugins;
UPDATE schema_version SET version = 1;
COMMIT;
)sql";

// The first column of the first row `sql` returns from the database at `file`, read directly;
// nullopt when it returns no row or fails.
std::optional<int> first_int(const std::string& file, const char* sql) {
  sqlite3* db = nullptr;
  std::optional<int> out;
  if (sqlite3_open(file.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      out = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

TEST(SqliteStateStore, AVersion1StateIsUpgradedKeepingEveryRow) {
  TempDir dir;
  {
    auto store = open_ok(dir.file("state.db"));
    ASSERT_TRUE(store->commit(StateBatch()
                                  .advance_cursor(kA, 10)
                                  .add_gap(kA, {5, 6, kT0, kT0 + 1h})
                                  .park_dead_letter(testing::dead_letter(kA, "cb", 7, 1, kT0))));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("state.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, kVersion1Plugins, nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  {
    // Read-only (`sgeventd status`) reads it as it is.
    SqliteStateOptions ro;
    ro.read_only = true;
    auto store = open_ok(dir.file("state.db"), ro);
    ASSERT_TRUE(store);
    EXPECT_EQ(cursor_of(*store, kA), 10);
  }
  auto store = open_ok(dir.file("state.db"));
  ASSERT_TRUE(store);
  EXPECT_EQ(cursor_of(*store, kA), 10);
  auto a = store->plugin(kA);
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->gaps.size(), 1u);
  auto letters = store->dead_letters({});
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].plugin, kA) << "the letters still name their plugin";
  ASSERT_TRUE(store->commit(StateBatch().set_status(kA, {Activity::kDisabled, "off", kT0})));
  a = store->plugin(kA);
  EXPECT_EQ((*a)->status.activity, Activity::kDisabled);
  store.reset();
  EXPECT_EQ(first_int(dir.file("state.db"), "SELECT max(version) FROM schema_version"), 2);
  ASSERT_EQ(sqlite3_open(dir.file("state.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << "no dangling reference";
  sqlite3_finalize(st);
  sqlite3_close(db);
  // The file as it was before the upgrade is kept beside it, still version 1, still whole.
  const std::string kept = dir.file("state.db.schema-v1");
  EXPECT_EQ(first_int(kept, "SELECT max(version) FROM schema_version"), 1);
  EXPECT_EQ(first_int(kept, "SELECT cursor FROM plugins"), 10);
}

TEST(SqliteStateStore, ADamagedDatabaseIsAClearError) {
  TempDir dir;
  {
    auto store = open_ok(dir.file("state.db"));
    StateBatch batch;
    for (int i = 0; i < 200; ++i) {
      batch.park_dead_letter(testing::dead_letter(kA, "cb", i, 1, kT0, std::string(500, 'x')));
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
