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

std::shared_ptr<const SharedEvent> share(const Value& event, const EventAuthors& authors) {
  auto shared = std::make_shared<SharedEvent>();
  shared->authors = authors;
  shared->json = to_json(event, {.style = JsonStyle::Compact});
  if (const std::string* t = event["event_type"].if_string()) shared->event_type = *t;
  shared->attribute_name = event["attribute_name"];
  shared->created_at = created_at_of(event);
  return shared;
}

}  // namespace

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
  if (!shared) shared = share(event, authors);
  QueuedEvent q;
  q.id = id;
  q.late = late;
  q.event = shared;
  return q;
}

EventAuthors Dispatcher::authors_if_needed(const Value& event) const {
  return options_.loop_prevention == LoopPrevention::kOff ? EventAuthors{} : authors_of(event);
}

void Dispatcher::add_plugin_gap(PluginSlot& p, std::int64_t first, std::int64_t last) {
  const auto now = std::chrono::system_clock::now();
  for (const source::GapRange& dropped : p.gaps.add(first, last, now)) {
    pending_.remove_gap_ids(p.key, dropped.first, dropped.last);
  }
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(now);
  pending_.add_gap(p.key, state::Gap{first, last, ms, ms + options_.backlog_timeout});
}

void Dispatcher::regap_late(PluginSlot& p, std::int64_t id) {
  // Replaying from the cursor never reaches it again (it is below), so it becomes a gap again,
  // waited for from now, in memory and in the state alike.
  pending_.remove_gap_ids(p.key, id, id);
  add_plugin_gap(p, id, id);
  // An active plugin looks for it at once; one that is away does when it comes back.
  if (p.on_feed()) {
    std::lock_guard lock(status_mutex_);
    look_for_.push_back({id, id, std::chrono::system_clock::now()});
  }
}

void Dispatcher::recover_gaps(WorkerSlot& w, PluginSlot& p, std::int64_t from) {
  // Late events queued or in flight for it are still on their way: their gaps must go from the
  // state when they are handled (resolve() looks at the tracker, which was just reset).
  const std::size_t index = w.plugin_index(p.key.name);
  const auto has_plugin = [index](const QueuedEvent& q) {
    return std::find(q.plugins.begin(), q.plugins.end(), index) != q.plugins.end();
  };
  for (const QueuedEvent& q : w.queue) {
    if (q.late && has_plugin(q)) p.tracker.observe_late(q.id);
  }
  for (const auto& sent : w.in_flight) {
    if (sent.second.late && has_plugin(sent.second)) p.tracker.observe_late(sent.second.id);
  }
  if (p.gaps.empty()) return;
  // Catching up from `from` reads every id above it again: gaps there would come twice.
  if (from < feed_head_) pending_.remove_gap_ids(p.key, from + 1, feed_head_);
  p.gaps.remove_above(from);
  // The ones below, late events it missed while away among them, are looked for by id; what
  // is found reaches only the plugins still missing it.
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(status_mutex_);
  for (const source::GapRange& g : p.gaps.ranges()) look_for_.push_back({g.first, g.last, now});
}

void Dispatcher::restamp_gaps(PluginSlot& p) {
  // A deactivated plugin's gaps do not expire (expire_gaps): back, it waits for them from now,
  // in memory and in the state alike.
  p.gaps.restamp(std::chrono::system_clock::now());
  for (const source::GapRange& g : p.gaps.ranges()) {
    pending_.remove_gap_ids(p.key, g.first, g.last);
    add_plugin_gap(p, g.first, g.last);  // the state's row, stamped now (memory already is)
  }
}

void Dispatcher::offer_regular(std::size_t wi, const Value& event, std::int64_t id,
                               const EventAuthors& authors,
                               std::shared_ptr<const SharedEvent>& json) {
  WorkerSlot& w = *workers_[wi];
  std::optional<QueuedEvent> entry;
  for (std::size_t i = 0; i < w.plugins.size(); ++i) {
    PluginSlot& p = *w.plugins[i];
    if (!p.on_feed() || id <= p.tracker.head()) continue;
    if (id > p.tracker.head() + 1) add_plugin_gap(p, p.tracker.head() + 1, id - 1);
    bool wanted = takes(p, event, authors);
    if (!p.done_regular.empty()) {
      // Its worker finished it before the daemon last stopped (completion records).
      while (!p.done_regular.empty() && *p.done_regular.begin() <= p.tracker.committed()) {
        p.done_regular.erase(p.done_regular.begin());
      }
      if (wanted && p.done_regular.count(id) > 0) {
        wanted = false;
        ++p.not_resent;
      }
    }
    p.tracker.observe(id, wanted);
    if (!wanted) continue;
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
    // Only a plugin that passed over this id without it takes it now; one that has not read
    // this far yet (catching up) will read it in order.
    if (!p.on_feed() || !p.gaps.fill(id)) continue;
    bool wanted = takes(p, event, authors);
    if (!p.done_late.empty() && p.done_late.erase(id) > 0 && wanted) {
      wanted = false;  // finished before the daemon last stopped (completion records)
      ++p.not_resent;
    }
    if (!wanted) {
      pending_.remove_gap_ids(p.key, id, id);
      continue;
    }
    p.tracker.observe_late(id);
    if (!entry) entry = make_entry(event, id, true, authors, json);
    entry->plugins.push_back(static_cast<std::uint16_t>(i));
  }
  if (entry) w.queue.push_back(std::move(*entry));
}

void Dispatcher::pass_over(WorkerSlot& w, std::int64_t id) {
  // An id the server-side filters hid: it exists (no gap), and it needs no work.
  for (auto& p : w.plugins) {
    if (!p->on_feed() || id <= p->tracker.head()) continue;
    if (id > p->tracker.head() + 1) add_plugin_gap(*p, p->tracker.head() + 1, id - 1);
    p->tracker.observe(id, false);
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
    if (!e.late) feed_head_ = std::max(feed_head_, e.id);
  }
  pass_hidden_below(std::numeric_limits<std::int64_t>::max());
  // Gaps that filled with an event the filters hid: nobody waits for them any more.
  for (std::int64_t id : batch.settled) {
    for (auto& w : workers_) {
      for (auto& p : w->plugins) {
        if (p->gaps.fill(id)) pending_.remove_gap_ids(p->key, id, id);
      }
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
    p->tracker.rewind(w.last_sent_regular);
    // Gaps above the rewind point are found again by the catch-up reads.
    if (p->tracker.head() < feed_head_) {
      pending_.remove_gap_ids(p->key, p->tracker.head() + 1, feed_head_);
      p->gaps.remove_above(p->tracker.head());
    }
    from = from < 0 ? p->tracker.head() : std::min(from, p->tracker.head());
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
  const auto now = std::chrono::system_clock::now();
  for (auto& w : workers_) {
    for (auto& p : w->plugins) {
      // A deactivated plugin's gaps wait for it: their events may have come while it was
      // away, and it looks for them when it comes back.
      if (p->gaps.empty() || p->deactivated) continue;
      for (const source::GapRange& g : p->gaps.expire(now, options_.backlog_timeout)) {
        pending_.remove_gap_ids(p->key, g.first, g.last);
      }
    }
  }
}

}  // namespace sgeventd::dispatch
