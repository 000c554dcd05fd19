#include "state/sqlite_state_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <type_traits>

#include "state/sqlite_db.h"
#include "state/state_file.h"
#include "state/store_rows.h"

namespace sgeventd::state {
namespace {

using sqlite::Db;
using sqlite::Statement;

// Version 2 (version 1 had no 'disabled' status: migrate_schema() upgrades it). Times are
// milliseconds since the Unix epoch (UTC). A later version adds a migration step in
// migrate_schema and bumps kSchemaVersion.
constexpr const char* kSchema = R"sql(
CREATE TABLE schema_version(version INTEGER NOT NULL);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE plugins(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  name TEXT NOT NULL,
  cursor INTEGER,
  status TEXT NOT NULL CHECK (status IN ('active', 'deactivated', 'disabled')),
  reason TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  UNIQUE (path, name));
CREATE TABLE gaps(
  plugin_id INTEGER NOT NULL REFERENCES plugins(id),
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  expiry_ms INTEGER NOT NULL,
  CHECK (first_id <= last_id),
  PRIMARY KEY (plugin_id, first_id)) WITHOUT ROWID;
CREATE TABLE dead_letters(
  id INTEGER PRIMARY KEY,
  plugin_id INTEGER NOT NULL REFERENCES plugins(id),
  callback TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  event_json TEXT NOT NULL,
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_failure_ms INTEGER NOT NULL,
  last_failure_ms INTEGER NOT NULL,
  retried_ms INTEGER,
  retry_count INTEGER NOT NULL DEFAULT 0,
  UNIQUE (plugin_id, callback, event_id));
CREATE INDEX dead_letters_by_plugin ON dead_letters(plugin_id, id);
CREATE TABLE legacy_defaults(folder TEXT PRIMARY KEY, cursor INTEGER NOT NULL) WITHOUT ROWID;
)sql";

using rows::activity_of;
using rows::ms;
using rows::status_text;
using rows::wall;

// Version 1 to 2: the plugins table's CHECK gains 'disabled'. SQLite cannot alter a CHECK, so
// the table is rebuilt in one transaction (https://sqlite.org/lang_altertable.html, "other
// kinds of table schema changes"); foreign keys are off meanwhile, as that procedure needs.
constexpr const char* kMigrateTo2 = R"sql(
PRAGMA foreign_keys=OFF;
BEGIN IMMEDIATE;
CREATE TABLE plugins_v2(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  name TEXT NOT NULL,
  cursor INTEGER,
  status TEXT NOT NULL CHECK (status IN ('active', 'deactivated', 'disabled')),
  reason TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  UNIQUE (path, name));
INSERT INTO plugins_v2 SELECT id, path, name, cursor, status, reason, since_ms FROM plugins;
DROP TABLE plugins;
ALTER TABLE plugins_v2 RENAME TO plugins;
UPDATE schema_version SET version = 2;
COMMIT;
PRAGMA foreign_keys=ON;
)sql";

// Keeps the store's lock and options meaningful in messages: "<path>: <what>".
StateError about(const std::string& path, StateError e) {
  e.message = path + ": " + e.message;
  return e;
}

constexpr const char* kSelectPlugin =
    "SELECT id, path, name, cursor, status, reason, since_ms FROM plugins "
    "WHERE path = ?1 AND name = ?2";
constexpr const char* kSelectPlugins =
    "SELECT id, path, name, cursor, status, reason, since_ms FROM plugins ORDER BY path, name";
constexpr const char* kSelectGaps =
    "SELECT first_id, last_id, first_seen_ms, expiry_ms FROM gaps WHERE plugin_id = ?1 "
    "ORDER BY first_id";
constexpr const char* kSelectAllGaps =
    "SELECT plugin_id, first_id, last_id, first_seen_ms, expiry_ms FROM gaps "
    "ORDER BY plugin_id, first_id";
constexpr const char* kOverlappingGaps =
    "SELECT first_id, last_id, first_seen_ms, expiry_ms FROM gaps "
    "WHERE plugin_id = ?1 AND first_id <= ?3 AND last_id >= ?2 ORDER BY first_id";
