// Worker processes: starting and supervising them, sending events, and what their answers mean
// for cursors (resolve), plugins (deactivate, reactivate) and dead letters.
#include <algorithm>

#include "dispatch/dispatcher.h"
#include "sgeventd/json.h"
#include "workers/completion_log.h"
#include "workers/credentials.h"
#include "workers/manifest.h"

namespace sgeventd::dispatch {

using std::chrono::milliseconds;
using workers::Supervisor;

WorkerSlot* Dispatcher::slot_of(const workers::Worker& s) {
  for (auto& w : workers_) {
    if (w->session.get() == &s) return w.get();
  }
  return nullptr;
}

void Dispatcher::supervise(std::size_t wi) {
  WorkerSlot& w = *workers_[wi];
  const auto now = clock_.now();
  for (auto& p : w.plugins) report_dropped_output(*p, now);
  // A deactivated plugin whose reactivation delay is over comes back (reactivation > 0).
  for (auto& p : w.plugins) {
    if (p->ledger.deactivated() && p->reactivate_at && now >= *p->reactivate_at) {
      p->reactivate_at.reset();
      if (w.stops_itself && w.session && !w.session->closed()) {
        // The worker holds the plugin stopped: a new worker process brings it back.
        w.reactivate_on_load = true;
        w.session->shutdown(options_.shutdown_grace);
      } else {
        reactivate(w, *p, "reactivation delay over");
      }
    }
  }
  const Supervisor::Step step = w.supervisor.poll(w.session.get());
  // An edit brings back the plugins deactivated until their file changes.
  if (step.files_changed) w.reactivate_on_load = true;
  switch (step.action) {
    case Supervisor::Step::Action::kNone:
      break;
    case Supervisor::Step::Action::kStart:
      if (!stopping_ && !w.session && !w.removing) start_session(w);
      break;
    case Supervisor::Step::Action::kRestart:
      log_->info("Reloading worker {}: {}", w.def.id, step.reason);
      if (w.session) w.session->shutdown(options_.shutdown_grace);
      break;
    case Supervisor::Step::Action::kAbort:
      for (auto& p : w.plugins)
        logging_.plugin(p->key().name)->error("Stopping the worker: {}", step.reason);
      if (w.session && step.error) w.session->abort(*step.error);
      break;
  }
}

void Dispatcher::start_session(WorkerSlot& w) {
  if (!w.def.manifest.empty()) {
    auto exec = workers::load_exec_plugin(w.def.manifest);
    if (exec) {
      w.def.spawn = std::move(exec->spawn);
      w.def.credentials = std::move(exec->credentials);
    } else {
      log_->error("Cannot read {} again, starting it as it was: {}", w.def.manifest,
                  exec.error().describe());
    }
  }
  // The hard cap (RLIMIT_DATA). Not in a sanitizer build: its shadow memory is terabytes of
  // writable data, so a sanitized worker could allocate nothing under any cap.
#if !defined(__SANITIZE_ADDRESS__)
  w.def.spawn.data_limit_bytes = options_.supervisor.health.memory_limit_bytes;
#endif
  workers::SessionOptions o;
  // Python plugins get the whole config, as shotgunEvents' did; exec plugins what they name.
  o.hello = w.def.manifest.empty()
                ? options_.hello
                : workers::without_credentials(options_.hello, w.def.credentials);
  o.hello.worker_id = w.def.id;
  o.hello.worker_per = w.def.per;
  o.hello.timing = logging_.timing_enabled();
  o.plugins = w.def.plugins;
  o.window = options_.window;
  w.started_at = clock_.now();
  auto session = host_.start(w.def.spawn, std::move(o), *this);
  if (!session) {
    for (auto& p : w.plugins) {
      logging_.plugin(p->key().name)
          ->error("Cannot start the worker: {}", session.error().describe());
    }
    w.supervisor.start_failed(session.error());
    return;
  }
  w.session = std::move(*session);
  ++w.starts;
  w.window = PipelineWindow(options_.window);  // a new process: its speed is learnt again
  w.supervisor.started();
}

void Dispatcher::pump(WorkerSlot& w) {
  if (!w.session || !w.session->ready() || stopping_) return;
  // Refill the pipeline by halves: topping it up one event per result would hand the worker
  // one event per read, a wake-up on both sides for every event.
  const std::size_t window = w.strict ? 1 : w.window.size();
  if (w.session->in_flight_count() > window / 2) return;
  if (options_.may_dispatch && !options_.may_dispatch()) return;
  const auto now = clock_.now();
  while (!w.queue.empty() && w.session->can_send() && w.session->in_flight_count() < window) {
    QueuedEvent& q = w.queue.front();
    if (q.not_before > now) break;
    // Matched again now: a reload may have changed the callbacks since it was queued.
    std::vector<workers::CallbackRef> callbacks;
    std::vector<std::uint16_t> plugins;
    for (std::uint16_t i : q.plugins) {
      PluginSlot& p = *w.plugins[i];
      if (!p.on_feed()) {  // deactivated since: its cursor waits before this event
        if (q.redrive) {
          ++p.redrives_failed;
          logging_.plugin(p.key().name)
              ->warn("Event {} not re-driven: the plugin is off the feed", q.id);
        } else if (q.late) {
          regap_late(p, q.id);
        }
        continue;
      }
      bool any = false;
      for (std::size_t c = 0; c < p.callbacks.size(); ++c) {
        const CallbackSlot& cb = p.callbacks[c];
        if (q.redrive && !q.redrive->callback.empty()) {
          if (cb.info.name != q.redrive->callback) continue;  // a retry: its callback only
        } else if (!q.only_callbacks.empty() &&
                   std::find(q.only_callbacks.begin(), q.only_callbacks.end(), cb.info.index) ==
                       q.only_callbacks.end()) {
          continue;
        }
        if (!cb.matcher.matches(q.event->event_type, q.event->attribute_name) ||
            withheld_from(cb, q.event->authors)) {
          continue;
        }
        callbacks.push_back({p.key().name, cb.info.index});
        any = true;
      }
      if (any) {
        plugins.push_back(i);
      } else if (q.redrive) {
        ++p.redrives_failed;
        logging_.plugin(p.key().name)
            ->warn("Event {} not re-driven: no callback of the plugin takes it any more", q.id);
      } else {
        resolve(p, q);  // nothing of it matches any more
      }
    }
    QueuedEvent entry = std::move(q);
    w.queue.pop_front();
    if (!entry.late && !entry.resent && !entry.redrive) {
      --w.regular_queued;
      for (std::uint16_t i : entry.plugins) w.plugins[i]->ledger.sent(entry.id);
    }
    if (callbacks.empty()) continue;
    auto seq = w.session->send_event(entry.event->json, callbacks, entry.late);
    if (!seq) {  // cannot happen after can_send(); keep the event rather than lose it
      log_->error("Could not send event {} to worker {}: {}", entry.id, w.def.id, seq.error());
      entry.resent = true;
      w.queue.push_front(std::move(entry));
      break;
    }
    entry.plugins = std::move(plugins);
    entry.sent = std::move(callbacks);
    w.in_flight.emplace_back(*seq, std::move(entry));
  }
}

void Dispatcher::mask_plugin_secrets(const PluginSlot& p, const std::vector<std::string>& secrets) {
  // A plugin's script keys are masked from here on, like the daemon's own. A worker is trusted
  // with its plugin's keys but not with the logs: a bounded number of bounded strings, so a
  // plugin cannot make every later line expensive to mask.
  constexpr std::size_t kMaxSecrets = 32, kMaxLength = 4096;
  std::size_t taken = 0;
  for (const std::string& secret : secrets) {
    if (secret.empty() || secret.size() > kMaxLength) continue;
    if (++taken > kMaxSecrets) {
      logging_.plugin(p.key().name)
          ->warn("The worker named more than {} secrets for {}: the rest are not masked",
                 kMaxSecrets, p.key().name);
      break;
    }
    logging_.add_secret(secret);
  }
}

void Dispatcher::on_loaded(workers::Worker& s, const workers::Loaded& loaded) {
  WorkerSlot* w = slot_of(s);
  if (!w) return;
  PluginSlot* p = w->plugin(loaded.plugin);
  if (!p) return;
  mask_plugin_secrets(*p, loaded.secrets);
  auto log = logging_.plugin(p->key().name);
  std::vector<CallbackSlot> callbacks;
  for (const workers::CallbackInfo& info : loaded.callbacks) {
    auto matcher = EventMatcher::from_value(info.match_events);
    if (!matcher) {
      log->error("Callback {} has a matchEvents the daemon cannot use ({}): it gets no events",
                 info.name, matcher.error());
      continue;
    }
    if (!info.script_name.empty()) script_names_.insert(info.script_name);
    callbacks.push_back(CallbackSlot{info, std::move(*matcher)});
  }
  // setEmails: true (the config's), false (nobody) or addresses.
  if (loaded.emails.is_bool()) {
    logging_.set_plugin_emails(p->key().name, loaded.emails.as_bool()
                                                  ? log::PluginEmails::defaults()
                                                  : log::PluginEmails::none());
  } else if (const List* list = loaded.emails.if_list()) {
    log::Recipients to;
    for (const Value& v : *list) {
      if (const std::string* a = v.if_string()) to.push_back(*a);
    }
    logging_.set_plugin_emails(p->key().name, log::PluginEmails::to(std::move(to)));
  }
  p->callbacks = std::move(callbacks);
  // Pipelining is safe when no callback stops its plugin, or when the worker stops the plugin
  // itself (it then answers the events after the failure as skipped). Retries re-run an event
  // later, which pipelining would put after newer ones: one at a time then too.
  w->stops_itself = s.worker_hello() && s.worker_hello()->has_feature("stop_on_error");
  w->strict = options_.retry.retries > 0;
  for (const auto& plugin : w->plugins) {
    for (const auto& c : plugin->callbacks) {
      w->strict = w->strict || (c.info.stop_on_error && !w->stops_itself);
    }
  }
  const bool was_on_feed = p->on_feed();
  p->loaded = true;
  // From the start (spawn or fork) to this answer: what a reload or a restart costs.
  const double ms = std::chrono::duration<double, std::milli>(clock_.now() - w->started_at).count();
  log->info("Loaded {} with {} callback(s) in {:.1f} ms", p->key().path, p->callbacks.size(), ms);
  if (p->ledger.deactivated() && p->enable_on_load) {
    p->enable_on_load = false;
    reactivate(*w, *p, "enabled by an operator");
  } else if (p->ledger.deactivated() && !p->ledger.disabled() && w->reactivate_on_load) {
    reactivate(*w, *p, "its files changed");
  } else if (!p->ledger.deactivated()) {
    p->reason.clear();
    if (!was_on_feed) {
      rejoin(*w, *p, p->ledger.head());
      if (p->ledger.head() < feed_head_) start_catch_up(*w, p->ledger.head());
    }
  }
}

void Dispatcher::note_recent_error(PluginSlot& p, std::int64_t event_id, const std::string& error) {
  // The first line (a traceback's last line is in the plugin's log), at most 300 bytes.
  constexpr std::size_t kMaxBytes = 300;
  std::string line = logging_.redactor().redact(error.substr(0, error.find('\n')));
  if (line.size() > kMaxBytes) line = line.substr(0, kMaxBytes) + "...";
  const auto at =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch())
          .count();
  p.recent_errors.push_back({static_cast<std::int64_t>(at), event_id, std::move(line)});
  if (p.recent_errors.size() > PluginSlot::kRecentErrors) p.recent_errors.pop_front();
}

