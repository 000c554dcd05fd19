// What the dispatcher keeps per worker and per plugin (DESIGN.md section 4). Plain data: the
// rules that change it live in dispatcher*.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dispatch/duration_histogram.h"
#include "dispatch/event_matcher.h"
#include "dispatch/ledger.h"
#include "dispatch/loop_prevention.h"
#include "dispatch/output_limiter.h"
#include "dispatch/pipeline_window.h"
#include "sgeventd/clock.h"
#include "sgeventd/state/state_types.h"
#include "sgeventd/workers/protocol.h"
#include "workers/supervisor.h"
#include "workers/worker_session.h"

namespace sgeventd::dispatch {

// A worker process to run: one plugin (worker_per = plugin) or a folder's plugins in the
// original's order (worker_per = path).
struct WorkerDefinition {
  std::string id;  // the plugin's path, or the folder's
  std::string per = "plugin";
  workers::SpawnSpec spawn;
  std::vector<workers::PluginRef> plugins;
  std::vector<std::string> watch_paths;  // a change reloads the worker
  // An exec plugin's manifest, read again at every start so an edit to it takes effect.
  std::string manifest;
  // An exec plugin's: the daemon's credentials its hello carries (manifest `credentials`).
  std::vector<std::string> credentials;
};

struct CallbackSlot {
  workers::CallbackInfo info;
  EventMatcher matcher;
};

// A plugin as the dispatcher sees it: its worker's view (loaded, callbacks, completion file)
// beside its ledger, which owns every cursor, gap, failure and activity of its delivery.
struct PluginSlot {
  explicit PluginSlot(PluginLedger l) : ledger(std::move(l)) {}

  const state::PluginKey& key() const { return ledger.key(); }
  std::vector<CallbackSlot> callbacks;
  bool loaded = false;  // its worker answered `loaded` (callbacks known)
  std::string reason;   // why it is not loaded
  // reactivation > 0: when a deactivated plugin comes back (the daemon's steady clock).
  std::optional<Clock::time_point> reactivate_at;
  // Its completion file (workers/completion_log.h), empty when it has none.
  std::string completions;
  // An operator enabled it while its worker held it stopped (stop_on_error in the worker): the
  // worker restarts, and its next load brings it back.
  bool enable_on_load = false;
  // For the metrics: how long its callbacks took (as its worker measured them), and the
  // retries the failure policy made.
  DurationHistogram callback_seconds;
  std::int64_t retries = 0;
  // An operator's re-drives (replays, retried dead letters): callback runs that succeeded, and
  // those that failed or were not run (the plugin off the feed, its worker gone).
  std::int64_t redrives_ok = 0;
  std::int64_t redrives_failed = 0;
  // Its latest errors, newest last, for the status page: when (Unix seconds), the event (0 for
  // a load error) and the message (redacted, first line only, bounded).
  struct RecentError {
    std::int64_t at = 0;
    std::int64_t event_id = 0;
    std::string error;
  };
  static constexpr std::size_t kRecentErrors = 5;
  std::deque<RecentError> recent_errors;
  // created_at of the newest event it is done with (its lag in seconds is the feed's newest
  // created_at minus this).
  std::chrono::system_clock::time_point done_at{};
  // Its stderr lines and log messages (plugin_log_lines_per_second, _bytes_per_minute), and
  // when the next "dropped" line may be written.
  OutputLimiter output;
  Clock::time_point next_drop_report{};
  PluginLedger ledger;

  bool on_feed() const { return loaded && !ledger.deactivated(); }
  // The completion records found when the daemon started (its workers' work of an earlier
  // run): a rebase gives them to the new ledger too.
  std::vector<std::int64_t> recorded_at_start;
};

// What every worker's copy of an event shares: made once per event, whatever the number of
// plugins it goes to.
struct SharedEvent {
  std::string json;  // the EventLogEntry as compact JSON, as the workers receive it
  std::string event_type;
  Value attribute_name;
  std::chrono::system_clock::time_point created_at{};
  EventAuthors authors;  // for loop prevention (empty when it is off)
};

// Made once per event (dispatcher_events.cpp).
std::shared_ptr<const SharedEvent> share_event(const Value& event, const EventAuthors& authors);

// An event waiting for (or at) a worker.
struct QueuedEvent {
  std::int64_t id = 0;
  bool late = false;
  bool resent = false;  // lost in a worker crash, or a retry: not new to the queue
  std::shared_ptr<const SharedEvent> event;
  std::vector<std::uint16_t> plugins;  // indexes in WorkerSlot::plugins that need it
  std::vector<int> only_callbacks;     // a retry: just these callback indexes (one plugin)
  Clock::time_point not_before{};
  std::vector<workers::CallbackRef> sent;  // the callbacks it was sent with
  // An operator's re-drive (dispatcher_control.cpp): a replay, or a dead letter's retry
  // (`letter`, else 0). Outside the ledger: its result moves no cursor, counts no failure and
  // parks nothing. Always `resent` too, so the queue's accounting of new events leaves it out.
  struct Redrive {
    std::int64_t letter = 0;
    std::string callback;  // a retry's: looked up by name when sent (a reload may renumber)
  };
  std::optional<Redrive> redrive;
};

struct WorkerSlot {
  WorkerSlot(WorkerDefinition d, workers::SupervisorOptions options, Clock& clock)
      : def(std::move(d)), supervisor(options, def.watch_paths, clock) {}

  WorkerDefinition def;
  std::vector<std::unique_ptr<PluginSlot>> plugins;
  workers::Supervisor supervisor;
  std::unique_ptr<workers::Worker> session;
  std::optional<workers::SessionEnd> ended;  // reported by on_closed, handled after the pass
  bool removing = false;                     // dropped by a reload: stop, then forget

  std::deque<QueuedEvent> queue;
  // Sent and not answered, oldest first: a worker answers in order, so a result is always for
  // the front (its seq is checked).
  std::deque<std::pair<std::uint64_t, QueuedEvent>> in_flight;
  std::size_t regular_queued = 0;  // queue entries that are new, in id order
  // One event at a time: a callback with stopOnError (or any retries) must stop the plugin
  // before it runs the next event, as in shotgunEvents; pipelining would run events past it.
  bool strict = false;
  bool stops_itself = false;  // the worker has the stop_on_error feature
  PipelineWindow window{1};   // sized per session from pipeline_window and the worker's speed

  enum class Mode { kFeed, kCatchUp } mode = Mode::kFeed;
  std::int64_t fetched_upto = 0;  // catch-up: ids up to here are read
  bool read_pending = false;
  std::uint64_t read_generation = 0;

  bool reactivate_on_load = false;
  std::int64_t starts = 0;         // processes started (metrics: restarts = starts - 1)
  Clock::time_point started_at{};  // when the last start was asked for (start to `loaded`)

  PluginSlot* plugin(const std::string& name) {
    for (auto& p : plugins)
      if (p->key().name == name) return p.get();
    return nullptr;
  }
  std::size_t plugin_index(const std::string& name) const {
    for (std::size_t i = 0; i < plugins.size(); ++i)
      if (plugins[i]->key().name == name) return i;
    return plugins.size();
  }
};

}  // namespace sgeventd::dispatch
