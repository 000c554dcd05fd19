// Copies one state into another (`sgeventd import-state` moving an SQLite state into
// PostgreSQL): every plugin's cursor, status and gaps, the dead letters and the legacy
// defaults, in one commit of the target (all or nothing).
#pragma once

#include "sgeventd/state/state_store.h"

namespace sgeventd::state {

struct CopySummary {
  int plugins = 0;
  int gaps = 0;
  int dead_letters = 0;
  int legacy_defaults = 0;
};

// The target should be empty (its rows for the plugins copied are replaced: cursor set, status
// set, gaps added). A dead letter keeps its attempts and failure times; its re-drive count does
// not carry over (the target numbers letters anew).
StateResult<CopySummary> copy_state(StateStore& from, StateStore& to);

}  // namespace sgeventd::state
