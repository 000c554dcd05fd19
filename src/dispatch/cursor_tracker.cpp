#include "dispatch/cursor_tracker.h"

#include <algorithm>

namespace sgeventd::dispatch {

void CursorTracker::observe(std::int64_t id, bool needs_work) {
  if (id <= head_) return;
  head_ = id;
  if (needs_work) pending_.insert(id);
}

void CursorTracker::observe_late(std::int64_t id) { late_.insert(id); }

void CursorTracker::resolve(std::int64_t id) {
  if (pending_.erase(id) == 0) late_.erase(id);
}

void CursorTracker::rewind(std::int64_t id) {
  pending_.erase(pending_.upper_bound(id), pending_.end());
  head_ = std::max(std::min(head_, id), floor_);
}

std::int64_t CursorTracker::committed() const {
  return pending_.empty() ? head_ : *pending_.begin() - 1;
}

}  // namespace sgeventd::dispatch
