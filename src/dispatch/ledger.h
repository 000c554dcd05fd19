// The delivery ledger (DESIGN.md section 4): everything the daemon knows about one plugin's
// delivery, and the only code that changes it. Per plugin: the committed cursor and the events
// between it and the newest id seen (in flight or waiting), open gaps, failures counted for
// retries, events parked as dead letters, whether the plugin is active, and the events its
// worker recorded as finished before the daemon last stopped.
//
// It has no threads, no I/O and no clock: the time is an argument, and every change it makes
// that must survive a restart is appended to the caller's StateBatch (as leveldb's VersionEdit
// describes a change to its version). A ledger rebuilt from only what was committed (through
// decide_start) resumes where delivery is known to have got to: the events it hands out again
// are among those in flight when the state was last committed. ledger_property_test holds it
// against a model.
//
// The dispatcher decides which plugins an event goes to (matchEvents, loop prevention) and
// moves events to workers; the ledger decides, per plugin, whether an id is new, late, already
// done, or nothing to wait for, and where the cursor may go.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dispatch/cursor_tracker.h"
#include "sgeventd/state/state_batch.h"
#include "sgeventd/state/state_types.h"
#include "source/gap_set.h"

namespace sgeventd::dispatch {

// Where a plugin starts (dispatch/plugin_start.h decides it).
struct PluginStart {
  std::int64_t cursor = 0;
  std::vector<state::Gap> gaps;
  // The cursor is the plugin's own (not imported, not new): what its completion file says
  // about events above it can be trusted.
  bool own_state = false;
  // An operator disabled it (state::Activity::kDisabled): it starts off the feed, and stays
  // off until enabled.
  bool disabled = false;
  std::string disabled_reason;
};

struct LedgerSettings {
  std::chrono::milliseconds backlog_timeout{300'000};
  std::size_t max_gap_ranges = 1'000'000;
};

// What the ledger says of an event offered to a plugin.
enum class Offer {
  kDeliver,     // send it to the worker; resolve() it when done
  kNothing,     // seen before, not wanted, or not missing: nothing to do
  kDoneBefore,  // wanted, but its worker finished it before the daemon last stopped
};

class PluginLedger {
 public:
  PluginLedger(state::PluginKey key, const PluginStart& start, LedgerSettings settings);

  // Completion records read before anything is sent (workers/completion_log.h): ids above the
  // cursor, or in its gaps, are not sent again when they come. Returns how many apply.
  std::size_t take_recorded(const std::vector<std::int64_t>& ids);

  // --- The source ---------------------------------------------------------------------------
  // A regular event, in id order. `wanted`: a callback of the plugin matches it and may have
  // it. Ids skipped on the way become gaps. Ignored when the plugin is deactivated.
  Offer offer(std::int64_t id, bool wanted, state::WallTime now, state::StateBatch& ops);
  // An id that exists but that the read's filters hid: it needs nothing, and is no gap.
  void pass_over(std::int64_t id, state::WallTime now, state::StateBatch& ops);
  // An event below the head that arrived late. kDeliver only if the plugin passed over its id
  // while active and still waits for it (a plugin that has not read that far gets it in order).
  Offer offer_late(std::int64_t id, bool wanted, state::StateBatch& ops);

  // A regular event left the worker's queue (sent, or found to need nothing any more).
  void sent(std::int64_t id) { last_sent_ = std::max(last_sent_, id); }

  // --- Results --------------------------------------------------------------------------------
  // Done with the event (handled, or given up on and parked): the cursor may pass it.
  void resolve(std::int64_t id, bool late, state::StateBatch& ops);
  // One more failure of callback `callback` on the event; returns the failures so far.
  int count_failure(std::int64_t id, int callback, const std::string& error);
  // A late event the plugin did not run (deactivated or stopped on the way): replaying from the
  // cursor never reaches it again, so it is a gap again, waited for from `now`. True when the
  // source should look for it at once (the plugin is active).
  bool regap(std::int64_t id, state::WallTime now, state::StateBatch& ops);
  // Gives an event up for one callback: the letter is stored. resolve() it after.
  void park(state::DeadLetter letter, state::StateBatch& ops);
  void count_handled() { ++handled_; }
  // An error that is not an event's (its plugin failed to load), for status.
  void note_error(std::string error) { last_error_ = std::move(error); }
  void count_not_resent() { ++not_resent_; }

