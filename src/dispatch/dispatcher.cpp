// The dispatcher's loop: inbox, passes, demand for the poller, status, drain on stop.
#include "dispatch/dispatcher.h"

#include <algorithm>

#include "dispatch/plugin_start.h"
#include "workers/completion_log.h"

namespace sgeventd::dispatch {

using std::chrono::milliseconds;

namespace {
constexpr milliseconds kCommitEvery{5};
constexpr milliseconds kCommitAtMost{100};  // the longest a finished event waits for its commit
constexpr milliseconds kSuperviseEvery{10};
}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options, state::StateStore& store, log::Logging& logging,
                       std::int64_t feed_head, workers::WorkerHost& host, Clock& clock)
    : options_(std::move(options)),
      store_(store),
      logging_(logging),
      clock_(clock),
      log_(logging.engine()),
      host_(host),
      feed_head_(feed_head) {
  ledger_.backlog_timeout = options_.backlog_timeout;
  for (const auto& name : options_.own_script_names) script_names_.insert(name);
  if (!options_.own_script_names.empty()) daemon_script_ = options_.own_script_names.front();
  next_checkpoint_ = clock_.now() + options_.checkpoint_interval;
}

Dispatcher::~Dispatcher() {
  {
    std::lock_guard lock(inbox_mutex_);
    refuse_controls(inbox_);
  }
  refuse_controls(taken_);
  for (auto& w : workers_) {
    if (w->session) host_.remove(*w->session);
  }
}

void Dispatcher::add_worker(WorkerDefinition def,
                            const std::map<std::string, PluginStart>& starts) {
  auto slot = std::make_unique<WorkerSlot>(std::move(def), options_.supervisor, clock_);
  std::int64_t lowest = -1;
  for (const auto& ref : slot->def.plugins) {
    PluginStart start;
    if (auto it = starts.find(ref.name); it != starts.end()) start = it->second;
    auto p = std::make_unique<PluginSlot>(PluginLedger({ref.path, ref.name}, start, ledger_));
    p->reason = "not loaded yet";
    p->output = OutputLimiter(options_.plugin_output);
    lowest = lowest < 0 ? start.cursor : std::min(lowest, start.cursor);
    take_over_completions(*p, start);
    slot->plugins.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < slot->plugins.size(); ++i) {
    slot->def.plugins[i].completions = slot->plugins[i]->completions;
  }
  slot->fetched_upto = std::max<std::int64_t>(lowest, 0);
  workers_.push_back(std::move(slot));
}

void Dispatcher::take_over_completions(PluginSlot& p, const PluginStart& start) {
  if (options_.completions_dir.empty()) return;
  const std::string path =
      options_.completions_dir + "/" + workers::completion_file_name(p.key().path, p.key().name);
  // Only a cursor of the plugin's own says which of the records are news: a new or imported
  // start lays the file out anew.
  auto taken = workers::take_over_completions(path, !start.own_state);
  if (!taken) {
    log_->warn(
        "Plugin {}: no completion records ({}); after a kill it may get the events "
        "that were in flight again",
        p.key().path, taken.error());
    return;
  }
  p.completions = path;
  if (taken->stopped > 0) {
    log_->warn("Plugin {}: stopped process {}, a worker of an earlier daemon still running",
               p.key().path, taken->stopped);
  }
  p.recorded_at_start = taken->ids;
  if (const std::size_t n = p.ledger.take_recorded(taken->ids); n > 0) {
    log_->info(
        "Plugin {}: {} event(s) after its cursor were finished before the daemon "
        "stopped; they are not sent again",
        p.key().path, n);
  }
}

void Dispatcher::deliver(source::FeedBatch batch) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.batches.push_back(std::move(batch));
    demand_ = false;
  }
  host_.wake();
}

bool Dispatcher::wait_for_demand(milliseconds max_wait) {
  std::unique_lock lock(inbox_mutex_);
  return demand_cv_.wait_for(lock, max_wait, [this] { return demand_ || inbox_.stop; }) &&
         !inbox_.stop;
}

void Dispatcher::deliver_catch_up(CatchUpResult result) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.pages.push_back(std::move(result));
  }
  host_.wake();
}

void Dispatcher::request_stop() {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.stop = true;
  }
  demand_cv_.notify_all();
  host_.wake();
}

std::future<Dispatcher::Rebased> Dispatcher::rebase(std::int64_t feed_head,
                                                    source::CatchUpService* reader) {
  Inbox::RebaseRequest request;
  request.feed_head = feed_head;
  request.reader = reader;
  auto answer = request.answer.get_future();
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.rebase = std::move(request);
  }
  host_.wake();
  return answer;
}

