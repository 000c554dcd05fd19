#include "source/event_source.h"

namespace sgeventd::source {

std::optional<std::int64_t> event_id(const Value& event) { return event["id"].if_int(); }

EventSource::EventSource(EventLogReader& reader, Clock& clock, SourceOptions options,
                         std::int64_t start_after, GapSet gaps)
    : reader_(reader),
      clock_(clock),
      options_(options),
      cursor_(start_after),
      gaps_(std::move(gaps)) {}

void EventSource::look_again(const GapRange& range) {
  if (range.first > range.last || range.first > cursor_) return;
  gaps_.add(range.first, std::min(range.last, cursor_), range.first_seen);
  last_recheck_.reset();  // at the next poll
}

bool EventSource::recheck_due(WallTime now) const {
  if (gaps_.empty()) return false;
  if (!last_recheck_ || clock_.now() - *last_recheck_ >= options_.recheck_interval) return true;
  // A gap about to expire gets its last look now rather than never.
  for (const GapRange& r : gaps_.ranges()) {
    if (r.first_seen + options_.backlog_timeout <= now) return true;
  }
  return false;
}

sg::Result<PollOutcome> EventSource::poll() {
  PollOutcome out;
  const WallTime now = clock_.wall_now();

  if (recheck_due(now)) {
    const auto limit = static_cast<int>(std::min<std::int64_t>(gaps_.id_count(), 5000));
    auto found = reader_.read_matching(gaps_.recheck_filters(), std::max(limit, 1));
    ++out.requests;
    if (!found) return tl::unexpected(found.error());
    last_recheck_ = clock_.now();
    for (Value& event : *found) {
      const auto id = event_id(event);
      if (id && gaps_.fill(*id)) out.events.push_back(SourcedEvent{*id, true, std::move(event)});
    }
  }
  out.expired = gaps_.expire(now, options_.backlog_timeout);

  auto page = reader_.read_after(cursor_, options_.batch_size);
  ++out.requests;
  if (!page) return tl::unexpected(page.error());
  out.page_full = static_cast<int>(page->size()) >= options_.batch_size;
  for (Value& event : *page) {
    const auto id = event_id(event);
    if (!id || *id <= cursor_) continue;  // not ascending past the cursor: never deliver twice
    if (*id > cursor_ + 1) {
      auto dropped = gaps_.add(cursor_ + 1, *id - 1, now);
      out.dropped.insert(out.dropped.end(), dropped.begin(), dropped.end());
    }
    cursor_ = *id;
    out.events.push_back(SourcedEvent{*id, false, std::move(event)});
  }
  return out;
}

}  // namespace sgeventd::source
