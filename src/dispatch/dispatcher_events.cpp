// Events into queues: the shared feed, catch-up pages, late events, per-plugin gaps.
#include <algorithm>

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

std::shared_ptr<const SharedEvent> share(const Value& event) {
  auto shared = std::make_shared<SharedEvent>();
  shared->json = to_json(event, {.style = JsonStyle::Compact});
  if (const std::string* t = event["event_type"].if_string()) shared->event_type = *t;
  shared->attribute_name = event["attribute_name"];
  shared->created_at = created_at_of(event);
  return shared;
}

bool any_callback_matches(const PluginSlot& p, const Value& event) {
  return std::any_of(p.callbacks.begin(), p.callbacks.end(),
                     [&event](const CallbackSlot& c) { return c.matcher.matches(event); });
}

}  // namespace

bool Dispatcher::made_by_daemon(const Value& event) const {
  if (!options_.loop_prevention || script_names_.empty()) return false;
  auto by_script = [this](const Value& user) {
    const std::string* type = user["type"].if_string();
    const std::string* name = user["name"].if_string();
    return type && *type == "ApiUser" && name && script_names_.count(*name) > 0;
  };
  return by_script(event["user"]) || by_script(event["meta"]["sudo_actual_user"]);
}

QueuedEvent Dispatcher::make_entry(const Value& event, std::int64_t id, bool late,
                                   std::shared_ptr<const SharedEvent>& shared) const {
  if (!shared) shared = share(event);
  QueuedEvent q;
  q.id = id;
  q.late = late;
  q.event = shared;
  return q;
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

void Dispatcher::offer_regular(std::size_t wi, const Value& event, std::int64_t id, bool ours,
                               std::shared_ptr<const SharedEvent>& json) {
  WorkerSlot& w = *workers_[wi];
  std::optional<QueuedEvent> entry;
  for (std::size_t i = 0; i < w.plugins.size(); ++i) {
    PluginSlot& p = *w.plugins[i];
    if (!p.on_feed() || id <= p.tracker.head()) continue;
    if (id > p.tracker.head() + 1) add_plugin_gap(p, p.tracker.head() + 1, id - 1);
    const bool wanted = !ours && any_callback_matches(p, event);
    p.tracker.observe(id, wanted);
    if (!wanted) continue;
    if (!entry) entry = make_entry(event, id, false, json);
    entry->plugins.push_back(static_cast<std::uint16_t>(i));
  }
  if (entry) {
    w.queue.push_back(std::move(*entry));
    ++w.regular_queued;
  }
}

void Dispatcher::offer_late(std::size_t wi, const Value& event, std::int64_t id, bool ours,
                            std::shared_ptr<const SharedEvent>& json) {
  WorkerSlot& w = *workers_[wi];
  std::optional<QueuedEvent> entry;
  for (std::size_t i = 0; i < w.plugins.size(); ++i) {
    PluginSlot& p = *w.plugins[i];
    // Only a plugin that passed over this id without it takes it now; one that has not read
    // this far yet (catching up) will read it in order.
    if (!p.on_feed() || !p.gaps.fill(id)) continue;
    const bool wanted = !ours && any_callback_matches(p, event);
    if (!wanted) {
      pending_.remove_gap_ids(p.key, id, id);
      continue;
    }
    p.tracker.observe_late(id);
    if (!entry) entry = make_entry(event, id, true, json);
    entry->plugins.push_back(static_cast<std::uint16_t>(i));
  }
  if (entry) w.queue.push_back(std::move(*entry));
}

void Dispatcher::on_feed_batch(source::FeedBatch& batch) {
  for (source::SourcedEvent& e : batch.events) {
    std::shared_ptr<const SharedEvent> json;  // made once, on first need
    const bool ours = made_by_daemon(e.event);
    for (std::size_t w = 0; w < workers_.size(); ++w) {
      if (workers_[w]->removing) continue;
      if (e.late) {
        offer_late(w, e.event, e.id, ours, json);
      } else if (workers_[w]->mode == WorkerSlot::Mode::kFeed) {
        offer_regular(w, e.event, e.id, ours, json);
      }
    }
    if (!e.late) feed_head_ = std::max(feed_head_, e.id);
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
  w.read_retry_at = clock_.now();
}

void Dispatcher::request_catch_up_reads(std::size_t wi) {
  WorkerSlot& w = *workers_[wi];
  if (w.mode != WorkerSlot::Mode::kCatchUp || w.read_pending || stopping_ || w.removing) return;
  if (w.fetched_upto >= feed_head_) {
    w.mode = WorkerSlot::Mode::kFeed;
    log_->info("Worker {} caught up with the feed at event {}", w.def.id, feed_head_);
    return;
  }
  if (w.regular_queued > options_.queue_size / 2 || clock_.now() < w.read_retry_at) return;
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
  if (!page.events) {
    log_->warn("Catch-up read for worker {} failed, retrying: {}", w.def.id,
               page.events.error().message);
    w.read_retry_at = clock_.now() + milliseconds(1000);
    return;
  }
  std::int64_t last = w.fetched_upto;
  for (const Value& event : *page.events) {
    const auto id = event["id"].if_int();
    if (!id || *id <= last) continue;
    std::shared_ptr<const SharedEvent> json;
    offer_regular(page.request.worker, event, *id, made_by_daemon(event), json);
    last = *id;
  }
  const bool full = static_cast<int>(page.events->size()) >= page.request.limit;
  w.fetched_upto = full ? last : std::max(last, page.request.upto);
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
