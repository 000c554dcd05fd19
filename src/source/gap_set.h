// Event ids the poller has passed over without seeing them.
//
// Sites allocate EventLogEntry ids before the transaction commits, so a lower id can become
// visible after higher ones (sg-protocol.md section 11). The poller delivers what it sees at
// once and remembers the missing ids here, each from the moment it first noticed them, for
// backlog_timeout. Missing ids are kept as ranges, so a large jump costs one entry, and the
// number of ranges is bounded: past the bound the oldest are given up early (and reported),
// never silently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "sgeventd/value.h"

namespace sgeventd::source {

using WallTime = std::chrono::system_clock::time_point;

struct GapRange {
  std::int64_t first = 0;  // inclusive
  std::int64_t last = 0;   // inclusive
  WallTime first_seen;

  std::int64_t size() const { return last - first + 1; }
  friend bool operator==(const GapRange&, const GapRange&) = default;
};

class GapSet {
 public:
  explicit GapSet(std::size_t max_ranges = 10000) : max_ranges_(max_ranges) {}

  // Records [first, last] as missing since `seen` (ids already recorded keep their time).
  // Returns the ranges given up because the bound was reached (oldest first).
  std::vector<GapRange> add(std::int64_t first, std::int64_t last, WallTime seen);
  // An id arrived. True if it was missing (a late event), false if it was never a gap.
  bool fill(std::int64_t id);
  bool contains(std::int64_t id) const;
  // Forgets every missing id above `id` (a reader going back will find them again).
  void remove_above(std::int64_t id);
  // Every gap counts as first seen at `seen` (a plugin back after a long absence waits for
  // its gaps from then).
  void restamp(WallTime seen);
  // Removes and returns the ranges first seen at or before `now - timeout`.
  std::vector<GapRange> expire(WallTime now, std::chrono::milliseconds timeout);

  bool empty() const { return ranges_.empty(); }
  std::size_t range_count() const { return ranges_.size(); }
  std::int64_t id_count() const;
  // When the longest-waiting gap was first seen; nullopt when there is none. O(ranges).
  std::optional<WallTime> oldest_seen() const;
  std::vector<GapRange> ranges() const;

  // A filter (user syntax, filter_operator "any") finding the missing ids still open, at
  // most max_conditions conditions: single ids as one "in" list, ranges as "between".
  List recheck_filters(std::size_t max_conditions = 100) const;

 private:
  std::map<std::int64_t, GapRange> ranges_;  // by first id; ranges never overlap
  std::size_t max_ranges_;
};

}  // namespace sgeventd::source