constexpr const char* kInsertGap =
    "INSERT INTO gaps(plugin_id, first_id, last_id, first_seen_ms, expiry_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kDeleteGap = "DELETE FROM gaps WHERE plugin_id = ?1 AND first_id = ?2";
constexpr const char* kSelectDeadLetters =
    "SELECT d.id, p.path, p.name, d.callback, d.event_id, d.event_json, d.error, d.attempts, "
    "d.first_failure_ms, d.last_failure_ms, d.retried_ms, d.retry_count "
    "FROM dead_letters d JOIN plugins p ON p.id = d.plugin_id "
    "WHERE d.id > ?1 AND (?2 IS NULL OR (p.path = ?2 AND p.name = ?3)) ORDER BY d.id LIMIT ?4";
constexpr const char* kSelectDeadLetter =
    "SELECT d.id, p.path, p.name, d.callback, d.event_id, d.event_json, d.error, d.attempts, "
    "d.first_failure_ms, d.last_failure_ms, d.retried_ms, d.retry_count "
    "FROM dead_letters d JOIN plugins p ON p.id = d.plugin_id WHERE d.id = ?1";

PluginState plugin_row(const Statement& s) {
  PluginState p;
  p.key = PluginKey{s.text_at(1), s.text_at(2)};
  p.cursor = s.optional_int_at(3);
  p.status.activity = activity_of(s.text_at(4));
  p.status.reason = s.text_at(5);
  p.status.since = wall(s.int_at(6));
  return p;
}

DeadLetter dead_letter_row(const Statement& s) {
  DeadLetter d;
  d.id = s.int_at(0);
  d.plugin = PluginKey{s.text_at(1), s.text_at(2)};
  d.callback = s.text_at(3);
  d.event_id = s.int_at(4);
  d.event_json = s.text_at(5);
  d.error = s.text_at(6);
  d.attempts = static_cast<int>(s.int_at(7));
  d.first_failure = wall(s.int_at(8));
  d.last_failure = wall(s.int_at(9));
  if (auto r = s.optional_int_at(10)) d.retried_at = wall(*r);
  d.retry_count = static_cast<int>(s.int_at(11));
  return d;
}

// Runs `body` inside BEGIN/COMMIT (a consistent snapshot for multi-statement reads).
template <typename F>
auto in_read_transaction(Db& db, F&& body) -> decltype(body()) {
  if (auto begun = db.exec("BEGIN"); !begun) return tl::unexpected(begun.error());
  auto result = body();
  (void)db.exec(result ? "COMMIT" : "ROLLBACK");
  return result;
}

// The path with every link resolved: the file's, or for a state not made yet its folder's.
std::string resolved_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p(path);
  auto real = std::filesystem::canonical(p, ec);
  if (!ec) return real.string();
  auto folder = std::filesystem::canonical(p.parent_path().empty() ? "." : p.parent_path(), ec);
  return ec ? path : (folder / p.filename()).string();
}

}  // namespace

SqliteStateStore::SqliteStateStore(std::string path, std::unique_ptr<sqlite::Db> db,
                                   SqliteStateOptions options)
    : path_(std::move(path)), db_(std::move(db)), options_(std::move(options)) {}

SqliteStateStore::~SqliteStateStore() = default;

