// Persistence: one transaction per pass with every cursor advance, gap change, status change
// and dead letter of the pass; an fsync every checkpoint_interval.
#include <chrono>

#include "dispatch/dispatcher.h"

namespace sgeventd::dispatch {

void Dispatcher::commit_state() {
  state::StateBatch batch = pending_;
  std::vector<std::pair<PluginSlot*, std::int64_t>> advanced;
  for (auto& w : workers_) {
    for (auto& p : w->plugins) {
      if (const auto c = p->ledger.cursor_to_commit()) {
        batch.advance_cursor(p->key(), *c);
        advanced.emplace_back(p.get(), *c);
      }
    }
  }
  if (batch.empty()) return;
  const auto began = std::chrono::steady_clock::now();
  auto r = store_.commit(batch);
  commit_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!r) {
    // Nothing advances until the state can be written again: the site keeps the events, so
    // nothing is lost, only replayed after a crash. Say so once, not every pass.
    if (r.error().kind == state::StateErrorKind::kFenced) {
      // Another daemon leads the shared state now: it carries on from the committed cursors,
      // and this one is about to stand by. Not an outage.
      if (!state_failing_) log_->warn("Not the leader any more: {}", r.error().message);
      state_failing_ = true;
      return;
    }
    if (!state_failing_) {
      log_->critical("Cannot write the state, cursors are held until it works again: {}",
                     r.error().describe());
    }
    state_failing_ = true;
    return;
  }
  if (state_failing_) log_->warn("The state is writable again");
  state_failing_ = false;
  pending_.clear();
  for (auto& [p, c] : advanced) p->ledger.committed(c);
}

bool Dispatcher::state_dirty() const {
  if (!pending_.empty()) return true;
  for (const auto& w : workers_) {
    for (const auto& p : w->plugins) {
      if (p->ledger.cursor_to_commit()) return true;
    }
  }
  return false;
}

void Dispatcher::checkpoint_if_due() {
  const auto now = clock_.now();
  if (now < next_checkpoint_) return;
  next_checkpoint_ = now + options_.checkpoint_interval;
  if (auto r = store_.checkpoint(); !r) {
    log_->error("State checkpoint failed: {}", r.error().describe());
  }
}

}  // namespace sgeventd::dispatch
