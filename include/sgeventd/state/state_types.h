// The values the state layer stores and the errors it returns.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::state {

// Wall-clock time, to the millisecond (what the tables hold). Gap expiries and failure times are
// wall time because they must mean the same thing after a restart; the daemon's steady Clock
// does not survive one.
using WallTime = std::chrono::sys_time<std::chrono::milliseconds>;
using EventId = std::int64_t;

WallTime wall_now();

// Identifies a plugin across restarts: the path of its file (the .py file, or an exec plugin's
// manifest) and its name. Two plugins of the same name in different folders are different.
struct PluginKey {
  std::string path;
  std::string name;

  friend auto operator<=>(const PluginKey&, const PluginKey&) = default;
  friend bool operator==(const PluginKey&, const PluginKey&) = default;
};

// kDeactivated: the daemon stopped it (failures, a crash loop); it comes back when its file
// changes, after the reactivation delay, or at the next start. kDisabled: an operator stopped it
// (`sgeventd disable`); only `sgeventd enable` brings it back, restarts included.
enum class Activity { kActive, kDeactivated, kDisabled };

struct PluginStatus {
  Activity activity = Activity::kActive;
  std::string reason;  // why it was deactivated; empty when active
  WallTime since{};    // when this status began

  friend bool operator==(const PluginStatus&, const PluginStatus&) = default;
};

// Event ids first_id..last_id (inclusive) that were missing when the daemon first read past
// them. They may still appear (ids are allocated before their transaction commits) until expiry.
struct Gap {
  EventId first_id = 0;
  EventId last_id = 0;
  WallTime first_seen{};
  WallTime expiry{};

  friend bool operator==(const Gap&, const Gap&) = default;
};

struct PluginState {
  PluginKey key;
  // The highest id such that every matching event at or below it has resolved (done, or given
  // up on and parked as a dead letter), gaps aside. nullopt: never set.
  std::optional<EventId> cursor;
  PluginStatus status;
  std::vector<Gap> gaps;  // ascending, never overlapping

  friend bool operator==(const PluginState&, const PluginState&) = default;
};

// An event a callback was given up on: kept with its error so it can be listed and re-driven.
struct DeadLetter {
  std::int64_t id = 0;  // assigned by the store
  PluginKey plugin;
  std::string callback;  // the callback's name
  EventId event_id = 0;
  std::string event_json;  // the event as delivered
  std::string error;       // the last error text (with its traceback)
  int attempts = 0;        // deliveries that failed
  WallTime first_failure{};
  WallTime last_failure{};
  std::optional<WallTime> retried_at;  // last re-drive, if any
  int retry_count = 0;                 // re-drives so far

  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

// A cursor a shotgunEvents state file gave a whole plugin folder (a bare int under the folder's
// path), or every plugin (folder "": the old one-integer text format). Used only for plugins the
// store has no row for; see start_state.h.
struct LegacyDefault {
  std::string folder;
  EventId cursor = 0;

  friend bool operator==(const LegacyDefault&, const LegacyDefault&) = default;
};

enum class StateErrorKind {
  kLocked,        // another daemon holds the state
  kCorrupt,       // the file is damaged, empty, or neither an sgeventd state nor a legacy one
  kNewerSchema,   // written by a newer sgeventd
  kLegacyFormat,  // a shotgunEvents state file that cannot be read (truncated, unsafe, odd)
  kUnwritable,    // disk full, read-only, I/O error, missing rights: nothing was written
  kUnreachable,   // the state's database cannot be reached (or timed out): nothing was written
  kFenced,        // this daemon does not hold the leader lease (any more): nothing was written
  kInvalidArgument,
  kInternal,
};

struct StateError {
  StateErrorKind kind = StateErrorKind::kInternal;
  std::string message;

  // "<kind>: <message>"
  std::string describe() const;
};

const char* kind_name(StateErrorKind kind);

template <typename T>
using StateResult = Expected<T, StateError>;

inline tl::unexpected<StateError> state_error(StateErrorKind kind, std::string message) {
  return tl::unexpected(StateError{kind, std::move(message)});
}

}  // namespace sgeventd::state