StateResult<std::unique_ptr<SqliteStateStore>> SqliteStateStore::open(const std::string& path,
                                                                      SqliteStateOptions options) {
  if (options.read_only) {
    auto content = files::classify(path);
    if (!content) return tl::unexpected(content.error());
    if (*content != files::Content::kSqlite) {
      return state_error(StateErrorKind::kCorrupt,
                         path + " is not an sgeventd state (yet): open it read-write once");
    }
    return open_existing(path, options);
  }

  // One lock per state file, whatever path names it: the lock sits beside the file the path
  // resolves to, so a symlinked eventIdFile finds the lock of its target. A second hard link
  // would be another name with a lock of its own (two daemons on one file, each with its own
  // WAL): such a state is refused.
  auto lock = StateLock::acquire(resolved_path(path) + ".lock");
  if (!lock) return tl::unexpected(lock.error());
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1) {
    return state_error(StateErrorKind::kInvalidArgument,
                       path + " has " + std::to_string(st.st_nlink) +
                           " hard links: another name could start a second daemon on it "
                           "(refused; keep one name, or copy the file)");
  }

  auto content = files::classify(path);
  if (!content) return tl::unexpected(content.error());
  std::optional<LegacyImportSummary> imported;
  switch (*content) {
    case files::Content::kMissing:
      if (auto made = create(path, options, nullptr, nullptr); !made) {
        return tl::unexpected(made.error());
      }
      break;
    case files::Content::kEmpty:
      // What the original leaves when killed between truncating and writing its pickle.
      return state_error(StateErrorKind::kCorrupt,
                         path +
                             " is an empty file (a shotgunEvents state truncated by a crash?). "
                             "Restore it from a backup, or remove it to start every plugin "
                             "at the site's newest event");
    case files::Content::kOther: {
      auto bytes = files::read_all(path);
      if (!bytes) return tl::unexpected(bytes.error());
      if (!options.import_legacy || !looks_like_legacy_state(*bytes)) {
        return state_error(StateErrorKind::kCorrupt,
                           path +
                               " is neither an sgeventd state (SQLite) nor a shotgunEvents "
                               "state file; it was left untouched. Point eventIdFile elsewhere "
                               "or move the file away");
      }
      auto legacy = parse_legacy_state(*bytes);
      if (!legacy) {
        return state_error(StateErrorKind::kLegacyFormat,
                           path +
                               " looks like a shotgunEvents state file but cannot be "
                               "imported: " +
                               legacy.error().message +
                               ". It was left untouched; restore it from a backup, or remove "
                               "it to start every plugin at the site's newest event");
      }
      if (auto made = create(path, options, &*legacy, &imported); !made) {
        return tl::unexpected(made.error());
      }
      break;
    }
    case files::Content::kSqlite:
      break;
  }

  auto store = open_existing(path, options);
  if (!store) return store;
  SqliteStateStore& s = **store;
  if (auto r = s.read_checkpoint_number(); !r) return tl::unexpected(about(path, r.error()));
  // A state made just now starts the count again: the file was removed or imported on purpose.
  const auto recorded = lock->previous_checkpoint();
  if (*content == files::Content::kSqlite && recorded && *recorded > s.checkpoints_) {
    s.rollback_ = Rollback{s.checkpoints_, *recorded};
  }
  s.lock_ = std::move(*lock);
  // Said once: from now on the number beside is the file's own again.
  s.lock_->record_checkpoint(s.checkpoints_);
  s.legacy_import_ = imported;
  return store;
}

StateResult<void> SqliteStateStore::create(const std::string& path,
                                           const SqliteStateOptions& options,
                                           const LegacyState* legacy,
                                           std::optional<LegacyImportSummary>* summary) {
  const std::string building = path + ".new";
  files::remove_database(building);  // a leftover of a crash during an earlier attempt
  {
    auto db = Db::open(building, false, true);
    if (!db) return tl::unexpected(about(building, db.error()));
    SqliteStateStore store(building, std::move(*db), options);
    // Rollback journal while building: the file is renamed alone, so no WAL may exist beside
    // it; FULL makes the single commit durable before the rename.
    if (auto r = store.db_->exec("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL"); !r) {
      return tl::unexpected(about(building, r.error()));
    }
    if (auto r = store.initialize_schema(); !r) return tl::unexpected(about(building, r.error()));
    if (legacy) {
      LegacyImportOptions import_options = options.legacy;
      if (import_options.now == WallTime{}) import_options.now = options.now();
      StateBatch batch;
      auto added = add_legacy_import(*legacy, import_options, batch);
      if (!added) return tl::unexpected(about(path, added.error()));
      if (auto r = store.commit(batch); !r) return tl::unexpected(about(building, r.error()));
      *summary = *added;
    }
  }
  if (legacy) {
    if (auto kept = files::durable_link(path, path + ".legacy"); !kept) return kept;
  }
  return files::durable_rename(building, path);
}