void Dispatcher::on_load_failed(workers::Worker& s, const workers::LoadFailed& failed) {
  WorkerSlot* w = slot_of(s);
  if (!w) return;
  PluginSlot* p = w->plugin(failed.plugin);
  if (!p) return;
  mask_plugin_secrets(*p, failed.secrets);
  p->loaded = false;
  p->reason = "load failed: " + logging_.redactor().redact(failed.error);
  p->ledger.note_error(failed.error);
  note_recent_error(*p, 0, "load failed: " + failed.error);
  logging_.plugin(p->key().name)
      ->error("Could not load {}: it stays inactive until its file changes.\n{}", p->key().path,
              failed.traceback.empty() ? failed.error : failed.traceback);
}

void Dispatcher::on_ready(workers::Worker& s) {
  WorkerSlot* w = slot_of(s);
  if (w) w->reactivate_on_load = false;
  check_initial_loads();
}

void Dispatcher::check_initial_loads() {
  // Done when every worker is ready or not running (it could not start, or ended before it
  // was ready): polling must not wait for a worker that may never come.
  const bool all = std::all_of(workers_.begin(), workers_.end(), [](const auto& slot) {
    return (slot->session && slot->session->ready()) ||
           slot->supervisor.state() != Supervisor::State::kRunning;
  });
  if (!some_ready_ && std::any_of(workers_.begin(), workers_.end(), [](const auto& slot) {
        return slot->session && slot->session->ready();
      })) {
    some_ready_ = true;
  }
  if (!all) return;
  std::lock_guard lock(inbox_mutex_);
  if (!initial_loads_done_) {
    initial_loads_done_ = true;
    loads_cv_.notify_all();
  }
}

