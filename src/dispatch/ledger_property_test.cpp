// The ledger against a model (DESIGN.md section 4). A small simulated site writes events, some
// of them late (their ids visible only after higher ones, as a site's transactions commit out
// of order); a simulated source reads them in order, looks for missing ids again, and a
// simulated worker takes what the ledger hands out and finishes it in any order: done, failed
// and retried, parked, or deactivating its plugin. Between any two steps the daemon may commit
// the state, fail to commit, let time pass, shed its queue, or die: a crash throws away
// everything not committed and rebuilds the ledger from the store alone, through the same
// decide_start the daemon uses. What must hold, over every such history:
//
//   - every matching event is done or parked (never skipped), unless the wait for its late id
//     outlived backlog_timeout (the one way an event is given up, logged by the daemon);
//   - the persisted cursor never passes an unresolved event: each one is above it or in a
//     persisted gap, so a crash finds it again;
//   - after a commit, the gaps in memory are the gaps persisted (and the late events in
//     flight, whose gaps stay until they are done);
//   - with completion records, the events delivered again after a crash are among those that
//     were in flight (delivered and not done) at the crash.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "dispatch/ledger.h"
#include "dispatch/plugin_start.h"
#include "state/memory_state_store.h"

namespace sgeventd::dispatch {
namespace {

using namespace std::chrono_literals;
using state::WallTime;

constexpr std::chrono::milliseconds kBacklog{60'000};

struct SiteEvent {
  bool wanted = false;    // a callback of the plugin matches it
  bool filtered = false;  // unwanted, and hidden by the read's filters
  bool visible = false;   // committed on the site
};

struct Delivery {
  std::int64_t id = 0;
  bool late = false;
  bool sent = false;    // handed to the worker (not just queued)
  bool resent = false;  // failed and queued again: not new to the queue
};

class Simulation {
 public:
  Simulation(std::vector<SiteEvent> site, bool records)
      : site_(std::move(site)), records_(records), store_([this] { return now_; }) {
    restart();
  }

  // --- The site and the source ----------------------------------------------------------------
  void publish(std::size_t pick) {
    std::vector<std::int64_t> hidden;
    for (std::size_t i = 0; i < site_.size(); ++i) {
      if (!site_[i].visible) hidden.push_back(static_cast<std::int64_t>(i + 1));
    }
    if (hidden.empty()) return;
    at(hidden[pick % hidden.size()]).visible = true;
    RC_LOG() << "publish " << hidden[pick % hidden.size()] << "\n";
  }

  void poll() {
    RC_LOG() << "poll\n";
    // Ids looked for again (late events), then what is new, in id order.
    for (auto it = look_for_.begin(); it != look_for_.end();) {
      if (*it <= source_head_ && at(*it).visible) {
        offer_late(*it);
        it = look_for_.erase(it);
      } else {
        ++it;
      }
    }
    for (std::int64_t id = 1; id <= source_head_; ++id) {
      if (at(id).visible && !source_seen_.count(id)) offer_late(id);
    }
    const std::int64_t from = source_head_;
    for (std::int64_t id = from + 1; id <= size(); ++id) {
      if (!at(id).visible) continue;
      source_seen_.insert(id);
      offer_regular(id);
      source_head_ = id;
    }
    // Hidden ids become the source's own gaps; it looks for them on every poll.
  }

  // --- The worker --------------------------------------------------------------------------------
  void send() {
    for (Delivery& d : queue_) {
      if (d.sent) continue;
      d.sent = true;
      if (!d.late && !d.resent) ledger_->sent(d.id);
      return;
    }
  }

  enum class Outcome { kDone, kRetry, kPark, kDeactivate };

  void finish(std::size_t pick, Outcome outcome) {
    std::vector<std::size_t> sent;
    for (std::size_t i = 0; i < queue_.size(); ++i) {
      if (queue_[i].sent) sent.push_back(i);
    }
    if (sent.empty()) return;
    const std::size_t index = sent[pick % sent.size()];
    const Delivery d = queue_[index];
    RC_LOG() << "finish " << d.id << (d.late ? " (late) " : " ") << static_cast<int>(outcome)
             << "\n";
    switch (outcome) {
      case Outcome::kDone:
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
        done_.insert(d.id);  // the worker's completion record
        ledger_->resolve(d.id, d.late, pending_);
        break;
      case Outcome::kRetry:
        ledger_->count_failure(d.id, 0, "failed");
        queue_[index].sent = false;  // sent again later
        queue_[index].resent = true;
        break;
      case Outcome::kPark: {
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
        state::DeadLetter letter;
        letter.callback = "cb";
        letter.event_id = d.id;
        letter.attempts = 1;
        letter.first_failure = letter.last_failure = now_;
        ledger_->park(letter, pending_);
        ledger_->resolve(d.id, d.late, pending_);
        break;
      }
      case Outcome::kDeactivate:
        ledger_->count_failure(d.id, 0, "failed");
        ledger_->deactivate("stopOnError", now_, pending_);
        // Nothing more runs: late events wait as gaps again, new ones are read again later.
        for (const Delivery& q : queue_) {
          if (q.late) ledger_->regap(q.id, now_, pending_);
        }
        queue_.clear();
        break;
    }
  }

  void reactivate() {
    if (!ledger_->deactivated()) return;
    RC_LOG() << "reactivate\n";
    const std::int64_t from = ledger_->reactivate(now_, pending_);
    rejoin(from);
  }

  // The worker fell too far behind: its unsent new events go, it reads them again itself.
  void shed() {
    if (ledger_->deactivated()) return;
    RC_LOG() << "shed\n";
    std::erase_if(queue_, [](const Delivery& d) { return !d.late && !d.sent && !d.resent; });
    ledger_->rewind(source_head_, pending_);
    catch_up(ledger_->head());
  }

  // --- The daemon -------------------------------------------------------------------------------
  void commit() {
    state::StateBatch batch = pending_;
    const auto cursor = ledger_->cursor_to_commit();
    if (cursor) batch.advance_cursor(ledger_->key(), *cursor);
    if (batch.empty()) return;
    RC_LOG() << "commit\n";
    if (!store_.commit(batch)) return;  // failing: everything is kept for the next try
    pending_.clear();
    if (cursor) ledger_->committed(*cursor);
    check_persisted();
  }

  void fail_commits(bool fail) {
    RC_LOG() << "fail_commits " << fail << "\n";
    store_.fail_commits(fail);
  }

  void tick(std::chrono::milliseconds d) {
    now_ += d;
    RC_LOG() << "tick " << d.count() << "\n";
    const auto before = ledger_->gaps();
    ledger_->expire(now_, pending_);
    // What expired is given up: an event arriving for it later is missed, by design.
    std::set<std::int64_t> still;
    for (const auto& g : ledger_->gaps()) {
      for (std::int64_t id = g.first; id <= g.last; ++id) still.insert(id);
    }
    for (const auto& g : before) {
      for (std::int64_t id = g.first; id <= g.last; ++id) {
        if (!still.count(id)) given_up_.insert(id);
      }
    }
  }

  void crash() {
    RC_LOG() << "crash\n";
    std::set<std::int64_t> in_flight;
    for (std::int64_t id : delivered_) {
      if (!done_.count(id)) in_flight.insert(id);
    }
    in_flight_at_crash_ = std::move(in_flight);
    redelivered_since_crash_.clear();
    delivered_this_life_.clear();
    crashed_ = true;
    store_.fail_commits(false);
    restart();
  }

  // Everything visible, every plugin active, every event run: the end of a history.
  void drain() {
    RC_LOG() << "drain\n";
    store_.fail_commits(false);
    for (std::size_t i = 0; i < site_.size(); ++i) site_[i].visible = true;
    for (int round = 0; round < 6; ++round) {
      reactivate();
      poll();
      while (!queue_.empty()) {
        send();
        finish(0, Outcome::kDone);
      }
      commit();
    }
  }

  // --- The properties ---------------------------------------------------------------------------
  void check_end() const {
    for (std::int64_t id = 1; id <= size(); ++id) {
      if (!at(id).wanted || given_up_.count(id)) continue;
      RC_ASSERT(done_.count(id) + parked(id) > 0);
    }
    RC_ASSERT(ledger_->in_flight() == 0u);
  }

  const std::set<std::int64_t>& redelivered_since_crash() const { return redelivered_since_crash_; }
  const std::set<std::int64_t>& in_flight_at_crash() const { return in_flight_at_crash_; }

 private:
  SiteEvent& at(std::int64_t id) { return site_[static_cast<std::size_t>(id - 1)]; }
  const SiteEvent& at(std::int64_t id) const { return site_[static_cast<std::size_t>(id - 1)]; }
  std::int64_t size() const { return static_cast<std::int64_t>(site_.size()); }

  std::size_t parked(std::int64_t id) const {
    auto letters = store_.dead_letters({});
    RC_ASSERT(letters.has_value());
    return static_cast<std::size_t>(
        std::count_if(letters->begin(), letters->end(),
                      [id](const state::DeadLetter& l) { return l.event_id == id; }));
  }

  void delivered(std::int64_t id, bool late) {
    RC_LOG() << "  deliver " << id << (late ? " late\n" : "\n");
    queue_.push_back({id, late, false});
    if (crashed_ && delivered_.count(id) && !delivered_this_life_.count(id)) {
      redelivered_since_crash_.insert(id);
    }
    delivered_.insert(id);
    delivered_this_life_.insert(id);
  }

  void offer_regular(std::int64_t id) {
    const SiteEvent& e = at(id);
    if (e.filtered) {
      ledger_->pass_over(id, now_, pending_);
      return;
    }
    if (ledger_->offer(id, e.wanted, now_, pending_) == Offer::kDeliver) delivered(id, false);
  }

  void offer_late(std::int64_t id) {
    source_seen_.insert(id);
    const SiteEvent& e = at(id);
    if (e.filtered) {
      ledger_->settle(id, pending_);
      return;
    }
    if (ledger_->offer_late(id, e.wanted, pending_) == Offer::kDeliver) delivered(id, true);
  }

  // The plugin's own reads, after `from` up to the feed's head.
  void catch_up(std::int64_t from) {
    for (std::int64_t id = from + 1; id <= source_head_; ++id) {
      if (at(id).visible) offer_regular(id);
    }
  }

  void rejoin(std::int64_t from) {
    std::vector<std::int64_t> on_the_way;
    for (const Delivery& d : queue_) {
      if (d.late) on_the_way.push_back(d.id);
    }
    for (const auto& g : ledger_->rejoin(from, source_head_, on_the_way, pending_)) {
      for (std::int64_t id = g.first; id <= g.last; ++id) look_for_.insert(id);
    }
    catch_up(from);
  }

  void restart() {
    queue_.clear();
    pending_.clear();
    const state::PluginKey key{"/plugins/p.py", "p"};
    auto decision = decide_start(store_, key, source_head_, now_, kBacklog);
    RC_ASSERT(decision.has_value());
    RC_ASSERT(store_.commit(decision->writes).has_value());
    ledger_.emplace(key, decision->start, LedgerSettings{kBacklog, 1000});
    if (records_ && decision->start.own_state) {
      ledger_->take_recorded(std::vector<std::int64_t>(done_.begin(), done_.end()));
    }
    check_persisted();
    rejoin(ledger_->head());
  }

  void check_persisted() {
    auto row = store_.plugin(ledger_->key());
    RC_ASSERT(row.has_value());
    RC_ASSERT(row->has_value());
    const state::PluginState& s = **row;
    const std::int64_t cursor = s.cursor.value_or(0);
    std::set<std::int64_t> persisted_gaps;
    for (const state::Gap& g : s.gaps) {
      for (std::int64_t id = g.first_id; id <= g.last_id; ++id) persisted_gaps.insert(id);
    }
    // Gaps in memory are the gaps persisted (once nothing is pending), but for the late events
    // in flight: their gap stays in the state until they are done, so a crash finds them.
    if (pending_.empty()) {
      std::set<std::int64_t> memory;
      for (const auto& g : ledger_->gaps()) {
        for (std::int64_t id = g.first; id <= g.last; ++id) memory.insert(id);
      }
      for (std::int64_t id : memory) RC_ASSERT(persisted_gaps.count(id) > 0);
      for (std::int64_t id : persisted_gaps) {
        if (!memory.count(id)) RC_ASSERT(ledger_->late_pending(id));
      }
      RC_ASSERT(cursor == ledger_->persisted());
    }
    // The cursor never passes an unresolved event: a crash now would find each one again.
    for (std::int64_t id = 1; id <= std::min(cursor, size()); ++id) {
      const SiteEvent& e = at(id);
      if (!e.wanted || done_.count(id) || given_up_.count(id) || parked(id)) continue;
      RC_ASSERT(persisted_gaps.count(id) > 0);
    }
  }

  std::vector<SiteEvent> site_;
  bool records_;
  WallTime now_{std::chrono::floor<std::chrono::milliseconds>(
      std::chrono::sys_days{std::chrono::year{2026} / 12 / 1}.time_since_epoch())};
  mutable state::MemoryStateStore store_;  // its reads are not const
  std::optional<PluginLedger> ledger_;
  state::StateBatch pending_;

  std::int64_t source_head_ = 0;
  std::set<std::int64_t> source_seen_;
  std::set<std::int64_t> look_for_;
  std::deque<Delivery> queue_;

  std::set<std::int64_t> delivered_;
  std::set<std::int64_t> delivered_this_life_;
  std::set<std::int64_t> done_;  // finished by the worker, in any life
  std::set<std::int64_t> given_up_;
  bool crashed_ = false;
  std::set<std::int64_t> in_flight_at_crash_;
  std::set<std::int64_t> redelivered_since_crash_;
};

std::vector<SiteEvent> random_site() {
  const auto n = *rc::gen::inRange<std::size_t>(1, 40);
  std::vector<SiteEvent> site(n);
  for (SiteEvent& e : site) {
    e.wanted = *rc::gen::inRange(0, 3) > 0;
    e.filtered = !e.wanted && *rc::gen::inRange(0, 2) == 0;
    e.visible = *rc::gen::inRange(0, 5) > 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    RC_LOG() << "event " << i + 1 << (site[i].wanted ? " wanted" : "")
             << (site[i].filtered ? " filtered" : "") << (site[i].visible ? "" : " hidden") << "\n";
  }
  return site;
}

void run_history(Simulation& sim, bool check_crashes) {
  const int steps = *rc::gen::inRange(1, 120);
  for (int i = 0; i < steps; ++i) {
    switch (*rc::gen::inRange(0, 13)) {
      case 0:
        sim.publish(*rc::gen::inRange<std::size_t>(0, 64));
        break;
      case 1:
      case 2:
        sim.poll();
        break;
      case 3:
      case 4:
        sim.send();
        break;
      case 5:
      case 6:
        sim.finish(*rc::gen::inRange<std::size_t>(0, 64), Simulation::Outcome::kDone);
        break;
      case 7:
        sim.finish(*rc::gen::inRange<std::size_t>(0, 64),
                   *rc::gen::element(Simulation::Outcome::kRetry, Simulation::Outcome::kPark,
                                     Simulation::Outcome::kDeactivate));
        break;
      case 8:
        sim.reactivate();
        break;
      case 9:
        sim.commit();
        break;
      case 10:
        sim.tick(std::chrono::milliseconds(*rc::gen::inRange(0, 2 * 60'000)));
        break;
      case 11:
        if (*rc::gen::inRange(0, 4) == 0) {
          sim.crash();
        } else if (*rc::gen::inRange(0, 2) == 0) {
          sim.shed();
        } else {
          sim.fail_commits(*rc::gen::arbitrary<bool>());
        }
        break;
      case 12:
        sim.commit();
        break;
    }
    if (check_crashes) {
      for (std::int64_t id : sim.redelivered_since_crash()) {
        RC_ASSERT(sim.in_flight_at_crash().count(id) > 0);
      }
    }
  }
  sim.drain();
  sim.check_end();
}

RC_GTEST_PROP(LedgerProperty, NothingSkippedCursorSafeGapsPersistedWithoutRecords, ()) {
  Simulation sim(random_site(), false);
  run_history(sim, false);
}

RC_GTEST_PROP(LedgerProperty, WithRecordsACrashRedeliversOnlyWhatWasInFlight, ()) {
  Simulation sim(random_site(), true);
  run_history(sim, true);
}

}  // namespace
}  // namespace sgeventd::dispatch
