// What the SQL stores (SQLite, PostgreSQL) share: how a status and a time are written in a row,
// and how adding or removing gap ids edits the gap rows of a plugin.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sgeventd/state/state_types.h"

namespace sgeventd::state::rows {

// Times are milliseconds since the Unix epoch (UTC).
inline std::int64_t ms(WallTime t) { return t.time_since_epoch().count(); }
inline WallTime wall(std::int64_t v) { return WallTime(std::chrono::milliseconds(v)); }

// "active", "deactivated", "disabled" (the tables' CHECK); an unknown word reads as deactivated.
const char* status_text(Activity a);
Activity activity_of(const std::string& text);

// The rows to delete (by first_id) and to insert, in that order.
struct GapEdit {
  std::vector<EventId> remove;
  std::vector<Gap> insert;
};

// `held`: the plugin's gaps overlapping gap.first_id..gap.last_id, ascending. Ids already held
// keep their first sighting: only the uncovered stretches are inserted. A gap whose first id is
// past its last is kInvalidArgument.
StateResult<GapEdit> plan_add_gap(const std::vector<Gap>& held, const Gap& gap);
// `held`: the gaps overlapping first..last. They are deleted; what is left on either side keeps
// its sighting and expiry.
GapEdit plan_remove_ids(const std::vector<Gap>& held, EventId first, EventId last);

}  // namespace sgeventd::state::rows
