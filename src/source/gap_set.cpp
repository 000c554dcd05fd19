#include "source/gap_set.h"

#include <algorithm>

namespace sgeventd::source {

std::vector<GapRange> GapSet::add(std::int64_t first, std::int64_t last, WallTime seen) {
  std::vector<GapRange> dropped;
  if (first > last) return dropped;
  // Only the parts not already recorded are new; existing parts keep their first sight.
  std::int64_t cursor = first;
  auto it = ranges_.upper_bound(first);
  if (it != ranges_.begin()) --it;
  std::vector<GapRange> fresh;
  for (; it != ranges_.end() && it->second.first <= last; ++it) {
    const GapRange& r = it->second;
    if (r.last < cursor) continue;
    if (r.first > cursor) fresh.push_back(GapRange{cursor, r.first - 1, seen});
    cursor = r.last + 1;
  }
  if (cursor <= last) fresh.push_back(GapRange{cursor, last, seen});
  for (const GapRange& r : fresh) ranges_.emplace(r.first, r);

  while (ranges_.size() > max_ranges_) {
    auto oldest =
        std::min_element(ranges_.begin(), ranges_.end(), [](const auto& a, const auto& b) {
          return a.second.first_seen < b.second.first_seen ||
                 (a.second.first_seen == b.second.first_seen && a.first < b.first);
        });
    dropped.push_back(oldest->second);
    ranges_.erase(oldest);
  }
  return dropped;
}

bool GapSet::fill(std::int64_t id) {
  auto it = ranges_.upper_bound(id);
  if (it == ranges_.begin()) return false;
  --it;
  GapRange r = it->second;
  if (id > r.last) return false;
  ranges_.erase(it);
  if (r.first < id) ranges_.emplace(r.first, GapRange{r.first, id - 1, r.first_seen});
  if (id < r.last) ranges_.emplace(id + 1, GapRange{id + 1, r.last, r.first_seen});
  return true;
}

bool GapSet::contains(std::int64_t id) const {
  auto it = ranges_.upper_bound(id);
  if (it == ranges_.begin()) return false;
  --it;
  return id <= it->second.last;
}

void GapSet::remove_above(std::int64_t id) {
  auto it = ranges_.upper_bound(id);
  if (it != ranges_.begin()) {
    auto before = std::prev(it);
    if (before->second.last > id) before->second.last = id;
  }
  ranges_.erase(it, ranges_.end());
}

void GapSet::restamp(WallTime seen) {
  for (auto& entry : ranges_) entry.second.first_seen = seen;
}

std::vector<GapRange> GapSet::expire(WallTime now, std::chrono::milliseconds timeout) {
  std::vector<GapRange> expired;
  for (auto it = ranges_.begin(); it != ranges_.end();) {
    if (it->second.first_seen + timeout <= now) {
      expired.push_back(it->second);
      it = ranges_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

std::int64_t GapSet::id_count() const {
  std::int64_t n = 0;
  for (const auto& [first, r] : ranges_) n += r.size();
  return n;
}

std::optional<WallTime> GapSet::oldest_seen() const {
  std::optional<WallTime> oldest;
  for (const auto& [first, r] : ranges_) {
    if (!oldest || r.first_seen < *oldest) oldest = r.first_seen;
  }
  return oldest;
}

std::vector<GapRange> GapSet::ranges() const {
  std::vector<GapRange> out;
  out.reserve(ranges_.size());
  for (const auto& [first, r] : ranges_) out.push_back(r);
  return out;
}

List GapSet::recheck_filters(std::size_t max_conditions) const {
  List conditions;
  List singles;
  for (const auto& [first, r] : ranges_) {
    if (conditions.size() + (singles.empty() ? 0 : 1) >= max_conditions) break;
    if (r.first == r.last) {
      singles.emplace_back(static_cast<long long>(r.first));
    } else {
      conditions.push_back(
          List{"id", "between", static_cast<long long>(r.first), static_cast<long long>(r.last)});
    }
  }
  if (!singles.empty()) conditions.push_back(List{"id", "in", std::move(singles)});
  return conditions;
}

}  // namespace sgeventd::source