void Dispatcher::request_reload() {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.reload = true;
  }
  host_.wake();
}

std::future<ControlAnswer> Dispatcher::control(ControlRequest request) {
  std::promise<ControlAnswer> answer;
  auto future = answer.get_future();
  {
    std::lock_guard lock(inbox_mutex_);
    if (inbox_.stop) {
      answer.set_value({ControlAnswer::Code::kUnavailable, "the daemon is stopping", {}});
      return future;
    }
    inbox_.controls.emplace_back(std::move(request), std::move(answer));
  }
  host_.wake();
  return future;
}

void Dispatcher::refuse_controls(Inbox& inbox) {
  for (auto& [request, answer] : inbox.controls) {
    answer.set_value({ControlAnswer::Code::kUnavailable, "the daemon is stopping", {}});
  }
  inbox.controls.clear();
}

void Dispatcher::update_plugins(std::vector<WorkerDefinition> found) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.found = std::move(found);
  }
  host_.wake();
}

void Dispatcher::reconcile(std::vector<WorkerDefinition>& found) {
  auto same_plugins = [](const WorkerDefinition& a, const WorkerDefinition& b) {
    if (a.plugins.size() != b.plugins.size()) return false;
    for (std::size_t i = 0; i < a.plugins.size(); ++i) {
      if (a.plugins[i].path != b.plugins[i].path) return false;
    }
    return true;
  };
  for (auto& w : workers_) {
    if (w->removing) continue;
    const auto it = std::find_if(found.begin(), found.end(),
                                 [&w](const WorkerDefinition& d) { return d.id == w->def.id; });
    if (it == found.end()) {
      log_->info("Plugin {} is gone: stopping its worker", w->def.id);
      w->removing = true;
      if (w->session && !w->session->closed()) w->session->shutdown(options_.shutdown_grace);
    } else if (!same_plugins(*it, w->def)) {
      log_->warn("The plugins of {} changed: a restart of the daemon picks the change up",
                 w->def.id);
    }
  }
  for (auto& def : found) {
    const bool known = std::any_of(workers_.begin(), workers_.end(), [&def](const auto& w) {
      return !w->removing && w->def.id == def.id;
    });
    if (known) continue;
    std::map<std::string, PluginStart> starts;
    state::StateBatch writes;
    std::string failed;
    for (const auto& ref : def.plugins) {
      const state::PluginKey key{ref.path, ref.name};
      // A new plugin starts at the newest event read, as in shotgunEvents.
      auto decision = decide_start(store_, key, feed_head_, wall_now(), options_.backlog_timeout);
      if (!decision) {
        failed =
            "reading the state of plugin " + ref.path + " failed: " + decision.error().describe();
        break;
      }
      if (!decision->note.empty()) log_->info("Plugin {} {}", ref.path, decision->note);
      writes.append(decision->writes);
      starts[ref.name] = std::move(decision->start);
    }
    // Unreadable state: the plugin waits (the next look at the folders tries again) rather
    // than starting anywhere, which could skip every event since its cursor.
    if (!failed.empty()) {
      auto& said = start_errors_[def.id];
      if (said != failed) log_->error("{}: the plugin waits until it can be read", failed);
      said = failed;
      continue;
    }
    start_errors_.erase(def.id);
    pending_.append(writes);
    log_->info("New plugin {}: starting its worker", def.id);
    add_worker(std::move(def), starts);
    next_supervise_ = {};
  }
}

bool Dispatcher::wait_initial_loads(milliseconds timeout) {
  std::unique_lock lock(inbox_mutex_);
  return loads_cv_.wait_for(lock, timeout, [this] { return initial_loads_done_ || inbox_.stop; });
}

std::optional<std::vector<std::string>> Dispatcher::feed_event_types() const {
  std::lock_guard lock(status_mutex_);
  return feed_types_;
}

std::vector<source::GapRange> Dispatcher::take_ids_to_look_for() {
  std::lock_guard lock(status_mutex_);
  return std::exchange(look_for_, {});
}

Value Dispatcher::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void Dispatcher::take_inbox(Inbox& into) {
  std::lock_guard lock(inbox_mutex_);
  std::swap(into.batches, inbox_.batches);
  std::swap(into.pages, inbox_.pages);
  into.stop = inbox_.stop;
  into.reload = std::exchange(inbox_.reload, false);
  std::swap(into.controls, inbox_.controls);
  if (inbox_.rebase) {
    into.rebase = std::move(inbox_.rebase);
    inbox_.rebase.reset();
  }
  if (inbox_.found) {
    into.found = std::move(inbox_.found);
    inbox_.found.reset();
  }
}

