// An operator's request to the running dispatcher (the admin API's control endpoints,
// docs/admin-api.md), and its answer. Requests wait in the dispatcher's inbox and are carried
// out on its thread between passes, so they need no lock on anything the dispatcher owns and
// can never race a cursor: what they change goes through the ledger and the state batch like
// everything else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sgeventd/state/state_types.h"
#include "sgeventd/value.h"

namespace sgeventd::dispatch {

struct ControlRequest {
  enum class Kind {
    kReload,       // load `plugin` (its worker) again from disk; empty: every plugin
    kEnable,       // back on the feed from its cursor (disabled or deactivated)
    kDisable,      // off the feed, kept so across restarts; `reason` is shown in status
    kDeadLetters,  // list: `plugin` (empty: all), ids after `after`, at most `limit`
    kDeadLetter,   // show `letter`
    kRetry,        // send `letter`'s event to its callback again; gone from the list on success
    kDrop,         // forget `letter`
    kReplay,       // deliver `events` again to `plugin` (empty: every plugin they match)
  };
  Kind kind = Kind::kReload;
  std::string plugin;  // a plugin's name, or its file's path
  std::int64_t letter = 0;
  std::int64_t after = 0;
  std::size_t limit = 100;
  std::string reason;
  std::vector<Value> events;  // replay: EventLogEntry dicts fetched from the site, by id
};

struct ControlAnswer {
  enum class Code {
    kOk,
    kAccepted,     // queued: the outcome comes later (retry, replay)
    kBadRequest,   // the request makes no sense (a plugin must be named, nothing to replay)
    kNotFound,     // no such plugin or dead letter (`body` lists the known plugins)
    kConflict,     // not possible now (the plugin is disabled, not loaded)
    kUnavailable,  // the daemon is stopping
  };
  Code code = Code::kOk;
  std::string error;  // empty unless the code is an error
  Value body;
};

// A dead letter as the admin API and `sgeventd dead-letters` give it: id, plugin, path,
// callback, event_id, error (its first line unless `full`), attempts, first_failure,
// last_failure (ISO 8601 UTC), retry_count, retried_at; with `full`, the event too.
Value describe_dead_letter(const state::DeadLetter& letter, bool full);

// The key a replayed or retried event carries in the dict given to plugins
// (docs/admin-api.md): "replay" or "dead_letter". Absent from every other event.
inline constexpr const char* kReplayKey = "sgeventd_replay";

}  // namespace sgeventd::dispatch
