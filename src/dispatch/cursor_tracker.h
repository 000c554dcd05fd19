// A plugin's committed cursor: the highest event id such that every event at or below it that
// the plugin had to handle has been resolved (handled, or given up and parked as a dead
// letter). Only this is persisted, so a restart resumes right after the last resolved event:
// nothing lost, and only events still in flight at a kill are delivered again.
//
// Events that do not match the plugin are resolved the moment they are seen, but they never
// move the cursor past an earlier event still in flight. Late events (ids below the cursor
// that appear after a gap) are tracked apart: the source keeps their gap open in the state
// until every plugin has resolved them.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <utility>

namespace sgeventd::dispatch {

class CursorTracker {
 public:
  explicit CursorTracker(std::int64_t committed) : head_(committed) {}

  // A regular event, in increasing id order. `needs_work` when it matched a callback.
  // Ids at or below the head are ignored (already seen).
  void observe(std::int64_t id, bool needs_work);
  // A late event (below the head) that needs work.
  void observe_late(std::int64_t id);
  // A late event that will not be resolved now (it is waited for again).
  void forget_late(std::int64_t id) { late_.erase(id); }
  // The worker finished (or the event was given up on).
  void resolve(std::int64_t id);
  // Forgets the regular events above `id` that were never handed to the worker (they were
  // dropped from its queue and will be read again): the head goes back to `id`, but never
  // below the committed cursor: everything up to it is resolved, and an id it passed that was
  // taken for done (completion records) must not be taken as new.
  void rewind(std::int64_t id);

  std::int64_t committed() const;
  std::int64_t head() const { return head_; }  // highest regular id seen
  std::size_t in_flight() const { return unresolved_ + late_.size(); }
  bool late_pending(std::int64_t id) const { return late_.count(id) > 0; }

 private:
  std::int64_t head_;
  // Regular ids in the order seen (ascending), each with whether it is resolved; resolved ones
  // leave from the front. Events mostly resolve in order, so this costs no allocation per
  // event, unlike a tree.
  std::deque<std::pair<std::int64_t, bool>> pending_;
  std::size_t unresolved_ = 0;
  std::set<std::int64_t> late_;  // late ids not yet resolved
};

}  // namespace sgeventd::dispatch