void Dispatcher::run() {
  while (step()) {
  }
  drain_and_stop();
}

bool Dispatcher::step() {
  take_inbox(taken_);
  if (taken_.stop) return false;
  pass(taken_);
  host_.run_once(next_wait());
  for (auto& w : workers_) {
    if (w->ended) {
      finish_session(*w);
      next_supervise_ = {};  // restart it (or note its end) without waiting
    }
  }
  return true;
}

void Dispatcher::pass(Inbox& inbox) {
  // Before any batch: the feed that follows a rebase starts from its starts.
  if (inbox.rebase) {
    inbox.rebase->answer.set_value(carry_out_rebase(inbox.rebase->feed_head, inbox.rebase->reader));
    inbox.rebase.reset();
  }
  for (auto& batch : inbox.batches) on_feed_batch(batch);
  inbox.batches.clear();
  for (auto& page : inbox.pages) on_catch_up_page(page);
  inbox.pages.clear();
  if (inbox.found) {
    reconcile(*inbox.found);
    inbox.found.reset();
  }
  if (inbox.reload) {
    log_->info("Reloading every plugin");
    for (auto& w : workers_) {
      w->reactivate_on_load = true;
      // Before the shutdown: its end is then planned, and a quarantined worker starts again.
      w->supervisor.reload();
      if (w->session && !w->session->closed()) w->session->shutdown(options_.shutdown_grace);
    }
    inbox.reload = false;
  }
  if (!inbox.controls.empty()) {
    for (auto& [request, answer] : inbox.controls) answer.set_value(carry_out(request));
    inbox.controls.clear();
    next_status_ = {};  // what they changed shows in the next status
  }
  const auto now = clock_.now();
  if (now >= next_gap_expiry_) {
    expire_gaps();
    next_gap_expiry_ = now + milliseconds(1000);
  }
  // Supervision (health, files, restarts) every few milliseconds, not every pass: passes
  // come thousands of times a second under load, and each check reads the clock.
  const bool supervise_now = now >= next_supervise_;
  if (supervise_now) {
    next_supervise_ = now + kSuperviseEvery;
    next_supervisor_poll_ = now + milliseconds(500);
    // For the watchdog, in real time (the clock above may be a test's), at the supervision
    // tick rather than every pass: a pass waits at most half a second, so this is never older.
    last_step_ = std::chrono::steady_clock::now().time_since_epoch().count();
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (supervise_now) {
      supervise(i);
      next_supervisor_poll_ = std::min(
          next_supervisor_poll_, workers_[i]->supervisor.next_poll(workers_[i]->session.get()));
    }
    pump(*workers_[i]);
    request_catch_up_reads(i);
  }
  // Commits are batched over a few milliseconds: one transaction per pass would cost more
  // than the events themselves when results arrive thousands of times a second. A store slow
  // to commit (PostgreSQL: a few round trips, about a millisecond) is committed to less often,
  // so that waiting for it takes no more than about a tenth of the dispatcher's time.
  if (now >= next_commit_) {
    const auto began = std::chrono::steady_clock::now();
    commit_state();
    const auto took = std::chrono::steady_clock::now() - began;
    next_commit_ = now + std::clamp<std::chrono::steady_clock::duration>(9 * took, kCommitEvery,
                                                                         kCommitAtMost);
  }
  checkpoint_if_due();
  update_demand();
  if (supervise_now && !initial_loads_done_) check_initial_loads();  // no workers, or none started
  if (now >= next_status_) {
    publish_status();
    next_status_ = now + milliseconds(500);
  }
}

milliseconds Dispatcher::next_wait() const {
  const auto now = clock_.now();
  auto next = now + milliseconds(500);
  next = std::min(next, std::max(next_supervisor_poll_, next_supervise_));
  for (const auto& w : workers_) {
    if (!w->queue.empty() && w->queue.front().not_before > now) {
      next = std::min(next, w->queue.front().not_before);
    }
  }
  next = std::min(next, next_checkpoint_);
  if (starvation_wake_) next = std::min(next, *dry_since_ + milliseconds(100));
  if (state_dirty()) next = std::min(next, std::max(now, next_commit_));
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(next - now) + milliseconds(1));
}