StateResult<std::unique_ptr<SqliteStateStore>> SqliteStateStore::open_existing(
    const std::string& path, const SqliteStateOptions& options) {
  auto db = Db::open(path, options.read_only);
  if (!db) return tl::unexpected(about(path, db.error()));
  std::unique_ptr<SqliteStateStore> store(new SqliteStateStore(path, std::move(*db), options));
  auto version = store->check_schema();
  if (!version) return tl::unexpected(about(path, version.error()));
  // The connection first (busy_timeout: a reader of the moment waits rather than fails it).
  if (auto r = store->configure_connection(); !r) return tl::unexpected(about(path, r.error()));
  // A read-only open (`sgeventd status`) reads an older version as it is.
  if (*version < kSchemaVersion && !options.read_only) {
    if (auto r = store->migrate_schema(*version); !r) return tl::unexpected(about(path, r.error()));
  }
  if (options.verify) {
    if (auto r = store->verify(); !r) return tl::unexpected(about(path, r.error()));
  }
  return store;
}

StateResult<void> SqliteStateStore::read_checkpoint_number() {
  auto n = db_->query_int("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'checkpoint'");
  if (!n) return tl::unexpected(n.error());
  checkpoints_ = static_cast<std::uint64_t>(std::max<std::int64_t>(0, n->value_or(0)));
  return {};
}

StateResult<void> SqliteStateStore::initialize_schema() {
  std::string sql = "BEGIN;\nPRAGMA application_id = " + std::to_string(kApplicationId) + ";\n" +
                    kSchema + "INSERT INTO schema_version(version) VALUES (" +
                    std::to_string(kSchemaVersion) + ");\n" +
                    "INSERT INTO meta(key, value) VALUES ('created_ms', '" +
                    std::to_string(ms(options_.now())) + "');\nCOMMIT;";
  if (auto r = db_->exec(sql); !r) {
    (void)db_->exec("ROLLBACK");
    return r;
  }
  return {};
}

StateResult<std::int64_t> SqliteStateStore::check_schema() {
  // The first read of a damaged file fails here with SQLITE_NOTADB or SQLITE_CORRUPT.
  auto app = db_->query_int("PRAGMA application_id");
  if (!app) {
    return state_error(
        app.error().kind == StateErrorKind::kInternal ? StateErrorKind::kCorrupt : app.error().kind,
        "cannot use the state: " + app.error().message);
  }
  if (app->value_or(0) != kApplicationId) {
    return state_error(StateErrorKind::kCorrupt,
                       "a SQLite database, but not an sgeventd state (application_id " +
                           std::to_string(app->value_or(0)) +
                           "); it was left untouched. Point eventIdFile elsewhere");
  }
  auto version = db_->query_int("SELECT max(version) FROM schema_version");
  if (!version || !*version) {
    return state_error(StateErrorKind::kCorrupt,
                       "the schema_version table is missing or empty" +
                           (version ? std::string() : ": " + version.error().message));
  }
  if (**version > kSchemaVersion) {
    return state_error(StateErrorKind::kNewerSchema,
                       "written by a newer sgeventd (state schema version " +
                           std::to_string(**version) + ", this one knows up to " +
                           std::to_string(kSchemaVersion) +
                           "); run that version, or restore the state it was upgraded from");
  }
  if (**version < 1) {
    return state_error(StateErrorKind::kCorrupt,
                       "impossible schema version " + std::to_string(**version));
  }
  return **version;
}

