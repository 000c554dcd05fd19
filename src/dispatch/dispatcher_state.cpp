// Persistence: one transaction per pass with every cursor advance, gap change, status change
// and dead letter of the pass; an fsync every checkpoint_interval.
#include <chrono>

#include "dispatch/dispatcher.h"
#include "dispatch/plugin_start.h"

namespace sgeventd::dispatch {

void Dispatcher::commit_state() {
  // A closed gate (a standby, or a leader whose lease ran out) writes nothing either: the
  // shared state would refuse it. What is pending waits for the gate to open.
  if (options_.may_dispatch && !options_.may_dispatch()) return;
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

Dispatcher::Rebased Dispatcher::carry_out_rebase(std::int64_t feed_head,
                                                 source::CatchUpService* reader) {
  Rebased out;
  feed_head_ = feed_head;
  catch_up_ = reader;
  state::StateBatch writes;
  for (auto& w : workers_) {
    if (!w->queue.empty() || !w->in_flight.empty()) {
      out.error = "worker " + w->def.id + " has events queued or in flight: it cannot start again";
      return out;
    }
    std::int64_t lowest = -1;
    for (auto& p : w->plugins) {
      auto decision =
          decide_start(store_, p->key(), feed_head, wall_now(), options_.backlog_timeout);
      if (!decision) {
        out.error = "reading the state of plugin " + p->key().path +
                    " failed: " + decision.error().describe();
        return out;
      }
      if (!decision->note.empty()) log_->info("Plugin {} {}", p->key().path, decision->note);
      writes.append(decision->writes);
      p->ledger = PluginLedger(p->key(), decision->start, ledger_);
      // What this host's workers finished in an earlier term and the state may not have.
      if (!p->recorded_at_start.empty()) p->ledger.take_recorded(p->recorded_at_start);
      lowest = lowest < 0 ? decision->start.cursor : std::min(lowest, decision->start.cursor);
      out.starts[w->def.id][p->key().name] = decision->start;
    }
    w->mode = WorkerSlot::Mode::kFeed;
    ++w->read_generation;  // nothing read for the standby's ledgers may land in the new ones
    w->read_pending = false;
    w->regular_queued = 0;
    w->fetched_upto = std::max<std::int64_t>(lowest, 0);
    for (auto& p : w->plugins) {
      if (!p->loaded || p->ledger.deactivated()) continue;
      rejoin(*w, *p, p->ledger.head());
      if (p->ledger.head() < feed_head_) start_catch_up(*w, p->ledger.head());
    }
  }
  pending_.append(writes);
  next_commit_ = {};  // the start writes, at the first pass the gate allows
  next_status_ = {};
  return out;
}

}  // namespace sgeventd::dispatch