void Dispatcher::on_result(workers::Worker& s, const workers::InFlight& answered,
                           workers::Result& result) {
  WorkerSlot* w = slot_of(s);
  if (!w) return;
  // The session has checked the order: the answer is for the oldest event sent.
  if (w->in_flight.empty() || w->in_flight.front().first != answered.seq) return;
  QueuedEvent entry = std::move(w->in_flight.front().second);
  w->in_flight.pop_front();
  w->supervisor.answered();
  // The worker's speed as seen from here (from when it could start this event to its answer),
  // not its own duration_ms: any exec plugin may report 0 there.
  w->window.observe(
      std::chrono::duration<double, std::milli>(clock_.now() - answered.started_at).count());
  handle_result(*w, entry, result);
}

void Dispatcher::handle_result(WorkerSlot& w, QueuedEvent& entry, workers::Result& result) {
  if (entry.redrive) {
    finish_redrive(w, entry, result);
    return;
  }
  std::map<std::size_t, std::vector<int>> retry;  // plugin index -> callback indexes
  std::vector<std::size_t> skipped;               // plugins whose callbacks did not run
  milliseconds retry_delay{0};
  const auto end = std::chrono::system_clock::now();
  for (const workers::CallbackResult& r : result.results) {
    const std::size_t pi = w.plugin_index(r.plugin);
    if (pi >= w.plugins.size()) continue;
    PluginSlot& p = *w.plugins[pi];
    const CallbackSlot* cb = nullptr;
    for (const auto& c : p.callbacks) {
      if (c.info.index == r.index) cb = &c;
    }
    if (logging_.timing_enabled()) {
      log::TimingRecord t;
      t.event_id = entry.id;
      t.created_at = entry.event->created_at;
      t.callback = p.key().name + "." + (cb ? cb->info.name : std::to_string(r.index));
      const auto took = std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double, std::milli>(r.duration_ms));
      if (r.started > 0) {  // the worker's own clock: answers may wait behind others
        t.start = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::duration<double>(r.started)));
        t.end = t.start + took;
      } else {
        t.end = end;
        t.start = end - took;
      }
      t.error = !r.ok;
      logging_.timing(t);
    }
    if (!r.skipped) p.callback_seconds.observe(r.duration_ms / 1000.0);
    if (r.ok) continue;
    if (r.skipped) {  // its plugin stopped on an earlier event: this one waits for it
      // The worker stopped it, the daemon did not: so that its cursor waits here and its
      // events come again once it is back, it is deactivated too (a worker that broke the
      // protocol's rule on re-drives, say; normally the failure came first and did it).
      if (!p.ledger.deactivated()) {
        deactivate(w, p, "its worker stopped it after an error (" + r.error + ")");
      }
      skipped.push_back(pi);
      continue;
    }
    const int failures = p.ledger.count_failure(entry.id, r.index, r.error);
    note_recent_error(p, entry.id, r.error);
    const bool stop_on_error = cb ? cb->info.stop_on_error : true;
    auto log = logging_.plugin(p.key().name);
    std::string text = r.traceback.empty() ? r.error : r.traceback;
    if (!r.locals.empty()) text += "\nLocal variables:\n" + r.locals;
    log->error("Callback {} failed on event {} (attempt {}):\n{}",
               cb ? cb->info.name : std::to_string(r.index), entry.id, failures, text);
    const FailureDecision d = decide_after_failure(failures, stop_on_error, options_.retry);
    switch (d.action) {
      case FailureDecision::Action::kRetry:
        ++p.retries;
        retry[pi].push_back(r.index);
        retry_delay = std::max(retry_delay, d.delay);
        break;
      case FailureDecision::Action::kDeactivate:
        deactivate(w, p,
                   "callback " + (cb ? cb->info.name : std::to_string(r.index)) +
                       " failed on event " + std::to_string(entry.id) + ": " + r.error);
        break;
      case FailureDecision::Action::kDeadLetter:
        park(p, entry, cb, r);
        break;
    }
  }
  for (std::size_t pi : entry.plugins) {
    PluginSlot& p = *w.plugins[pi];
    const bool skipped_here = std::find(skipped.begin(), skipped.end(), pi) != skipped.end();
    const bool deactivated = p.ledger.deactivated();
    if (entry.late && !retry.count(pi) && (deactivated || skipped_here)) {
      regap_late(p, entry.id);
    }
    if (deactivated || retry.count(pi) || skipped_here) continue;
    p.ledger.count_handled();
    p.done_at = std::max(p.done_at, entry.event->created_at);
    resolve(p, entry);
  }
  // Retries go to the front: per plugin, events stay in order.
  for (auto it = retry.rbegin(); it != retry.rend(); ++it) {
    QueuedEvent again = entry;
    again.plugins = {static_cast<std::uint16_t>(it->first)};
    again.only_callbacks = it->second;
    again.resent = true;
    again.sent.clear();
    again.not_before = clock_.now() + retry_delay;
    w.queue.push_front(std::move(again));
  }
}

