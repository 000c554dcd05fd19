// The StateStore in one SQLite file (WAL, synchronous=NORMAL) at the configured eventIdFile.
//
// Opening, in order: take the lock "<path>.lock" (a second daemon fails here, naming the
// holder's pid); then, by what the path holds:
//   nothing          a new, empty state is created (atomically: built beside, then renamed);
//   an sgeventd state  opened, its schema version checked (a newer one is refused), verified
//                    with PRAGMA quick_check;
//   a shotgunEvents state (pickle or text)  imported into a new state that replaces it, the
//                    old file kept as "<path>.legacy";
//   anything else (an empty file, a damaged database, a foreign SQLite file, an unreadable
//                    legacy file)  a clear error: never a silent reset.
// docs/state.md has the tables and what kill -9 and power loss can lose.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sgeventd/state/state_store.h"
#include "state/legacy_state.h"
#include "state/state_lock.h"

namespace sgeventd::state {

namespace sqlite {
class Db;
}
namespace rows {
struct GapEdit;
}

struct SqliteStateOptions {
  // For inspection while a daemon runs (`sgeventd status`, `dead-letters list`): no lock, no
  // creation, no import; every write returns kUnwritable.
  bool read_only = false;
  // Import a shotgunEvents state file found at the path (otherwise it is an error).
  bool import_legacy = true;
  // PRAGMA quick_check at open (milliseconds for a state of a few MB).
  bool verify = true;
  // How the import names plugins and dates backlog entries; `now` is taken at open if unset.
  LegacyImportOptions legacy;
  // The wall clock for the times the store itself records (a new plugin's status "since").
  std::function<WallTime()> now = wall_now;
};

class SqliteStateStore final : public StateStore {
 public:
  static constexpr int kSchemaVersion = 2;
  // PRAGMA application_id of every sgeventd state ("SGEV"): tells ours from other SQLite files.
  static constexpr std::int32_t kApplicationId = 0x53474556;

  static StateResult<std::unique_ptr<SqliteStateStore>> open(const std::string& path,
                                                             SqliteStateOptions options = {});
  ~SqliteStateStore() override;

  StateResult<void> commit(const StateBatch& batch) override;
  StateResult<void> checkpoint() override;
  StateResult<std::vector<PluginState>> plugins() override;
  StateResult<std::optional<PluginState>> plugin(const PluginKey& key) override;
  StateResult<std::vector<LegacyDefault>> legacy_defaults() override;
  StateResult<std::vector<DeadLetter>> dead_letters(const DeadLetterQuery& query) override;
  StateResult<std::optional<DeadLetter>> dead_letter(std::int64_t id) override;
  StateResult<bool> delete_dead_letter(std::int64_t id) override;
  StateResult<bool> mark_dead_letter_retried(std::int64_t id, WallTime when) override;

  const std::string& path() const { return path_; }
  // What the open imported from a shotgunEvents state, if it did.
  const std::optional<LegacyImportSummary>& legacy_import() const { return legacy_import_; }

  // Set when the state opened older than its last durable checkpoint (numbered in the file and
  // beside it, in the lock file): its WAL was damaged or lost, or the file was replaced by an
  // older copy. Plugins then resume from older cursors and get some events again.
  struct Rollback {
    std::uint64_t found = 0;     // the checkpoint the file holds
    std::uint64_t recorded = 0;  // the last one made durable, as the lock file says
  };
  const std::optional<Rollback>& rollback() const { return rollback_; }

 private:
  SqliteStateStore(std::string path, std::unique_ptr<sqlite::Db> db, SqliteStateOptions options);

  static StateResult<std::unique_ptr<SqliteStateStore>> open_existing(
      const std::string& path, const SqliteStateOptions& options);
  static StateResult<void> create(const std::string& path, const SqliteStateOptions& options,
                                  const LegacyState* legacy,
                                  std::optional<LegacyImportSummary>* summary);

  StateResult<void> initialize_schema();
  StateResult<std::int64_t> check_schema();  // the file's schema version, if usable
  // From an older kSchemaVersion, after a copy of the file as it was (`<path>.schema-vN`).
  StateResult<void> migrate_schema(std::int64_t from);
  StateResult<void> configure_connection();
  StateResult<void> verify();
  StateResult<void> read_checkpoint_number();

  StateResult<void> apply(const StateBatch::Operation& op);
  StateResult<std::int64_t> plugin_id(const PluginKey& key);
  StateResult<void> add_gap(std::int64_t plugin, const Gap& gap);
  StateResult<std::vector<Gap>> overlapping_gaps(std::int64_t plugin, EventId first, EventId last);
  StateResult<void> apply_gap_edit(std::int64_t plugin, const rows::GapEdit& edit);
  StateResult<void> remove_gap_ids(std::int64_t plugin, EventId first, EventId last);
  StateResult<void> park(const DeadLetter& letter);
  StateResult<std::vector<Gap>> gaps_of(std::int64_t plugin);
  StateResult<void> write_guard() const;
  StateResult<void> rollback_after(const StateError& error);

  std::string path_;
  std::unique_ptr<sqlite::Db> db_;
  SqliteStateOptions options_;
  std::optional<StateLock> lock_;
  std::optional<LegacyImportSummary> legacy_import_;
  std::optional<Rollback> rollback_;
  std::uint64_t checkpoints_ = 0;  // the number of the last durable checkpoint (meta)
  std::map<PluginKey, std::int64_t> plugin_ids_;  // rows known to exist (committed)
  bool dirty_ = false;                            // committed since the last checkpoint
  std::mutex mutex_;                              // one call at a time
};

}  // namespace sgeventd::state