StateResult<void> SqliteStateStore::migrate_schema(std::int64_t from) {
  // The file as it was, for going back to the sgeventd that wrote it; kept if one is there.
  const std::string copy = path_ + ".schema-v" + std::to_string(from);
  std::error_code ec;
  if (!std::filesystem::exists(copy, ec)) {
    auto vacuum = db_->prepare("VACUUM INTO ?1");
    if (!vacuum) return tl::unexpected(vacuum.error());
    if (auto r = vacuum->bind(1, copy).run(); !r) {
      return state_error(r.error().kind, "cannot keep a copy of the state as " + copy +
                                             " before upgrading it: " + r.error().message);
    }
  }
  if (from < 2) {
    if (auto r = db_->exec(kMigrateTo2); !r) {
      (void)db_->exec("ROLLBACK; PRAGMA foreign_keys=ON");
      return state_error(r.error().kind,
                         "cannot upgrade the state to schema version 2: " + r.error().message);
    }
  }
  return {};
}

StateResult<void> SqliteStateStore::configure_connection() {
  if (options_.read_only) {
    return db_->exec("PRAGMA busy_timeout=2000; PRAGMA foreign_keys=ON");
  }
  // WAL with synchronous=NORMAL: a commit appends to the WAL without fsync (microseconds) and
  // survives the process being killed; checkpoint() bounds what a power loss can take.
  auto mode = db_->prepare("PRAGMA journal_mode=WAL");
  if (!mode) return tl::unexpected(mode.error());
  auto row = mode->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row || mode->text_at(0) != "wal") {
    return state_error(StateErrorKind::kUnwritable,
                       "cannot switch to WAL mode (journal_mode is " +
                           (*row ? mode->text_at(0) : std::string("unknown")) + ")");
  }
  return db_->exec("PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=2000; PRAGMA foreign_keys=ON");
}

StateResult<void> SqliteStateStore::verify() {
  auto check = db_->prepare("PRAGMA quick_check(5)");
  if (!check) return tl::unexpected(check.error());
  std::string problems;
  while (true) {
    auto row = check->step();
    if (!row) {
      return state_error(StateErrorKind::kCorrupt, "the state is damaged: " + row.error().message);
    }
    if (!*row) break;
    const std::string line = check->text_at(0);
    if (line == "ok") return {};
    problems += (problems.empty() ? "" : "; ") + line;
  }
  return state_error(StateErrorKind::kCorrupt,
                     "the state is damaged (" + problems +
                         "). Restore it from a backup, or move it away to start every plugin at "
                         "the site's newest event");
}

StateResult<void> SqliteStateStore::write_guard() const {
  if (options_.read_only) {
    return state_error(StateErrorKind::kUnwritable, path_ + " was opened read-only");
  }
  return {};
}

StateResult<void> SqliteStateStore::rollback_after(const StateError& error) {
  if (db_->in_transaction()) (void)db_->exec("ROLLBACK");
  // Rows inserted by the failed transaction are gone: forget every id learned since.
  plugin_ids_.clear();
  return tl::unexpected(about(path_, error));
}

StateResult<void> SqliteStateStore::commit(const StateBatch& batch) {
  std::lock_guard guard(mutex_);
  if (auto ok = write_guard(); !ok) return ok;
  if (batch.empty()) return {};
  if (auto begun = db_->exec("BEGIN IMMEDIATE"); !begun) return rollback_after(begun.error());
  for (const auto& op : batch.operations()) {
    if (auto applied = apply(op); !applied) return rollback_after(applied.error());
  }
  if (auto committed = db_->exec("COMMIT"); !committed) return rollback_after(committed.error());
  dirty_ = true;
  return {};
}

StateResult<std::int64_t> SqliteStateStore::plugin_id(const PluginKey& key) {
  if (auto it = plugin_ids_.find(key); it != plugin_ids_.end()) return it->second;
  auto find = db_->prepare(kSelectPlugin);
  if (!find) return tl::unexpected(find.error());
  find->bind(1, key.path).bind(2, key.name);
  auto row = find->step();
  if (!row) return tl::unexpected(row.error());
  std::int64_t id = 0;
  if (*row) {
    id = find->int_at(0);
  } else {
    auto insert = db_->prepare(
        "INSERT INTO plugins(path, name, cursor, status, reason, since_ms) "
        "VALUES (?1, ?2, NULL, 'active', '', ?3)");
    if (!insert) return tl::unexpected(insert.error());
    insert->bind(1, key.path).bind(2, key.name).bind(3, ms(options_.now()));
    if (auto r = insert->run(); !r) return tl::unexpected(r.error());
    id = db_->last_insert_rowid();
  }
  plugin_ids_.emplace(key, id);
  return id;
}