void Dispatcher::park(PluginSlot& p, const QueuedEvent& entry, const CallbackSlot* callback,
                      const workers::CallbackResult& r) {
  state::DeadLetter letter;
  letter.callback = callback ? callback->info.name : std::to_string(r.index);
  letter.event_id = entry.id;
  letter.event_json = entry.event->json;
  // Masked like the logs: the dead-letter table is read by operators and kept for long.
  letter.error =
      logging_.redactor().redact(r.traceback.empty() ? r.error : r.error + "\n" + r.traceback);
  letter.attempts = 1;
  letter.first_failure = letter.last_failure = wall_now();
  logging_.plugin(p.key().name)
      ->warn("Event {} parked as a dead letter for {}", entry.id, letter.callback);
  p.ledger.park(std::move(letter), pending_);
}

void Dispatcher::deactivate(WorkerSlot& w, PluginSlot& p, const std::string& reason) {
  // The reason is persisted and shown by `status`: no secret in it.
  if (!p.ledger.deactivate(logging_.redactor().redact(reason), wall_now(), pending_)) return;
  if (options_.reactivation.count() > 0) p.reactivate_at = clock_.now() + options_.reactivation;
  logging_.plugin(p.key().name)
      ->error("Plugin {} deactivated ({}). {}", p.key().name, reason,
              options_.reactivation.count() > 0
                  ? "It comes back automatically after the reactivation delay."
                  : "It comes back when its file changes.");
  (void)w;
}

