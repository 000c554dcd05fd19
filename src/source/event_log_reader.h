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
  // Events matching any of these conditions (user filter syntax), ascending, at most `limit`.
  virtual sg::Result<List> read_matching(const List& any_of, int limit) = 0;
  // The newest event id (0 for an empty log).
  virtual sg::Result<std::int64_t> newest_id() = 0;
};

}  // namespace sgeventd::source