void Dispatcher::update_demand() {
  // Another page is wanted when every worker on the feed has room for it, or when the fastest
  // one has run dry: then a slower one may overflow its queue and fall back to its own reads,
  // but no worker ever waits for a slower one.
  std::optional<std::size_t> fewest, most;
  for (const auto& w : workers_) {
    if (w->mode != WorkerSlot::Mode::kFeed || w->removing) continue;
    const bool any_on_feed = std::any_of(w->plugins.begin(), w->plugins.end(),
                                         [](const auto& p) { return p->on_feed(); });
    if (!any_on_feed) continue;
    fewest = std::min(fewest.value_or(w->regular_queued), w->regular_queued);
    most = std::max(most.value_or(w->regular_queued), w->regular_queued);
  }
  const auto page = static_cast<std::size_t>(std::max(1, options_.batch_size));
  // A worker that ran dry only for an instant (scheduling on a busy machine) is no reason to
  // push the others over their queues: it must have been starving a while.
  const auto now = clock_.now();
  if (fewest && *fewest == 0) {
    if (!dry_since_) dry_since_ = now;
  } else {
    dry_since_.reset();
  }
  const bool starving = dry_since_ && now - *dry_since_ >= milliseconds(100);
  const bool room = fewest && *most + page <= options_.queue_size;
  const bool wanted =
      fewest &&
      (room || starving || (page >= options_.queue_size && *fewest <= options_.queue_size / 4));
  // Wake up when the starvation delay is over only if it will decide something.
  starvation_wake_ = dry_since_ && !room && !starving;
  bool notify = false;
  {
    std::lock_guard lock(inbox_mutex_);
    const bool was = demand_;
    demand_ = wanted && inbox_.batches.empty();
    notify = demand_ && !was;
  }
  if (notify) demand_cv_.notify_all();
}

void Dispatcher::publish_status() {
  Dict root;
  root["feed_head"] = static_cast<long long>(feed_head_);
  root["state_writable"] = !state_failing_;
  root["state_commit_seconds"] = commit_seconds_.to_value();
  // Re-drives still queued or at a worker (`sgeventd replay` on a stopped daemon waits for 0).
  std::int64_t redrives = 0;
  if (redrives_queued_ > 0) {
    for (const auto& w : workers_) {
      for (const auto& q : w->queue) redrives += q.redrive ? 1 : 0;
      for (const auto& [seq, q] : w->in_flight) redrives += q.redrive ? 1 : 0;
    }
    if (redrives == 0) redrives_queued_ = 0;
  }
  root["redrives"] = static_cast<long long>(redrives);
  List plugins;
  std::optional<std::vector<std::string>> types = std::vector<std::string>{};
  bool any_loaded = false;
  for (const auto& w : workers_) {
    if (w->removing && !w->session) continue;
    for (const auto& p : w->plugins) {
      Dict d;
      d["name"] = p->key().name;
      d["path"] = p->key().path;
      const PluginLedger& l = p->ledger;
      d["state"] = l.disabled()      ? "disabled"
                   : l.deactivated() ? "deactivated"
                                     : (p->loaded ? "active" : "not loaded");
      if (l.deactivated()) {
        d["reason"] = l.deactivation_reason();
      } else if (!p->reason.empty() && !p->loaded) {
        d["reason"] = p->reason;
      }
      d["cursor"] = static_cast<long long>(l.cursor());
      // What a restart resumes from: the cursor as last written to the state.
      d["committed"] = static_cast<long long>(l.persisted());
      const std::int64_t lag = std::max<std::int64_t>(0, feed_head_ - l.cursor());
      d["lag"] = static_cast<long long>(lag);
      // In seconds: how much older the newest event it is done with is than the newest read
      // (unknown until it is done with one since the start, while it trails).
      if (lag == 0) {
        d["lag_seconds"] = 0.0;
      } else if (p->done_at != std::chrono::system_clock::time_point{} &&
                 feed_newest_at_ != std::chrono::system_clock::time_point{}) {
        d["lag_seconds"] =
            std::max(0.0, std::chrono::duration<double>(feed_newest_at_ - p->done_at).count());
      }
      d["in_flight"] = static_cast<long long>(l.in_flight());
      d["gaps"] = static_cast<long long>(l.gap_ids());
      d["handled"] = static_cast<long long>(l.handled());
      d["errors"] = static_cast<long long>(l.errors());
      d["dead_letters"] = static_cast<long long>(l.dead_letters());
      d["retries"] = static_cast<long long>(p->retries);
      d["redrives_ok"] = static_cast<long long>(p->redrives_ok);
      d["redrives_failed"] = static_cast<long long>(p->redrives_failed);
      d["worker_restarts"] = static_cast<long long>(std::max<std::int64_t>(0, w->starts - 1));
      d["callback_seconds"] = p->callback_seconds.to_value();
      if (l.not_resent() > 0) d["not_resent"] = static_cast<long long>(l.not_resent());
      if (!l.last_error().empty()) d["last_error"] = l.last_error();
      if (!p->recent_errors.empty()) {
        List recent;  // newest first
        for (auto e = p->recent_errors.rbegin(); e != p->recent_errors.rend(); ++e) {
          Dict r{{"at", static_cast<long long>(e->at)}, {"error", e->error}};
          if (e->event_id > 0) r["event_id"] = static_cast<long long>(e->event_id);
          recent.emplace_back(std::move(r));
        }
        d["recent_errors"] = std::move(recent);
      }
      const char* worker_state = "starting";
      switch (w->supervisor.state()) {
        case workers::Supervisor::State::kRunning:
          worker_state = "running";
          break;
        case workers::Supervisor::State::kWaiting:
          worker_state = "restarting";
          break;
        case workers::Supervisor::State::kQuarantined:
          worker_state = "quarantined";
          break;
        case workers::Supervisor::State::kStarting:
          break;
      }
      d["worker"] = worker_state;
      if (w->session && !w->session->closed()) {
        d["pid"] = static_cast<long long>(w->session->pid());
      }
      if (!w->supervisor.last_failure().empty()) d["worker_failure"] = w->supervisor.last_failure();
      d["mode"] = w->mode == WorkerSlot::Mode::kFeed ? "feed" : "catch-up";
      List callbacks;  // for `sgeventd plugins`
      for (const auto& c : p->callbacks) {
        callbacks.emplace_back(Dict{{"name", c.info.name},
                                    {"match_events", c.info.match_events},
                                    {"stop_on_error", c.info.stop_on_error}});
      }
      d["callbacks"] = std::move(callbacks);
      d["queued"] = static_cast<long long>(w->queue.size());
      plugins.push_back(std::move(d));

      if (!p->on_feed()) continue;
      any_loaded = true;
      for (const auto& c : p->callbacks) {
        auto t = c.matcher.event_types();
        if (!t) {
          types.reset();
          break;
        }
        if (types) types->insert(types->end(), t->begin(), t->end());
      }
    }
  }
  for (const auto& [id, error] : start_errors_) {
    Dict d;
    d["name"] = id;
    d["path"] = id;
    d["state"] = "waiting";
    d["reason"] = error;
    plugins.push_back(std::move(d));
  }
  root["plugins"] = std::move(plugins);
  if (types) {
    std::sort(types->begin(), types->end());
    types->erase(std::unique(types->begin(), types->end()), types->end());
  }
  std::lock_guard lock(status_mutex_);
  status_ = std::move(root);
  feed_types_ = any_loaded ? types : std::nullopt;
}