void Dispatcher::reactivate(WorkerSlot& w, PluginSlot& p, const std::string& why) {
  p.reason.clear();
  p.reactivate_at.reset();
  const std::int64_t from = p.ledger.reactivate(wall_now(), pending_);
  rejoin(w, p, from);
  logging_.plugin(p.key().name)
      ->info("Plugin {} reactivated ({}): resuming after event {}", p.key().name, why, from);
  if (from < feed_head_ || w.mode == WorkerSlot::Mode::kCatchUp) start_catch_up(w, from);
}

PluginSlot* Dispatcher::output_owner(WorkerSlot& w, const std::string& plugin) {
  if (w.plugins.empty()) return nullptr;
  for (auto& p : w.plugins) {
    if (p->key().name == plugin) return p.get();
  }
  return w.plugins[0].get();  // stderr, or a name the worker made up: the worker's first
}

void Dispatcher::report_dropped_output(PluginSlot& p, Clock::time_point now, bool now_or_never) {
  if (!p.output.dropping() || (now < p.next_drop_report && !now_or_never)) return;
  p.next_drop_report = now + kDroppedOutputReportEvery;
  const auto dropped = p.output.take_dropped();
  logging_.plugin(p.key().name)
      ->warn(
          "Dropped {} lines ({} bytes) of plugin {}'s output: more than "
          "plugin_log_lines_per_second ({}) or plugin_log_bytes_per_minute ({})",
          dropped->lines, dropped->bytes, p.key().name, options_.plugin_output.lines_per_second,
          options_.plugin_output.bytes_per_minute);
}

void Dispatcher::on_log(workers::Worker& s, const workers::LogMessage& m) {
  WorkerSlot* w = slot_of(s);
  PluginSlot* owner = w ? output_owner(*w, m.plugin) : nullptr;
  if (owner && !owner->output.admit(m.message.size(), clock_.now())) return;
  log::LogRecord r;
  r.logger = m.logger.empty() ? "plugin." + m.plugin : m.logger;
  r.level = m.level;
  r.message = m.message;
  if (m.time > 0) r.time = log::time_from_unix_seconds(m.time);
  r.plugin = m.plugin;
  if (r.plugin.empty() && owner) r.plugin = owner->key().name;  // the worker's first
  if (m.event_id > 0) r.fields.emplace_back("event_id", Value(static_cast<long long>(m.event_id)));
  logging_.forward(r);
}

void Dispatcher::on_stderr(workers::Worker& s, std::string_view line) {
  WorkerSlot* w = slot_of(s);
  PluginSlot* owner = w ? output_owner(*w, "") : nullptr;
  if (!owner || !owner->output.admit(line.size(), clock_.now())) return;
  logging_.plugin(owner->key().name)->warn("{}", line);
}

