// Events into queues: the shared feed, catch-up pages, late events, per-plugin gaps.
#include <algorithm>
#include <limits>

#include "dispatch/dispatcher.h"
#include "sgeventd/json.h"

namespace sgeventd::dispatch {

using std::chrono::milliseconds;

namespace {

std::chrono::system_clock::time_point created_at_of(const Value& event) {
  const Value& c = event["created_at"];
  if (c.is_datetime()) return c.as_datetime().utc;
  return {};
}

}  // namespace

std::shared_ptr<const SharedEvent> share_event(const Value& event, const EventAuthors& authors) {
  auto shared = std::make_shared<SharedEvent>();
  shared->authors = authors;
  shared->json = to_json(event, {.style = JsonStyle::Compact});
  if (const std::string* t = event["event_type"].if_string()) shared->event_type = *t;
  shared->attribute_name = event["attribute_name"];
  shared->created_at = created_at_of(event);
  return shared;
}

bool Dispatcher::withheld_from(const CallbackSlot& c, const EventAuthors& authors) const {
  if (options_.loop_prevention == LoopPrevention::kOff) return false;
  // A callback without a script of its own acts as the daemon's.
  const std::string& own = c.info.script_name.empty() ? daemon_script_ : c.info.script_name;
  return withheld(options_.loop_prevention, authors, own, script_names_);
}

bool Dispatcher::takes(const PluginSlot& p, const Value& event, const EventAuthors& authors) const {
  return std::any_of(p.callbacks.begin(), p.callbacks.end(), [&](const CallbackSlot& c) {
    return c.matcher.matches(event) && !withheld_from(c, authors);
  });
}

QueuedEvent Dispatcher::make_entry(const Value& event, std::int64_t id, bool late,
                                   const EventAuthors& authors,
                                   std::shared_ptr<const SharedEvent>& shared) const {
  if (!shared) shared = share_event(event, authors);
  QueuedEvent q;
  q.id = id;
  q.late = late;
  q.event = shared;
  return q;
}

EventAuthors Dispatcher::authors_if_needed(const Value& event) const {
  return options_.loop_prevention == LoopPrevention::kOff ? EventAuthors{} : authors_of(event);
}

state::WallTime Dispatcher::wall_now() const {
  return std::chrono::floor<milliseconds>(clock_.wall_now());
}

void Dispatcher::look_for(std::vector<source::GapRange> ranges) {
  if (ranges.empty()) return;
  std::lock_guard lock(status_mutex_);
  look_for_.insert(look_for_.end(), ranges.begin(), ranges.end());
}

void Dispatcher::regap_late(PluginSlot& p, std::int64_t id) {
  const auto now = wall_now();
  // An active plugin looks for it at once; one that is away does when it comes back.
  if (p.ledger.regap(id, now, pending_) && p.loaded) look_for({{id, id, now}});
}

void Dispatcher::rejoin(WorkerSlot& w, PluginSlot& p, std::int64_t from) {
  // Late events queued or in flight for it are still on their way: their gaps must go from the
  // state when they are handled.
  const std::size_t index = w.plugin_index(p.key().name);
  const auto has_plugin = [index](const QueuedEvent& q) {
    return std::find(q.plugins.begin(), q.plugins.end(), index) != q.plugins.end();
  };
  std::vector<std::int64_t> on_the_way;
  for (const QueuedEvent& q : w.queue) {
    if (q.late && has_plugin(q)) on_the_way.push_back(q.id);
  }
  for (const auto& sent : w.in_flight) {
    if (sent.second.late && has_plugin(sent.second)) on_the_way.push_back(sent.second.id);
  }
  // The gaps below `from`, late events it missed while away among them, are looked for by id;
  // what is found reaches only the plugins still missing it.
  auto ranges = p.ledger.rejoin(from, feed_head_, on_the_way, pending_);
  const auto now = wall_now();
  for (auto& r : ranges) r.first_seen = now;
  look_for(std::move(ranges));
}

void Dispatcher::offer_regular(std::size_t wi, const Value& event, std::int64_t id,
                               const EventAuthors& authors,
                               std::shared_ptr<const SharedEvent>& json) {
  WorkerSlot& w = *workers_[wi];
  std::optional<QueuedEvent> entry;
  const auto now = wall_now();
  for (std::size_t i = 0; i < w.plugins.size(); ++i) {
    PluginSlot& p = *w.plugins[i];
    // Seen already (the ledger would say so too): not worth matching.
    if (!p.on_feed() || id <= p.ledger.head()) continue;
    if (p.ledger.offer(id, takes(p, event, authors), now, pending_) != Offer::kDeliver) continue;
    if (!entry) entry = make_entry(event, id, false, authors, json);
    entry->plugins.push_back(static_cast<std::uint16_t>(i));
  }
  if (entry) {
    w.queue.push_back(std::move(*entry));
    ++w.regular_queued;
  }
}

void Dispatcher::offer_late(std::size_t wi, const Value& event, std::int64_t id,
                            const EventAuthors& authors, std::shared_ptr<const SharedEvent>& json) {
  WorkerSlot& w = *workers_[wi];
  std::optional<QueuedEvent> entry;
  for (std::size_t i = 0; i < w.plugins.size(); ++i) {
    PluginSlot& p = *w.plugins[i];
    if (!p.on_feed()) continue;
    if (p.ledger.offer_late(id, takes(p, event, authors), pending_) != Offer::kDeliver) continue;
    if (!entry) entry = make_entry(event, id, true, authors, json);
    entry->plugins.push_back(static_cast<std::uint16_t>(i));
  }
  if (entry) w.queue.push_back(std::move(*entry));
}

void Dispatcher::pass_over(WorkerSlot& w, std::int64_t id) {
  // An id the server-side filters hid: it exists (no gap), and it needs no work.
  const auto now = wall_now();
  for (auto& p : w.plugins) {
    if (p->on_feed()) p->ledger.pass_over(id, now, pending_);
  }
}

void Dispatcher::on_feed_batch(source::FeedBatch& batch) {
  // New events and hidden ids, merged in id order (late events come first, before both).
  std::size_t h = 0;
  const auto pass_hidden_below = [&](std::int64_t limit) {
    for (; h < batch.hidden.size() && batch.hidden[h] < limit; ++h) {
      for (auto& w : workers_) {
        if (!w->removing && w->mode == WorkerSlot::Mode::kFeed) pass_over(*w, batch.hidden[h]);
      }
    }
  };
  for (source::SourcedEvent& e : batch.events) {
    if (!e.late) pass_hidden_below(e.id);
    std::shared_ptr<const SharedEvent> json;  // made once, on first need
    const EventAuthors authors = authors_if_needed(e.event);
    for (std::size_t w = 0; w < workers_.size(); ++w) {
      if (workers_[w]->removing) continue;
      if (e.late) {
        offer_late(w, e.event, e.id, authors, json);
      } else if (workers_[w]->mode == WorkerSlot::Mode::kFeed) {
        offer_regular(w, e.event, e.id, authors, json);
      }
    }
    if (!e.late) {
      feed_head_ = std::max(feed_head_, e.id);
      feed_newest_at_ = std::max(feed_newest_at_, created_at_of(e.event));
    }
  }
  pass_hidden_below(std::numeric_limits<std::int64_t>::max());
  // Gaps that filled with an event the filters hid: nobody waits for them any more.
  for (std::int64_t id : batch.settled) {
    for (auto& w : workers_) {
      for (auto& p : w->plugins) p->ledger.settle(id, pending_);
    }
  }
  feed_head_ = std::max(feed_head_, batch.head);
  for (auto& w : workers_) {
    if (w->mode == WorkerSlot::Mode::kFeed && w->regular_queued > options_.queue_size) {
      shed_queue(*w);
    }
  }
}

void Dispatcher::shed_queue(WorkerSlot& w) {
  // Over its queue: drop the new events it has not been sent (they are read again from the
  // log) and leave the feed. Late events and retries stay: they cannot be read again in order.
  std::deque<QueuedEvent> kept;
  for (QueuedEvent& q : w.queue) {
    if (q.late || q.resent) kept.push_back(std::move(q));
  }
  const std::size_t dropped = w.queue.size() - kept.size();
  w.queue = std::move(kept);
  w.regular_queued = 0;
  std::int64_t from = -1;
  for (auto& p : w.plugins) {
    if (!p->on_feed()) continue;
    p->ledger.rewind(feed_head_, pending_);
    from = from < 0 ? p->ledger.head() : std::min(from, p->ledger.head());
  }
  log_->info("Worker {} is {} events behind: it reads on its own until it catches up", w.def.id,
             dropped);
  if (from >= 0) start_catch_up(w, from);
}

void Dispatcher::start_catch_up(WorkerSlot& w, std::int64_t from) {
  if (w.mode == WorkerSlot::Mode::kCatchUp) {
    if (from >= w.fetched_upto) return;
  }
  w.mode = WorkerSlot::Mode::kCatchUp;
  w.fetched_upto = from;
  ++w.read_generation;  // an answer to an earlier request would skip ids
  w.read_pending = false;
}

void Dispatcher::request_catch_up_reads(std::size_t wi) {
  WorkerSlot& w = *workers_[wi];
  if (w.mode != WorkerSlot::Mode::kCatchUp || w.read_pending || stopping_ || w.removing) return;
  if (w.fetched_upto >= feed_head_) {
    w.mode = WorkerSlot::Mode::kFeed;
    log_->info("Worker {} caught up with the feed at event {}", w.def.id, feed_head_);
    return;
  }
  if (w.regular_queued > options_.queue_size / 2) return;
  if (!catch_up_) return;
  w.read_pending = true;
  catch_up_->request(
      CatchUpRequest{wi, w.read_generation, w.fetched_upto, feed_head_, options_.batch_size});
}

void Dispatcher::on_catch_up_page(CatchUpResult& page) {
  if (page.request.worker >= workers_.size()) return;
  WorkerSlot& w = *workers_[page.request.worker];
  if (page.request.generation != w.read_generation || w.mode != WorkerSlot::Mode::kCatchUp) {
    return;
  }
  w.read_pending = false;
  std::int64_t last = w.fetched_upto;
  std::size_t h = 0;
  const auto pass_hidden_below = [&](std::int64_t limit) {
    for (; h < page.hidden.size() && page.hidden[h] < limit; ++h) {
      if (page.hidden[h] > last) pass_over(w, page.hidden[h]);
    }
  };
  for (const Value& event : page.events) {
    const auto id = event["id"].if_int();
    if (!id || *id <= last) continue;
    pass_hidden_below(*id);
    std::shared_ptr<const SharedEvent> json;
    offer_regular(page.request.worker, event, *id, authors_if_needed(event), json);
    last = *id;
  }
  pass_hidden_below(std::numeric_limits<std::int64_t>::max());
  w.fetched_upto = std::max(last, page.covered);
  if (w.fetched_upto >= feed_head_) {
    w.mode = WorkerSlot::Mode::kFeed;
    log_->info("Worker {} caught up with the feed at event {}", w.def.id, feed_head_);
  }
}

void Dispatcher::expire_gaps() {
  const auto now = wall_now();
  for (auto& w : workers_) {
    for (auto& p : w->plugins) p->ledger.expire(now, pending_);
  }
}

}  // namespace sgeventd::dispatch