void Dispatcher::drain_and_stop() {
  // No new events go out; what is in flight may finish within the grace period, then every
  // worker is asked to stop and the state is committed.
  stopping_ = true;
  refuse_controls(taken_);
  const auto deadline = clock_.now() + options_.shutdown_grace;
  auto busy = [this] {
    return std::any_of(workers_.begin(), workers_.end(), [](const auto& w) {
      return w->session && !w->session->closed() && w->session->in_flight_count() > 0;
    });
  };
  while (busy() && clock_.now() < deadline) {
    Inbox ignored;
    take_inbox(ignored);  // late catch-up pages are dropped: they are read again next start
    refuse_controls(ignored);
    host_.run_once(milliseconds(50));
    commit_state();
  }
  for (auto& w : workers_) {
    if (w->session && !w->session->closed()) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_.now());
      w->session->shutdown(std::max(milliseconds(500), left));
    }
  }
  auto running = [this] {
    return std::any_of(workers_.begin(), workers_.end(),
                       [](const auto& w) { return w->session && !w->session->closed(); });
  };
  const auto hard_deadline = clock_.now() + options_.shutdown_grace + milliseconds(2000);
  while (running() && clock_.now() < hard_deadline) {
    host_.run_once(milliseconds(50));
    commit_state();
  }
  for (auto& w : workers_) {
    if (w->session && !w->session->closed())
      w->session->abort(
          {workers::WorkerError::Kind::kTimeout, "did not stop in time", std::nullopt});
  }
  while (running()) host_.run_once(milliseconds(50));
  for (auto& w : workers_) {
    if (w->session) {
      host_.remove(*w->session);
      w->session.reset();
    }
  }
  commit_state();
  if (auto r = store_.checkpoint(); !r)
    log_->error("Saving the state failed: {}", r.error().describe());
  publish_status();
}

}  // namespace sgeventd::dispatch