void Dispatcher::on_worker_error(workers::Worker& s, const workers::ErrorMessage& m) {
  WorkerSlot* w = slot_of(s);
  if (!w) return;
  log_->warn("Worker {} did not understand a message: {}", w->def.id, m.message);
}

void Dispatcher::on_closed(workers::Worker& s, const workers::SessionEnd& end) {
  WorkerSlot* w = slot_of(s);
  if (!w) return;
  w->ended = end;  // handled after the pass: the session must outlive this call
  for (auto& p : w->plugins) report_dropped_output(*p, clock_.now(), true);
}

void Dispatcher::resolve_recorded(WorkerSlot& w, std::vector<QueuedEvent>& lost) {
  if (lost.empty()) return;
  for (std::size_t pi = 0; pi < w.plugins.size(); ++pi) {
    PluginSlot& p = *w.plugins[pi];
    if (p.completions.empty()) continue;
    auto ids = workers::read_completions(p.completions);
    if (!ids || ids->empty()) continue;
    const std::set<std::int64_t> done(ids->begin(), ids->end());
    for (QueuedEvent& q : lost) {
      if (q.redrive) continue;  // outside the ledger: sent again
      auto it = std::find(q.plugins.begin(), q.plugins.end(), pi);
      if (it == q.plugins.end() || done.count(q.id) == 0) continue;
      // Finished before the worker died; only its answer was lost.
      q.plugins.erase(it);
      std::erase_if(q.sent,
                    [&p](const workers::CallbackRef& c) { return c.plugin == p.key().name; });
      p.ledger.count_handled();
      p.ledger.count_not_resent();
      resolve(p, q);
    }
  }
  lost.erase(std::remove_if(lost.begin(), lost.end(),
                            [](const QueuedEvent& q) { return q.plugins.empty(); }),
             lost.end());
}

void Dispatcher::finish_session(WorkerSlot& w) {
  workers::SessionEnd end = std::move(*w.ended);
  w.ended.reset();
  if (w.session) {
    host_.remove(*w.session);
    w.session.reset();
  }
  if (end.error) {
    log_->warn("Worker {} ended: {}", w.def.id, end.error->describe());
    for (auto& p : w.plugins) {
      logging_.plugin(p->key().name)->error("The worker stopped: {}", end.error->describe());
    }
  }
  // Events it never answered go back to the front, in order. A callback over its time limit
  // counts as a failure of the event it was running (the oldest); a crash does not: the event
  // is sent again, and a crash loop quarantines the worker.
  std::vector<QueuedEvent> lost;
  for (auto& [seq, entry] : w.in_flight) {
    // An operator's re-drive is not sent again after its worker ended: one that crashes it
    // would otherwise come back after every restart until the worker is quarantined.
    if (entry.redrive && !(end.error && end.error->kind == workers::WorkerError::Kind::kTimeout)) {
      for (auto& p : w.plugins) {
        if (std::find(entry.plugins.begin(), entry.plugins.end(), w.plugin_index(p->key().name)) !=
            entry.plugins.end()) {
          ++p->redrives_failed;
          logging_.plugin(p->key().name)
              ->warn("Re-drive of event {} dropped: its worker ended before answering", entry.id);
        }
      }
      continue;
    }
    lost.push_back(std::move(entry));
  }
  w.in_flight.clear();
  resolve_recorded(w, lost);
  const bool timed_out = end.error && end.error->kind == workers::WorkerError::Kind::kTimeout;
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) {
    if (timed_out && it == std::prev(lost.rend())) {
      workers::Result synthetic;
      for (const auto& ref : it->sent) {
        workers::CallbackResult r;
        r.plugin = ref.plugin;
        r.index = ref.index;
        r.ok = false;
        r.error = "TimeoutError: " + end.error->message;
        synthetic.results.push_back(r);
      }
      handle_result(w, *it, synthetic);
      continue;
    }
    it->resent = true;
    it->sent.clear();
    w.queue.push_front(std::move(*it));
  }
  // A restart loads the plugins again; until then they are off the feed.
  for (auto& p : w.plugins) p->loaded = false;
  if (stopping_ || w.removing) return;
  w.supervisor.ended(end);
  if (w.supervisor.quarantined()) {
    log_->error("Worker {} keeps failing: quarantined until its files change ({})", w.def.id,
                w.supervisor.last_failure());
  }
}

}  // namespace sgeventd::dispatch