StateResult<void> SqliteStateStore::apply(const StateBatch::Operation& op) {
  return std::visit(
      [&](const auto& o) -> StateResult<void> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, StateBatch::ParkDeadLetter>) {
          return park(o.letter);
        } else if constexpr (std::is_same_v<T, StateBatch::SetLegacyDefault>) {
          auto s = db_->prepare(
              "INSERT OR REPLACE INTO legacy_defaults(folder, cursor) VALUES (?1, ?2)");
          if (!s) return tl::unexpected(s.error());
          return s->bind(1, o.value.folder).bind(2, o.value.cursor).run();
        } else if constexpr (std::is_same_v<T, StateBatch::DropLegacyDefaults>) {
          return db_->exec("DELETE FROM legacy_defaults");
        } else {
          auto id = plugin_id(o.plugin);
          if (!id) return tl::unexpected(id.error());
          if constexpr (std::is_same_v<T, StateBatch::AdvanceCursor>) {
            auto s = db_->prepare(
                "UPDATE plugins SET cursor = ?2 WHERE id = ?1 AND (cursor IS NULL OR cursor < ?2)");
            if (!s) return tl::unexpected(s.error());
            return s->bind(1, *id).bind(2, o.to).run();
          } else if constexpr (std::is_same_v<T, StateBatch::SetCursor>) {
            auto s = db_->prepare("UPDATE plugins SET cursor = ?2 WHERE id = ?1");
            if (!s) return tl::unexpected(s.error());
            return s->bind(1, *id).bind(2, o.to).run();
          } else if constexpr (std::is_same_v<T, StateBatch::SetStatus>) {
            auto s = db_->prepare(
                "UPDATE plugins SET status = ?2, reason = ?3, since_ms = ?4 WHERE id = ?1");
            if (!s) return tl::unexpected(s.error());
            return s->bind(1, *id)
                .bind(2, std::string(status_text(o.status.activity)))
                .bind(3, o.status.reason)
                .bind(4, ms(o.status.since))
                .run();
          } else if constexpr (std::is_same_v<T, StateBatch::AddGap>) {
            return add_gap(*id, o.gap);
          } else {
            static_assert(std::is_same_v<T, StateBatch::RemoveGapIds>);
            return remove_gap_ids(*id, o.first_id, o.last_id);
          }
        }
      },
      op);
}

StateResult<std::vector<Gap>> SqliteStateStore::overlapping_gaps(std::int64_t plugin, EventId first,
                                                                 EventId last) {
  auto s = db_->prepare(kOverlappingGaps);
  if (!s) return tl::unexpected(s.error());
  s->bind(1, plugin).bind(2, first).bind(3, last);
  std::vector<Gap> out;
  while (true) {
    auto row = s->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.push_back(Gap{s->int_at(0), s->int_at(1), wall(s->int_at(2)), wall(s->int_at(3))});
  }
}

StateResult<void> SqliteStateStore::apply_gap_edit(std::int64_t plugin, const rows::GapEdit& edit) {
  for (EventId first : edit.remove) {
    auto del = db_->prepare(kDeleteGap);
    if (!del) return tl::unexpected(del.error());
    if (auto r = del->bind(1, plugin).bind(2, first).run(); !r) return r;
  }
  for (const Gap& gap : edit.insert) {
    auto s = db_->prepare(kInsertGap);
    if (!s) return tl::unexpected(s.error());
    auto r = s->bind(1, plugin)
                 .bind(2, gap.first_id)
                 .bind(3, gap.last_id)
                 .bind(4, ms(gap.first_seen))
                 .bind(5, ms(gap.expiry))
                 .run();
    if (!r) return r;
  }
  return {};
}

