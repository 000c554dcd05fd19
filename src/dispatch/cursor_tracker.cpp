#include "dispatch/cursor_tracker.h"

#include <algorithm>

namespace sgeventd::dispatch {

void CursorTracker::observe(std::int64_t id, bool needs_work) {
  if (id <= head_) return;
  head_ = id;
  if (needs_work) {
    pending_.emplace_back(id, false);
    ++unresolved_;
  }
}

void CursorTracker::observe_late(std::int64_t id) { late_.insert(id); }

void CursorTracker::resolve(std::int64_t id) {
  auto it = std::lower_bound(pending_.begin(), pending_.end(), std::make_pair(id, false));
  if (it == pending_.end() || it->first != id) {
    late_.erase(id);
    return;
  }
  if (!it->second) {
    it->second = true;
    --unresolved_;
  }
  while (!pending_.empty() && pending_.front().second) pending_.pop_front();
}

void CursorTracker::rewind(std::int64_t id) {
  const std::int64_t floor = committed();
  while (!pending_.empty() && pending_.back().first > id) {
    if (!pending_.back().second) --unresolved_;
    pending_.pop_back();
  }
  head_ = std::max(std::min(head_, id), floor);
}

std::int64_t CursorTracker::committed() const {
  return pending_.empty() ? head_ : pending_.front().first - 1;
}

}  // namespace sgeventd::dispatch
