#include "dispatch/ledger.h"

#include <algorithm>
#include <limits>

namespace sgeventd::dispatch {

PluginLedger::PluginLedger(state::PluginKey key, const PluginStart& start, LedgerSettings settings)
    : key_(std::move(key)),
      settings_(settings),
      tracker_(start.cursor),
      persisted_(start.cursor),
      last_sent_(start.cursor),
      gaps_(settings.max_gap_ranges) {
  for (const state::Gap& g : start.gaps) gaps_.add(g.first_id, g.last_id, g.first_seen);
  if (start.disabled) {
    deactivated_ = disabled_ = true;
    reason_ = start.disabled_reason;
  }
}

std::size_t PluginLedger::take_recorded(const std::vector<std::int64_t>& ids) {
  std::size_t taken = 0;
  for (std::int64_t id : ids) {
    if (id > cursor()) {
      taken += done_regular_.insert(id).second ? 1 : 0;
    } else if (gaps_.contains(id)) {
      taken += done_late_.insert(id).second ? 1 : 0;
    }
  }
  return taken;
}

Offer PluginLedger::offer(std::int64_t id, bool wanted, state::WallTime now,
                          state::StateBatch& ops) {
  if (deactivated_ || id <= tracker_.head()) return Offer::kNothing;
  if (id > tracker_.head() + 1) add_gap(tracker_.head() + 1, id - 1, now, ops);
  if (tracker_.late_pending(id)) {
    // Read again after a rewind while it is on its way as a late event: it is not sent twice,
    // but from here it holds the cursor like any event above it.
    tracker_.forget_late(id);
    tracker_.observe(id, true);
    return Offer::kNothing;
  }
  Offer result = wanted ? Offer::kDeliver : Offer::kNothing;
  if (wanted && !done_regular_.empty()) {
    // Records the cursor has passed say nothing any more. An id stays recorded until then: a
    // rewind may offer it again.
    while (!done_regular_.empty() && *done_regular_.begin() <= tracker_.committed()) {
      done_regular_.erase(done_regular_.begin());
    }
    if (done_regular_.count(id) > 0) {
      result = Offer::kDoneBefore;
      ++not_resent_;
    }
  }
  tracker_.observe(id, result == Offer::kDeliver);
  return result;
}

void PluginLedger::pass_over(std::int64_t id, state::WallTime now, state::StateBatch& ops) {
  offer(id, false, now, ops);
}

Offer PluginLedger::offer_late(std::int64_t id, bool wanted, state::StateBatch& ops) {
  if (deactivated_ || !gaps_.fill(id)) return Offer::kNothing;
  const bool done = !done_late_.empty() && done_late_.erase(id) > 0;
  if (!wanted || done) {
    ops.remove_gap_ids(key_, id, id);
    if (!wanted) return Offer::kNothing;
    ++not_resent_;
    return Offer::kDoneBefore;
  }
  tracker_.observe_late(id);
  return Offer::kDeliver;
}

void PluginLedger::resolve(std::int64_t id, bool late, state::StateBatch& ops) {
  // A late event's gap stays in the state until it is done: a crash before then finds it again.
  if (late && tracker_.late_pending(id)) ops.remove_gap_ids(key_, id, id);
  tracker_.resolve(id);
  forget_failures(id);
}

int PluginLedger::count_failure(std::int64_t id, int callback, const std::string& error) {
  ++errors_;
  last_error_ = error;
  return ++failures_[{id, callback}];
}

bool PluginLedger::regap(std::int64_t id, state::WallTime now, state::StateBatch& ops) {
  tracker_.forget_late(id);
  gaps_.fill(id);  // stamped anew below
  ops.remove_gap_ids(key_, id, id);
  add_gap(id, id, now, ops);
  return !deactivated_;
}

void PluginLedger::park(state::DeadLetter letter, state::StateBatch& ops) {
  letter.plugin = key_;
  ops.park_dead_letter(std::move(letter));
  ++dead_letters_;
}

bool PluginLedger::deactivate(const std::string& reason, state::WallTime now,
                              state::StateBatch& ops) {
  if (deactivated_) return false;
  deactivated_ = true;
  reason_ = reason;
  ops.set_status(key_, {state::Activity::kDeactivated, reason, now});
  return true;
}

bool PluginLedger::disable(const std::string& reason, state::WallTime now, state::StateBatch& ops) {
  if (disabled_) return false;
  deactivated_ = disabled_ = true;
  reason_ = reason;
  ops.set_status(key_, {state::Activity::kDisabled, reason, now});
  return true;
}

std::int64_t PluginLedger::reactivate(state::WallTime now, state::StateBatch& ops) {
  const std::int64_t from = tracker_.committed();
  deactivated_ = disabled_ = false;
  reason_.clear();
  failures_.clear();
  // Whatever was in flight when it stopped is read again from the cursor.
  tracker_ = CursorTracker(from);
  last_sent_ = from;
  // Its gaps did not expire while it was away (expire()): it waits for them from now, in
  // memory and in the state alike.
  gaps_.restamp(now);
  for (const source::GapRange& g : gaps_.ranges()) {
    ops.remove_gap_ids(key_, g.first, g.last);
    ops.add_gap(key_, state::Gap{g.first, g.last, now, now + settings_.backlog_timeout});
  }
  ops.set_status(key_, {state::Activity::kActive, "", now});
  return from;
}

void PluginLedger::rewind(std::int64_t feed_head, state::StateBatch& ops) {
  if (deactivated_) return;
  tracker_.rewind(last_sent_);
  // Gaps above the new head are found again by the reads that follow.
  if (tracker_.head() < feed_head) {
    ops.remove_gap_ids(key_, tracker_.head() + 1, feed_head);
    gaps_.remove_above(tracker_.head());
  }
}

std::vector<source::GapRange> PluginLedger::rejoin(std::int64_t from, std::int64_t feed_head,
                                                   const std::vector<std::int64_t>& late_on_the_way,
                                                   state::StateBatch& ops) {
  for (std::int64_t id : late_on_the_way) tracker_.observe_late(id);
  if (gaps_.empty()) return {};
  if (from < feed_head) ops.remove_gap_ids(key_, from + 1, feed_head);
  gaps_.remove_above(from);
  return gaps_.ranges();
}

void PluginLedger::expire(state::WallTime now, state::StateBatch& ops) {
  // A deactivated plugin's gaps wait for it: their events may come while it is away, and it
  // looks for them when it is back.
  if (gaps_.empty() || deactivated_) return;
  for (const source::GapRange& g : gaps_.expire(now, settings_.backlog_timeout)) {
    ops.remove_gap_ids(key_, g.first, g.last);
  }
}

void PluginLedger::settle(std::int64_t id, state::StateBatch& ops) {
  if (gaps_.fill(id)) ops.remove_gap_ids(key_, id, id);
}

std::optional<std::int64_t> PluginLedger::cursor_to_commit() const {
  const std::int64_t c = tracker_.committed();
  if (c > persisted_) return c;
  return std::nullopt;
}

void PluginLedger::add_gap(std::int64_t first, std::int64_t last, state::WallTime now,
                           state::StateBatch& ops) {
  // Past the bound the oldest ranges are given up: gone from the state too.
  for (const source::GapRange& dropped : gaps_.add(first, last, now)) {
    ops.remove_gap_ids(key_, dropped.first, dropped.last);
  }
  ops.add_gap(key_, state::Gap{first, last, now, now + settings_.backlog_timeout});
}

void PluginLedger::forget_failures(std::int64_t id) {
  for (auto it = failures_.lower_bound({id, std::numeric_limits<int>::min()});
       it != failures_.end() && it->first.first == id;) {
    it = failures_.erase(it);
  }
}

}  // namespace sgeventd::dispatch
