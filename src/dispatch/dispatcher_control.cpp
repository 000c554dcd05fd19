// Operators' requests (dispatch/control.h), carried out on the dispatcher thread: reload, enable
// and disable a plugin, dead letters, replay. Re-drives (a retried letter, a replayed event) go
// through a worker's queue like any event, marked QueuedEvent::redrive: they never touch the
// ledger, so nothing an operator asks can move a cursor or count a failure.
#include <time.h>

#include <algorithm>

#include "dispatch/dispatcher.h"
#include "sgeventd/json.h"

namespace sgeventd::dispatch {

namespace {

using Code = ControlAnswer::Code;

ControlAnswer fail(Code code, std::string error, Value body = {}) {
  return {code, std::move(error), std::move(body)};
}

ControlAnswer ok(Value body, Code code = Code::kOk) { return {code, "", std::move(body)}; }

std::string iso(state::WallTime t) {
  const time_t s = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
  tm utc{};
  gmtime_r(&s, &utc);
  char text[32];
  const std::size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, n);
}

// The event again, with the replay key (control.h) that tells plugins and workers what it is.
std::shared_ptr<const SharedEvent> marked(Value event, const char* kind, const EventAuthors& a) {
  if (event.is_dict()) event.as_dict()[kReplayKey] = kind;
  return share_event(event, a);
}

}  // namespace

Value describe_dead_letter(const state::DeadLetter& d, bool full) {
  Dict out{{"id", static_cast<long long>(d.id)},
           {"plugin", d.plugin.name},
           {"path", d.plugin.path},
           {"callback", d.callback},
           {"event_id", static_cast<long long>(d.event_id)},
           {"error", full ? d.error : d.error.substr(0, d.error.find('\n'))},
           {"attempts", static_cast<long long>(d.attempts)},
           {"first_failure", iso(d.first_failure)},
           {"last_failure", iso(d.last_failure)},
           {"retry_count", static_cast<long long>(d.retry_count)}};
  if (d.retried_at) out["retried_at"] = iso(*d.retried_at);
  if (full) {
    auto event = parse_json(d.event_json);
    out["event"] = event ? std::move(*event) : Value(d.event_json);
  }
  return Value(std::move(out));
}

ControlAnswer Dispatcher::carry_out(ControlRequest& r) {
  using Kind = ControlRequest::Kind;
  if (stopping_) return fail(Code::kUnavailable, "the daemon is stopping");
  switch (r.kind) {
    case Kind::kReload:
      return reload_plugin(r.plugin);
    case Kind::kEnable:
      return enable(r.plugin);
    case Kind::kDisable:
      return disable(r.plugin, r.reason);
    case Kind::kDeadLetters:
      return list_dead_letters(r);
    case Kind::kDeadLetter:
      return show_dead_letter(r.letter);
    case Kind::kRetry:
      return retry_dead_letter(r.letter);
    case Kind::kDrop:
      return drop_dead_letter(r.letter);
    case Kind::kReplay:
      return replay(r);
  }
  return fail(Code::kBadRequest, "unknown request");
}

Expected<Dispatcher::Named, ControlAnswer> Dispatcher::find_plugin(const std::string& name) {
  std::vector<Named> found;
  List known;
  for (auto& w : workers_) {
    if (w->removing) continue;
    for (auto& p : w->plugins) {
      known.emplace_back(p->key().name);
      if (p->key().name == name || p->key().path == name) found.push_back({w.get(), p.get()});
    }
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    return tl::unexpected(fail(Code::kNotFound, "no plugin named \"" + name + "\"",
                               Value(Dict{{"known_plugins", std::move(known)}})));
  }
  return tl::unexpected(fail(Code::kConflict, "several plugins are named \"" + name +
                                                  "\": name one by the path of its file"));
}

ControlAnswer Dispatcher::reload_plugin(const std::string& name) {
  std::vector<WorkerSlot*> targets;
  if (name.empty()) {
    for (auto& w : workers_) targets.push_back(w.get());
    log_->info("Reloading every plugin (an operator's request)");
  } else {
    auto named = find_plugin(name);
    if (!named) return named.error();
    targets.push_back(named->worker);
    log_->info("Reloading worker {} (an operator's request for {})", named->worker->def.id, name);
  }
  List reloaded;
  for (WorkerSlot* w : targets) {
    if (w->removing) continue;
    // As a reload by SIGHUP: deactivated plugins come back, disabled ones stay off.
    w->reactivate_on_load = true;
    w->supervisor.reload();
    if (w->session && !w->session->closed()) w->session->shutdown(options_.shutdown_grace);
    for (auto& p : w->plugins) reloaded.emplace_back(p->key().name);
  }
  next_supervise_ = {};
  return ok(Value(Dict{{"reloading", std::move(reloaded)}}));
}

