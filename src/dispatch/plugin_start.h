// Where a plugin starts (DESIGN.md section 4): the one rule for every plugin the daemon loads,
// at startup and when a plugin file appears while it runs.
//
//   - its own committed cursor and gaps, when the state has them;
//   - else what an imported shotgunEvents state says (state/start_state.h), committed now so
//     the plugin owns it from here on;
//   - else `newest`: the newest event the daemon knows of (the site's at startup, the newest
//     read once running), as shotgunEvents starts a new plugin.
//
// A plugin the state says was deactivated comes back active, as in shotgunEvents (a restart,
// or its file coming back, is a fresh load); its gaps did not expire while it was away, so they
// are waited for from `now`. A plugin an operator disabled stays disabled (PluginStart::disabled)
// with its cursor and gaps, until enabled.
//
// A state that cannot be read is an error, never a start at the newest event: the caller
// reports it and the plugin waits (it would otherwise skip every event since its cursor).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "dispatch/ledger.h"
#include "sgeventd/state/state_batch.h"
#include "sgeventd/state/state_store.h"

namespace sgeventd::dispatch {

struct StartDecision {
  PluginStart start;
  state::StateBatch writes;  // what the decision changes in the state (commit it)
  std::string note;          // for the log, empty when the plugin resumes as it left off
};

state::StateResult<StartDecision> decide_start(state::StateStore& store,
                                               const state::PluginKey& key, std::int64_t newest,
                                               state::WallTime now,
                                               std::chrono::milliseconds backlog_timeout);

}  // namespace sgeventd::dispatch