StateResult<void> SqliteStateStore::add_gap(std::int64_t plugin, const Gap& gap) {
  auto held = overlapping_gaps(plugin, gap.first_id, gap.last_id);
  if (!held) return tl::unexpected(held.error());
  auto edit = rows::plan_add_gap(*held, gap);
  if (!edit) return tl::unexpected(edit.error());
  return apply_gap_edit(plugin, *edit);
}

StateResult<void> SqliteStateStore::remove_gap_ids(std::int64_t plugin, EventId first,
                                                   EventId last) {
  if (first > last) return {};
  auto held = overlapping_gaps(plugin, first, last);
  if (!held) return tl::unexpected(held.error());
  return apply_gap_edit(plugin, rows::plan_remove_ids(*held, first, last));
}

StateResult<void> SqliteStateStore::park(const DeadLetter& letter) {
  auto id = plugin_id(letter.plugin);
  if (!id) return tl::unexpected(id.error());
  auto s = db_->prepare(
      "INSERT INTO dead_letters(plugin_id, callback, event_id, event_json, error, attempts, "
      "first_failure_ms, last_failure_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (plugin_id, callback, event_id) DO UPDATE SET "
      "event_json = excluded.event_json, error = excluded.error, "
      "attempts = attempts + excluded.attempts, last_failure_ms = excluded.last_failure_ms");
  if (!s) return tl::unexpected(s.error());
  return s->bind(1, *id)
      .bind(2, letter.callback)
      .bind(3, letter.event_id)
      .bind(4, letter.event_json)
      .bind(5, letter.error)
      .bind(6, std::int64_t{letter.attempts})
      .bind(7, ms(letter.first_failure))
      .bind(8, ms(letter.last_failure))
      .run();
}

StateResult<void> SqliteStateStore::checkpoint() {
  std::lock_guard guard(mutex_);
  if (options_.read_only || !dirty_) return {};
  // One commit with synchronous=FULL fsyncs the WAL, and with it every earlier commit. Cheaper
  // than PRAGMA wal_checkpoint(FULL) (one sequential fsync, no page copying) and never blocked
  // by a reader holding a snapshot; SQLite's automatic checkpoints still fold the WAL into the
  // database every 1000 pages. docs/state.md explains the choice. The checkpoint is numbered,
  // and the number goes beside the file once the commit is durable (StateLock).
  const std::uint64_t number = checkpoints_ + 1;
  auto done = db_->exec(
      "PRAGMA synchronous=FULL; BEGIN IMMEDIATE; "
      "INSERT OR REPLACE INTO meta(key, value) VALUES ('durable_ms', '" +
      std::to_string(ms(options_.now())) +
      "'); INSERT OR REPLACE INTO meta(key, value) VALUES ('checkpoint', '" +
      std::to_string(number) + "'); COMMIT;");
  auto back = db_->exec("PRAGMA synchronous=NORMAL");
  if (!done) return rollback_after(done.error());
  if (!back) return tl::unexpected(about(path_, back.error()));
  checkpoints_ = number;
  if (lock_) lock_->record_checkpoint(number);
  dirty_ = false;
  return {};
}

StateResult<std::vector<Gap>> SqliteStateStore::gaps_of(std::int64_t plugin) {
  auto s = db_->prepare(kSelectGaps);
  if (!s) return tl::unexpected(s.error());
  s->bind(1, plugin);
  std::vector<Gap> gaps;
  while (true) {
    auto row = s->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return gaps;
    gaps.push_back(Gap{s->int_at(0), s->int_at(1), wall(s->int_at(2)), wall(s->int_at(3))});
  }
}

StateResult<std::vector<PluginState>> SqliteStateStore::plugins() {
  std::lock_guard guard(mutex_);
  return in_read_transaction(*db_, [&]() -> StateResult<std::vector<PluginState>> {
    std::vector<PluginState> out;
    std::map<std::int64_t, std::size_t> index;
    {
      auto s = db_->prepare(kSelectPlugins);
      if (!s) return tl::unexpected(s.error());
      while (true) {
        auto row = s->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        index[s->int_at(0)] = out.size();
        out.push_back(plugin_row(*s));
      }
    }
    auto s = db_->prepare(kSelectAllGaps);
    if (!s) return tl::unexpected(s.error());
    while (true) {
      auto row = s->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      auto it = index.find(s->int_at(0));
      if (it == index.end()) continue;
      out[it->second].gaps.push_back(
          Gap{s->int_at(1), s->int_at(2), wall(s->int_at(3)), wall(s->int_at(4))});
    }
    return out;
  });
}

