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

// Everything `from` holds as one batch for another store: each plugin's cursor and status set,
// its gaps added, its dead letters parked, the legacy defaults set. A dead letter keeps its
// attempts and failure times; its re-drive count does not carry over (the target numbers
// letters anew).
StateResult<StateBatch> state_as_batch(StateStore& from, CopySummary& summary);

// Commits state_as_batch(from) to `to`, which should be empty (the rows of the plugins copied
// are overwritten, the others kept).
StateResult<CopySummary> copy_state(StateStore& from, StateStore& to);

}  // namespace sgeventd::state
