// How the source reads the site's event log. The real reader queries EventLogEntry through the
// api3 client (sg_event_log_reader.h); tests use an in-memory log with ids that become
// visible late.
#pragma once

#include <cstdint>

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
};

}  // namespace sgeventd::source