StateResult<std::optional<PluginState>> SqliteStateStore::plugin(const PluginKey& key) {
  std::lock_guard guard(mutex_);
  return in_read_transaction(*db_, [&]() -> StateResult<std::optional<PluginState>> {
    std::int64_t id = 0;
    PluginState state;
    {
      auto s = db_->prepare(kSelectPlugin);
      if (!s) return tl::unexpected(s.error());
      s->bind(1, key.path).bind(2, key.name);
      auto row = s->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return std::optional<PluginState>();
      id = s->int_at(0);
      state = plugin_row(*s);
    }
    auto gaps = gaps_of(id);
    if (!gaps) return tl::unexpected(gaps.error());
    state.gaps = std::move(*gaps);
    return std::optional<PluginState>(std::move(state));
  });
}

StateResult<std::vector<LegacyDefault>> SqliteStateStore::legacy_defaults() {
  std::lock_guard guard(mutex_);
  auto s = db_->prepare("SELECT folder, cursor FROM legacy_defaults ORDER BY folder");
  if (!s) return tl::unexpected(s.error());
  std::vector<LegacyDefault> out;
  while (true) {
    auto row = s->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.push_back(LegacyDefault{s->text_at(0), s->int_at(1)});
  }
}

StateResult<std::vector<DeadLetter>> SqliteStateStore::dead_letters(const DeadLetterQuery& query) {
  std::lock_guard guard(mutex_);
  auto s = db_->prepare(kSelectDeadLetters);
  if (!s) return tl::unexpected(s.error());
  s->bind(1, query.after_id);
  if (query.plugin) {
    s->bind(2, query.plugin->path).bind(3, query.plugin->name);
  }
  s->bind(4, static_cast<std::int64_t>(
                 std::min<std::size_t>(query.limit, std::numeric_limits<std::int64_t>::max())));
  std::vector<DeadLetter> out;
  while (true) {
    auto row = s->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.push_back(dead_letter_row(*s));
  }
}

StateResult<std::optional<DeadLetter>> SqliteStateStore::dead_letter(std::int64_t id) {
  std::lock_guard guard(mutex_);
  auto s = db_->prepare(kSelectDeadLetter);
  if (!s) return tl::unexpected(s.error());
  s->bind(1, id);
  auto row = s->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<DeadLetter>();
  return std::optional<DeadLetter>(dead_letter_row(*s));
}

StateResult<bool> SqliteStateStore::delete_dead_letter(std::int64_t id) {
  std::lock_guard guard(mutex_);
  if (auto ok = write_guard(); !ok) return tl::unexpected(ok.error());
  auto s = db_->prepare("DELETE FROM dead_letters WHERE id = ?1");
  if (!s) return tl::unexpected(s.error());
  if (auto r = s->bind(1, id).run(); !r) return tl::unexpected(about(path_, r.error()));
  dirty_ = true;
  return db_->changes() > 0;
}

StateResult<bool> SqliteStateStore::mark_dead_letter_retried(std::int64_t id, WallTime when) {
  std::lock_guard guard(mutex_);
  if (auto ok = write_guard(); !ok) return tl::unexpected(ok.error());
  auto s = db_->prepare(
      "UPDATE dead_letters SET retried_ms = ?2, retry_count = retry_count + 1 WHERE id = ?1");
  if (!s) return tl::unexpected(s.error());
  if (auto r = s->bind(1, id).bind(2, ms(when)).run(); !r) {
    return tl::unexpected(about(path_, r.error()));
  }
  dirty_ = true;
  return db_->changes() > 0;
}

}  // namespace sgeventd::state