ControlAnswer Dispatcher::disable(const std::string& name, const std::string& reason) {
  if (name.empty()) return fail(Code::kBadRequest, "name the plugin to disable");
  auto named = find_plugin(name);
  if (!named) return named.error();
  PluginSlot& p = *named->plugin;
  const std::string why = logging_.redactor().redact(
      reason.empty() ? "disabled by an operator" : "disabled by an operator: " + reason);
  const bool changed = p.ledger.disable(why, wall_now(), pending_);
  p.reactivate_at.reset();
  p.enable_on_load = false;
  if (changed) {
    // Persisted before the answer: a restart right after it keeps the plugin off.
    commit_state();
    logging_.plugin(p.key().name)
        ->warn("Plugin {} disabled ({}): it keeps its cursor ({}) until enabled", p.key().name, why,
               p.ledger.cursor());
  }
  return ok(Value(Dict{{"plugin", p.key().name},
                       {"state", "disabled"},
                       {"changed", changed},
                       {"cursor", static_cast<long long>(p.ledger.cursor())},
                       {"state_written", !state_failing_}}));
}

ControlAnswer Dispatcher::enable(const std::string& name) {
  if (name.empty()) return fail(Code::kBadRequest, "name the plugin to enable");
  auto named = find_plugin(name);
  if (!named) return named.error();
  WorkerSlot& w = *named->worker;
  PluginSlot& p = *named->plugin;
  if (!p.ledger.deactivated()) {
    return ok(Value(Dict{{"plugin", p.key().name}, {"state", "active"}, {"changed", false}}));
  }
  bool restarting = false;
  if (w.stops_itself && w.session && !w.session->closed()) {
    // The worker may hold the plugin stopped after an error (before it was disabled, too): a
    // new process brings it back, or its events would be answered as skipped.
    p.enable_on_load = true;
    restarting = true;
    w.session->shutdown(options_.shutdown_grace);
  } else {
    reactivate(w, p, "enabled by an operator");
    commit_state();
  }
  return ok(Value(Dict{{"plugin", p.key().name},
                       {"state", restarting ? "restarting" : "active"},
                       {"changed", true},
                       {"resumes_after", static_cast<long long>(p.ledger.cursor())},
                       {"state_written", !state_failing_}}));
}

ControlAnswer Dispatcher::list_dead_letters(const ControlRequest& r) {
  state::DeadLetterQuery q;
  if (!r.plugin.empty()) {
    auto named = find_plugin(r.plugin);
    if (!named) return named.error();
    q.plugin = named->plugin->key();
  }
  q.after_id = r.after;
  q.limit = std::clamp<std::size_t>(r.limit, 1, 1000);
  commit_state();  // letters parked this pass are listed too
  auto letters = store_.dead_letters(q);
  if (!letters)
    return fail(Code::kUnavailable, "cannot read the state: " + letters.error().message);
  List out;
  for (const auto& d : *letters) out.push_back(describe_dead_letter(d, false));
  Dict body{{"dead_letters", std::move(out)}};
  // More may follow: the next page starts after the last id.
  body["next_after"] =
      letters->size() == q.limit ? Value(static_cast<long long>(letters->back().id)) : Value();
  return ok(Value(std::move(body)));
}

ControlAnswer Dispatcher::show_dead_letter(std::int64_t id) {
  commit_state();
  auto letter = store_.dead_letter(id);
  if (!letter) return fail(Code::kUnavailable, "cannot read the state: " + letter.error().message);
  if (!*letter) return fail(Code::kNotFound, "no dead letter " + std::to_string(id));
  return ok(describe_dead_letter(**letter, true));
}

ControlAnswer Dispatcher::drop_dead_letter(std::int64_t id) {
  commit_state();
  auto gone = store_.delete_dead_letter(id);
  if (!gone) return fail(Code::kUnavailable, "cannot write the state: " + gone.error().message);
  if (!*gone) return fail(Code::kNotFound, "no dead letter " + std::to_string(id));
  log_->info("Dead letter {} dropped (an operator's request)", id);
  return ok(Value(Dict{{"dropped", static_cast<long long>(id)}}));
}

ControlAnswer Dispatcher::retry_dead_letter(std::int64_t id) {
  commit_state();
  auto letter = store_.dead_letter(id);
  if (!letter) return fail(Code::kUnavailable, "cannot read the state: " + letter.error().message);
  if (!*letter) return fail(Code::kNotFound, "no dead letter " + std::to_string(id));
  const state::DeadLetter& d = **letter;
  WorkerSlot* worker = nullptr;
  PluginSlot* plugin = nullptr;
  for (auto& w : workers_) {
    for (auto& p : w->plugins) {
      if (p->key() == d.plugin && !w->removing) {
        worker = w.get();
        plugin = p.get();
      }
    }
  }
  if (!plugin) return fail(Code::kConflict, "its plugin " + d.plugin.path + " is not loaded");
  if (!plugin->on_feed()) {
    return fail(
        Code::kConflict,
        "its plugin " + d.plugin.name + " is not running (" +
            (plugin->ledger.deactivated() ? plugin->ledger.deactivation_reason() : plugin->reason) +
            ")");
  }
  const auto cb = std::find_if(plugin->callbacks.begin(), plugin->callbacks.end(),
                               [&d](const CallbackSlot& c) { return c.info.name == d.callback; });
  if (cb == plugin->callbacks.end()) {
    return fail(Code::kConflict,
                "plugin " + d.plugin.name + " has no callback " + d.callback + " any more");
  }
  auto event = parse_json(d.event_json);
  if (!event || !event->is_dict()) {
    return fail(Code::kConflict, "the letter's event cannot be read back");
  }
  QueuedEvent q;
  q.id = d.event_id;
  q.resent = true;
  q.redrive = QueuedEvent::Redrive{d.id, d.callback};
  q.event = marked(std::move(*event), "dead_letter", EventAuthors{});
  q.plugins = {static_cast<std::uint16_t>(worker->plugin_index(plugin->key().name))};
  q.only_callbacks = {cb->info.index};
  worker->queue.push_back(std::move(q));
  ++redrives_queued_;
  logging_.plugin(d.plugin.name)
      ->info("Dead letter {} (event {}, {}) queued for a retry", d.id, d.event_id, d.callback);
  return ok(Value(Dict{{"queued", static_cast<long long>(d.id)},
                       {"event_id", static_cast<long long>(d.event_id)}}),
            Code::kAccepted);
}

