// The StateStore in PostgreSQL, shared by the daemons of one state name (DESIGN.md section 10,
// docs/high-availability.md): cursors, gaps, dead letters and plugin status in tables keyed by
// the name, so several sites or daemon groups can share one database, and the leader lease
// whose epoch fences every write.
//
// Opening connects and creates or migrates the tables (under an advisory lock, so daemons
// started together do not race). Every write (commit, a dead letter dropped or re-driven) runs
// in one transaction that first checks, under a row lock, that the lease row still carries the
// epoch this daemon was granted: a daemon that lost the lease, however it was delayed, writes
// nothing (kFenced). Commits are durable when they return (PostgreSQL's synchronous commit), so
// checkpoint() has nothing to do.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sgeventd/state/leader_lease.h"
#include "sgeventd/state/state_store.h"

namespace sgeventd::state {

namespace pg {
class Connection;
}
namespace rows {
struct GapEdit;
}

struct PgStateOptions {
  std::string url;       // a libpq connection URI (or key=value string)
  std::string password;  // unless the URL (or PGPASSFILE) gives one
  std::string name;      // the state's name: whose rows these are
  std::chrono::milliseconds lease{10'000};
  // For inspection (`sgeventd status`, `dead-letters list`): no tables made, every write fails.
  bool read_only = false;
  // The wall clock for the times the store itself records (a new plugin's status "since").
  std::function<WallTime()> now = wall_now;
  // This daemon in the lease row; empty: "host:pid:random".
  std::string holder;
};

class PgStateStore final : public StateStore {
 public:
  static constexpr int kSchemaVersion = 1;

  static StateResult<std::unique_ptr<PgStateStore>> open(PgStateOptions options);
  // What `check-config` says of the database, changing nothing: reachable, the tables' version
  // and the role's rights (or its right to make them), and who leads. An error when the daemon
  // could not use it.
  static StateResult<std::string> probe(const PgStateOptions& options);
  ~PgStateStore() override;

  StateResult<void> commit(const StateBatch& batch) override;
  StateResult<void> checkpoint() override { return {}; }
  StateResult<std::vector<PluginState>> plugins() override;
  StateResult<std::optional<PluginState>> plugin(const PluginKey& key) override;
  StateResult<std::vector<LegacyDefault>> legacy_defaults() override;
  StateResult<std::vector<DeadLetter>> dead_letters(const DeadLetterQuery& query) override;
  StateResult<std::optional<DeadLetter>> dead_letter(std::int64_t id) override;
  StateResult<bool> delete_dead_letter(std::int64_t id) override;
  StateResult<bool> mark_dead_letter_retried(std::int64_t id, WallTime when) override;
  LeaderLease* leader_lease() override;

  const std::string& name() const { return options_.name; }
  // Whether the database holds any row of this state's name (import-state refuses to overwrite).
  StateResult<bool> has_rows();
  // In one transaction: every row of this state's name but the lease deleted, then the batch
  // applied (import-state --force: a failure leaves the old state, never an empty one).
  StateResult<void> replace(const StateBatch& batch);
  // The server process of the store's connection (tests terminate it with pg_terminate_backend).
  int backend_pid() const;

 private:
  class Lease;
  PgStateStore(PgStateOptions options, std::unique_ptr<pg::Connection> db);

  StateResult<void> create_or_migrate();
  // In a write transaction: the lease row still has our epoch, locked against a takeover until
  // the transaction ends.
  StateResult<void> check_fence();
  // Runs `body` in BEGIN .. COMMIT after check_fence (writes) or plain (reads).
  template <typename F>
  auto in_transaction(bool write, F&& body) -> decltype(body());
  // Every operation of the batch, in order, in the open transaction (advances grouped).
  StateResult<void> apply_all(const StateBatch& batch);
  // One operation; advances come one at a time here, apply_all groups them.
  StateResult<void> apply(const StateBatch::Operation& op);
  StateResult<std::int64_t> plugin_id(const PluginKey& key);
  // cursor = max(cursor, to) for each plugin id, in one statement; empties `advances`.
  StateResult<void> advance_cursors(std::map<std::int64_t, EventId>& advances);
  StateResult<void> add_gap(std::int64_t plugin, const Gap& gap);
  StateResult<void> remove_gap_ids(std::int64_t plugin, EventId first, EventId last);
  StateResult<std::vector<Gap>> overlapping_gaps(std::int64_t plugin, EventId first, EventId last);
  StateResult<void> apply_gap_edit(std::int64_t plugin, const rows::GapEdit& edit);
  StateResult<void> park(const DeadLetter& letter);

  PgStateOptions options_;
  std::unique_ptr<pg::Connection> db_;
  std::unique_ptr<Lease> lease_;
  // The epoch of the lease this daemon holds, 0 when it holds none (set by the lease).
  std::atomic<std::int64_t> fence_{0};
  std::map<PluginKey, std::int64_t> plugin_ids_;  // rows known to exist (committed)
  std::mutex mutex_;                              // one call at a time on db_
};

}  // namespace sgeventd::state
