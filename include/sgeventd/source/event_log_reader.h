// How the source reads the site's event log. The real reader queries EventLogEntry through the
// api3 client (sg_event_log_reader.h); tests use an in-memory log with ids that become
// visible late.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "sgeventd/sg/error.h"
#include "sgeventd/value.h"

namespace sgeventd::source {

class EventLogReader {
 public:
  virtual ~EventLogReader() = default;
  // Events with id > after_id in ascending id order, at most `limit`.
  virtual sg::Result<List> read_after(std::int64_t after_id, int limit) = 0;
  // The same, but only ids <= upto: a plugin catching up on its own reads only what the shared
  // feed has already passed, so its reads and the feed's never overlap.
  virtual sg::Result<List> read_between(std::int64_t after_id, std::int64_t upto, int limit) = 0;
  // Events matching any of these conditions (user filter syntax), ascending, at most `limit`.
  virtual sg::Result<List> read_matching(const List& any_of, int limit) = 0;
  // The newest event id (0 for an empty log).
  virtual sg::Result<std::int64_t> newest_id() = 0;

  // Server-side filters (event types, projects) leave events out of the three reads above:
  // their pages then do not say which ids exist, so a hidden id would look like a hole. A
  // filtered reader says so, and answers the two reads below on ids alone, without filters
  // (small rows), so that holes are told from hidden ids. For an unfiltered reader they are
  // the reads above, reduced to ids.
  virtual bool filtered() const { return false; }
  // Every id > after_id and <= upto, ascending, at most `limit`.
  virtual sg::Result<std::vector<std::int64_t>> ids_between(std::int64_t after_id,
                                                            std::int64_t upto, int limit);
  // Every id any of these conditions names, ascending, at most `limit`.
  virtual sg::Result<std::vector<std::int64_t>> ids_matching(const List& any_of, int limit);
};

// The ids of a page of events, in its order (events without an integer id are left out).
std::vector<std::int64_t> ids_of(const List& events);

// Of `ids` (ascending, every event that exists), those up to `upto` that the filtered `page`
// left out: hidden, not holes.
std::vector<std::int64_t> hidden_ids(const std::vector<std::int64_t>& ids, const List& page,
                                     std::int64_t upto);

}  // namespace sgeventd::source