ControlAnswer Dispatcher::replay(const ControlRequest& r) {
  if (r.events.empty()) return fail(Code::kBadRequest, "no event to replay");
  std::optional<Named> only;
  if (!r.plugin.empty()) {
    auto named = find_plugin(r.plugin);
    if (!named) return named.error();
    if (!named->plugin->on_feed()) {
      return fail(Code::kConflict, "plugin " + r.plugin + " is not running");
    }
    only = *named;
  }
  Dict queued;
  List ids;
  for (const Value& event : r.events) {
    const auto id = event["id"].if_int();
    if (!id) continue;
    ids.emplace_back(static_cast<long long>(*id));
    const EventAuthors authors = authors_if_needed(event);
    std::shared_ptr<const SharedEvent> shared;
    for (auto& w : workers_) {
      if (w->removing || (only && only->worker != w.get())) continue;
      QueuedEvent q;
      for (std::size_t i = 0; i < w->plugins.size(); ++i) {
        PluginSlot& p = *w->plugins[i];
        if ((only && only->plugin != &p) || !p.on_feed() || !takes(p, event, authors)) continue;
        if (!shared) shared = marked(event, "replay", authors);
        q.plugins.push_back(static_cast<std::uint16_t>(i));
        Value& n = queued[p.key().name];
        n = static_cast<long long>(n.if_int().value_or(0) + 1);
      }
      if (q.plugins.empty()) continue;
      q.id = *id;
      q.resent = true;
      q.redrive = QueuedEvent::Redrive{};
      q.event = shared;
      w->queue.push_back(std::move(q));
      ++redrives_queued_;
    }
  }
  log_->info("Replaying {} event(s){} (an operator's request)", ids.size(),
             only ? " to " + only->plugin->key().name : std::string());
  return ok(Value(Dict{{"events", std::move(ids)}, {"queued", std::move(queued)}}),
            Code::kAccepted);
}

void Dispatcher::finish_redrive(WorkerSlot& w, const QueuedEvent& entry,
                                const workers::Result& result) {
  const bool retry = entry.redrive->letter != 0;
  for (const workers::CallbackResult& r : result.results) {
    PluginSlot* p = w.plugin(r.plugin);
    if (!p) continue;
    const CallbackSlot* cb = nullptr;
    for (const auto& c : p->callbacks) {
      if (c.info.index == r.index) cb = &c;
    }
    const std::string name = cb ? cb->info.name : std::to_string(r.index);
    auto log = logging_.plugin(p->key().name);
    if (r.ok) {
      ++p->redrives_ok;
      if (retry) {
        auto gone = store_.delete_dead_letter(entry.redrive->letter);
        log->info("Dead letter {} (event {}, {}) retried: it succeeded{}", entry.redrive->letter,
                  entry.id, name, gone && *gone ? " and leaves the list" : "");
      } else {
        log->info("Replayed event {} to {}: ok", entry.id, name);
      }
      continue;
    }
    ++p->redrives_failed;
    if (r.skipped) {  // the worker holds the plugin stopped: it did not run
      log->warn("{} of event {} not run in {}: the plugin is stopped after an error",
                retry ? "Retry" : "Replay", entry.id, name);
      continue;
    }
    std::string text = r.traceback.empty() ? r.error : r.traceback;
    log->error("{} of event {} failed in {}:\n{}", retry ? "Retry" : "Replay", entry.id, name,
               text);
    if (!retry) continue;
    // Still a dead letter: the new error replaces the old, unless an operator dropped it.
    auto letter = store_.dead_letter(entry.redrive->letter);
    if (!letter || !*letter) continue;
    state::DeadLetter again = **letter;
    again.error =
        logging_.redactor().redact(r.traceback.empty() ? r.error : r.error + "\n" + r.traceback);
    again.attempts = 1;  // ParkDeadLetter adds it to the attempts so far
    again.last_failure = wall_now();
    pending_.park_dead_letter(std::move(again));
    commit_state();
    (void)store_.mark_dead_letter_retried(entry.redrive->letter, wall_now());
  }
}

}  // namespace sgeventd::dispatch
