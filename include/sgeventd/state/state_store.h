// The daemon's durable state (DESIGN.md section 6): per plugin the committed cursor, its status
// and its open gaps; dead letters; and the defaults an imported shotgunEvents state left behind.
//
// The daemon only ever talks to this interface. SqliteStateStore (sqlite_state_store.h) is the
// default, PgStateStore (pg_state_store.h) the shared state for high availability (DESIGN.md
// section 10). docs/state.md describes the tables and the durability guarantees.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sgeventd/state/leader_lease.h"
#include "sgeventd/state/state_batch.h"
#include "sgeventd/state/state_types.h"

namespace sgeventd::state {

struct DeadLetterQuery {
  std::optional<PluginKey> plugin;  // only this plugin's letters
  std::int64_t after_id = 0;        // letters with id > after_id (paging)
  std::size_t limit = 100;          // at most this many, ascending by id
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Applies every operation of the batch, in order, in one transaction: all or nothing. An
  // error (disk full, read-only file, I/O error) leaves the state as before the call; the
  // caller must then stop advancing cursors and alert (DESIGN.md section 6).
  virtual StateResult<void> commit(const StateBatch& batch) = 0;

  // Makes every commit that returned before this call durable against power loss (the daemon
  // calls it every checkpoint_interval). Cheap when nothing was committed since the last one.
  virtual StateResult<void> checkpoint() = 0;

  // Every plugin the store knows, ordered by path then name, with its gaps.
  virtual StateResult<std::vector<PluginState>> plugins() = 0;
  // One plugin, or nullopt when the store has never heard of it.
  virtual StateResult<std::optional<PluginState>> plugin(const PluginKey& key) = 0;
  // Cursors an imported shotgunEvents state gave whole folders (or, folder "", every plugin).
  virtual StateResult<std::vector<LegacyDefault>> legacy_defaults() = 0;

  virtual StateResult<std::vector<DeadLetter>> dead_letters(const DeadLetterQuery& query) = 0;
  virtual StateResult<std::optional<DeadLetter>> dead_letter(std::int64_t id) = 0;
  // False when no letter has that id.
  virtual StateResult<bool> delete_dead_letter(std::int64_t id) = 0;
  // Records a re-drive: retried_at = when, retry_count + 1. False when no letter has that id.
  virtual StateResult<bool> mark_dead_letter_retried(std::int64_t id, WallTime when) = 0;

  // A state several daemons share (PostgreSQL) has a leader lease; its writes fail unless this
  // daemon holds it. Null for a state only one daemon can open (SQLite, memory).
  virtual LeaderLease* leader_lease() { return nullptr; }
};

}  // namespace sgeventd::state
