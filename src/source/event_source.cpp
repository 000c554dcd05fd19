#include "source/event_source.h"

#include <algorithm>
#include <limits>

namespace sgeventd::source {

std::optional<std::int64_t> event_id(const Value& event) { return event["id"].if_int(); }

std::vector<std::int64_t> ids_of(const List& events) {
  std::vector<std::int64_t> ids;
  ids.reserve(events.size());
  for (const Value& e : events) {
    if (auto id = event_id(e)) ids.push_back(*id);
  }
  return ids;
}

std::vector<std::int64_t> hidden_ids(const std::vector<std::int64_t>& ids, const List& page,
                                     std::int64_t upto) {
  const std::vector<std::int64_t> shown = ids_of(page);
  std::vector<std::int64_t> hidden;
  for (std::int64_t id : ids) {
    if (id > upto) break;
    if (!std::binary_search(shown.begin(), shown.end(), id)) hidden.push_back(id);
  }
  return hidden;
}

sg::Result<std::vector<std::int64_t>> EventLogReader::ids_between(std::int64_t after_id,
                                                                  std::int64_t upto, int limit) {
  auto page = upto == std::numeric_limits<std::int64_t>::max()
                  ? read_after(after_id, limit)
                  : read_between(after_id, upto, limit);
  if (!page) return tl::unexpected(page.error());
  return ids_of(*page);
}

sg::Result<std::vector<std::int64_t>> EventLogReader::ids_matching(const List& any_of, int limit) {
  auto page = read_matching(any_of, limit);
  if (!page) return tl::unexpected(page.error());
  return ids_of(*page);
}

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
    const List filters = gaps_.recheck_filters();
    auto found = reader_.read_matching(filters, std::max(limit, 1));
    ++out.requests;
    if (!found) return tl::unexpected(found.error());
    // Filtered, a late event the filters hide is not in `found`: it still fills its gap.
    std::vector<std::int64_t> exist;
    if (reader_.filtered()) {
      auto ids = reader_.ids_matching(filters, std::max(limit, 1));
      ++out.requests;
      if (!ids) return tl::unexpected(ids.error());
      exist = std::move(*ids);
    }
    last_recheck_ = clock_.now();
    for (Value& event : *found) {
      const auto id = event_id(event);
      if (id && gaps_.fill(*id)) out.events.push_back(SourcedEvent{*id, true, std::move(event)});
    }
    for (std::int64_t id : exist) {
      if (gaps_.fill(id)) out.settled.push_back(id);
    }
  }
  out.expired = gaps_.expire(now, options_.backlog_timeout);

  auto page = reader_.filtered() ? read_filtered(out) : read_plain(out);
  if (!page) return tl::unexpected(page.error());
  // Existing ids (events and hidden ones, merged in order) move the cursor; the ids between
  // them are holes.
  std::size_t h = 0;
  const auto pass = [&](std::int64_t id) {
    if (id > cursor_ + 1) {
      auto dropped = gaps_.add(cursor_ + 1, id - 1, now);
      out.dropped.insert(out.dropped.end(), dropped.begin(), dropped.end());
    }
    cursor_ = id;
  };
  for (Value& event : *page) {
    const auto id = event_id(event);
    if (!id || *id <= cursor_) continue;  // not ascending past the cursor: never deliver twice
    for (; h < out.hidden.size() && out.hidden[h] < *id; ++h) {
      if (out.hidden[h] > cursor_) pass(out.hidden[h]);
    }
    pass(*id);
    out.events.push_back(SourcedEvent{*id, false, std::move(event)});
  }
  for (; h < out.hidden.size(); ++h) {
    if (out.hidden[h] > cursor_) pass(out.hidden[h]);
  }
  return out;
}

sg::Result<List> EventSource::read_plain(PollOutcome& out) {
  auto page = reader_.read_after(cursor_, options_.batch_size);
  ++out.requests;
  if (page) out.page_full = static_cast<int>(page->size()) >= options_.batch_size;
  return page;
}

sg::Result<List> EventSource::read_filtered(PollOutcome& out) {
  // Which ids exist first (no filter, ids only), then the events the filters let through up
  // to the last of them: an id absent from both is a hole, one absent only from the second is
  // hidden (not a gap: nobody waits for it).
  auto ids =
      reader_.ids_between(cursor_, std::numeric_limits<std::int64_t>::max(), options_.batch_size);
  ++out.requests;
  if (!ids) return tl::unexpected(ids.error());
  if (ids->empty()) return List{};
  std::int64_t upto = ids->back();
  out.page_full = static_cast<int>(ids->size()) >= options_.batch_size;
  auto page = reader_.read_between(cursor_, upto, options_.batch_size);
  ++out.requests;
  if (!page) return page;
  if (static_cast<int>(page->size()) >= options_.batch_size) {
    // More matched than a page holds: this poll covers up to its last event only.
    if (auto last = event_id(page->back())) upto = *last;
    out.page_full = true;
  }
  // An event committed between the two reads is in the page but not among the ids: it
  // exists all the same, and must not become a gap (it would come twice).
  out.hidden = hidden_ids(*ids, *page, upto);
  return page;
}

}  // namespace sgeventd::source