  // --- Activity -------------------------------------------------------------------------------
  // False when it already was.
  bool deactivate(const std::string& reason, state::WallTime now, state::StateBatch& ops);
  // An operator's stop: off the feed like a deactivation, but nothing brings it back except
  // reactivate() (an operator's enable), restarts included. False when it already was.
  bool disable(const std::string& reason, state::WallTime now, state::StateBatch& ops);
  // Back from deactivation: delivery resumes after the committed cursor (returned), its gaps
  // are waited for from `now`. Call rejoin() next, as after any absence from the feed.
  std::int64_t reactivate(state::WallTime now, state::StateBatch& ops);

  // --- Leaving and rejoining the feed ---------------------------------------------------------
  // The worker's queue of new events was dropped (it will read them again itself): the ledger
  // forgets the ids above the last one sent, and the gaps it will find again. Never goes below
  // the cursor.
  void rewind(std::int64_t feed_head, state::StateBatch& ops);
  // Back on the feed, reading again after `from` up to `feed_head`: gaps above `from` would
  // come twice and go; the ones below are returned, to be looked for by id. `late_on_the_way`:
  // late events still queued or in flight for it, so their gaps go when they are handled.
  std::vector<source::GapRange> rejoin(std::int64_t from, std::int64_t feed_head,
                                       const std::vector<std::int64_t>& late_on_the_way,
                                       state::StateBatch& ops);
  // Gaps waited for longer than backlog_timeout are given up (a deactivated plugin's wait).
  void expire(state::WallTime now, state::StateBatch& ops);
  // An id of a gap arrived, but the filters hid it: no plugin waits for it any more.
  void settle(std::int64_t id, state::StateBatch& ops);

  // --- Persistence ----------------------------------------------------------------------------
  // The cursor to commit, when it moved since the last commit (add it to the batch).
  std::optional<std::int64_t> cursor_to_commit() const;
  // The batch holding cursor_to_commit() was committed.
  void committed(std::int64_t cursor) { persisted_ = std::max(persisted_, cursor); }

  // --- What it knows --------------------------------------------------------------------------
  const state::PluginKey& key() const { return key_; }
  std::int64_t cursor() const { return tracker_.committed(); }
  std::int64_t persisted() const { return persisted_; }
  std::int64_t head() const { return tracker_.head(); }
  std::size_t in_flight() const { return tracker_.in_flight(); }
  bool late_pending(std::int64_t id) const { return tracker_.late_pending(id); }
  bool deactivated() const { return deactivated_; }  // off the feed: deactivated or disabled
  bool disabled() const { return disabled_; }
  const std::string& deactivation_reason() const { return reason_; }
  std::int64_t gap_ids() const { return gaps_.id_count(); }
  std::vector<source::GapRange> gaps() const { return gaps_.ranges(); }
  std::int64_t handled() const { return handled_; }
  std::int64_t errors() const { return errors_; }
  std::int64_t dead_letters() const { return dead_letters_; }
  std::int64_t not_resent() const { return not_resent_; }
  const std::string& last_error() const { return last_error_; }

 private:
  void add_gap(std::int64_t first, std::int64_t last, state::WallTime now, state::StateBatch& ops);
  void forget_failures(std::int64_t id);

  state::PluginKey key_;
  LedgerSettings settings_;
  CursorTracker tracker_;
  std::int64_t persisted_ = 0;
  std::int64_t last_sent_ = 0;  // the highest regular id out of the worker's queue
  source::GapSet gaps_;
  std::map<std::pair<std::int64_t, int>, int> failures_;  // (event id, callback) -> count
  bool deactivated_ = false;
  bool disabled_ = false;
  std::string reason_;
  // Completion records: ids fall out as the cursor passes them.
  std::set<std::int64_t> done_regular_;
  std::set<std::int64_t> done_late_;

  std::int64_t handled_ = 0;
  std::int64_t errors_ = 0;
  std::int64_t dead_letters_ = 0;
  std::int64_t not_resent_ = 0;
  std::string last_error_;
};

}  // namespace sgeventd::dispatch
