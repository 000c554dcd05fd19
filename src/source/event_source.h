// The poller's core: one read of the event log serves every plugin (DESIGN.md section 3).
//
// It reads ids above its cursor in ascending order and hands every event on at once. Ids it
// passes over go into a GapSet from the moment they are first seen; a cheap query by id finds
// the ones that commit late (they are handed on flagged `late`), and after backlog_timeout a
// gap is given up and reported. The window behind the cursor is never read again, so there is
// no re-query storm and nothing is delivered twice by the source.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "sgeventd/clock.h"
#include "sgeventd/source/event_log_reader.h"
#include "source/gap_set.h"

namespace sgeventd::source {

struct SourceOptions {
  int batch_size = 500;  // max_event_batch_size
  std::chrono::milliseconds backlog_timeout = std::chrono::minutes(5);
  // How often open gaps are looked for; a gap about to expire is always looked for once more.
  std::chrono::milliseconds recheck_interval = std::chrono::seconds(1);
  std::size_t max_gap_ranges = 10000;
};

struct SourcedEvent {
  std::int64_t id = 0;
  bool late = false;  // arrived after higher ids were handed on
  Value event;
};

struct PollOutcome {
  std::vector<SourcedEvent> events;  // late ones first, then new ones in id order
  bool page_full = false;            // poll again at once
  std::vector<GapRange> expired;     // gaps given up: their ids never appeared in time
  std::vector<GapRange> dropped;     // gaps given up early because too many were open
  int requests = 0;                  // reads made by this poll
  // With server-side filters: ids read past that the filters hid (they exist, so they are not
  // gaps), ascending; and gap ids that filled with a hidden event (no plugin waits for them).
  std::vector<std::int64_t> hidden;
  std::vector<std::int64_t> settled;
};

class EventSource {
 public:
  // Reads ids above `start_after`; `gaps` are the ones restored from state.
  EventSource(EventLogReader& reader, Clock& clock, SourceOptions options, std::int64_t start_after,
              GapSet gaps = GapSet());

  // One poll: a gap recheck when due, expiry, then one read of new events. On error nothing
  // moved: the same poll can be retried.
  sg::Result<PollOutcome> poll();

  std::int64_t cursor() const { return cursor_; }
  const GapSet& gaps() const { return gaps_; }

  // Look for these ids (below the cursor) again, as if they were gaps seen `seen`: a plugin
  // that was deactivated while one of its late events arrived needs it after all. What is
  // found is handed on `late` again; the dispatcher gives it only to plugins still missing it.
  void look_again(const GapRange& range);

 private:
  bool recheck_due(WallTime now) const;
  // One page of new events, unfiltered or through the server-side filters (then with
  // out.hidden filled).
  sg::Result<List> read_plain(PollOutcome& out);
  sg::Result<List> read_filtered(PollOutcome& out);

  EventLogReader& reader_;
  Clock& clock_;
  SourceOptions options_;
  std::int64_t cursor_;
  GapSet gaps_;
  std::optional<Clock::time_point> last_recheck_;
};

// The id of an event dict, if it has an integer one.
std::optional<std::int64_t> event_id(const Value& event);

}  // namespace sgeventd::source
