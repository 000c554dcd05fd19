// A StateStore in memory (DESIGN.md section 6): the same contract as the SQLite store
// (state_store_contract_test.cpp runs both), nothing durable. For fast tests of the dispatcher
// and the engine, and as the model the other stores are held against.
#pragma once

#include <functional>
#include <map>
#include <mutex>

#include "sgeventd/state/state_store.h"

namespace sgeventd::state {

class MemoryStateStore final : public StateStore {
 public:
  // `now`: the wall clock for the times the store records itself (a new plugin's "since").
  explicit MemoryStateStore(std::function<WallTime()> now = wall_now) : now_(std::move(now)) {}

  StateResult<void> commit(const StateBatch& batch) override;
  StateResult<void> checkpoint() override { return {}; }
  StateResult<std::vector<PluginState>> plugins() override;
  StateResult<std::optional<PluginState>> plugin(const PluginKey& key) override;
  StateResult<std::vector<LegacyDefault>> legacy_defaults() override;
  StateResult<std::vector<DeadLetter>> dead_letters(const DeadLetterQuery& query) override;
  StateResult<std::optional<DeadLetter>> dead_letter(std::int64_t id) override;
  StateResult<bool> delete_dead_letter(std::int64_t id) override;
  StateResult<bool> mark_dead_letter_retried(std::int64_t id, WallTime when) override;

  // Commits fail with kUnwritable while set (a full disk, for tests); nothing changes.
  void fail_commits(bool fail) { fail_commits_ = fail; }

 private:
  struct Data {
    std::map<PluginKey, PluginState> plugins;
    std::map<std::int64_t, DeadLetter> letters;  // by id
    std::map<std::string, EventId> legacy;
    std::int64_t next_letter = 1;
  };
  StateResult<void> apply(Data& d, const StateBatch::Operation& op) const;
  PluginState& row(Data& d, const PluginKey& key) const;

  std::function<WallTime()> now_;
  mutable std::mutex mutex_;
  Data data_;
  bool fail_commits_ = false;
};

// Gaps as the stores keep them: sorted, never overlapping. `add` keeps the first sighting of
// ids already held; `remove` splits ranges. Shared by the memory store and its tests.
void add_gap_ids(std::vector<Gap>& gaps, const Gap& gap);
void remove_gap_ids(std::vector<Gap>& gaps, EventId first, EventId last);

}  // namespace sgeventd::state
