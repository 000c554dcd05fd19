#include "state/store_rows.h"

#include <algorithm>

namespace sgeventd::state::rows {

const char* status_text(Activity a) {
  switch (a) {
    case Activity::kActive:
      return "active";
    case Activity::kDeactivated:
      return "deactivated";
    case Activity::kDisabled:
      return "disabled";
  }
  return "deactivated";
}

Activity activity_of(const std::string& text) {
  if (text == "active") return Activity::kActive;
  return text == "disabled" ? Activity::kDisabled : Activity::kDeactivated;
}

StateResult<GapEdit> plan_add_gap(const std::vector<Gap>& held, const Gap& gap) {
  if (gap.first_id > gap.last_id) {
    return state_error(
        StateErrorKind::kInvalidArgument,
        "a gap from " + std::to_string(gap.first_id) + " to " + std::to_string(gap.last_id));
  }
  GapEdit edit;
  auto insert = [&](EventId first, EventId last) {
    edit.insert.push_back(Gap{first, last, gap.first_seen, gap.expiry});
  };
  EventId next = gap.first_id;  // the first id not yet covered or inserted
  for (const Gap& h : held) {
    if (h.first_id > next) insert(next, h.first_id - 1);
    if (h.last_id >= gap.last_id) return edit;
    next = std::max(next, h.last_id + 1);
  }
  insert(next, gap.last_id);
  return edit;
}

GapEdit plan_remove_ids(const std::vector<Gap>& held, EventId first, EventId last) {
  GapEdit edit;
  if (first > last) return edit;
  for (const Gap& g : held) {
    edit.remove.push_back(g.first_id);
    if (g.first_id < first)
      edit.insert.push_back(Gap{g.first_id, first - 1, g.first_seen, g.expiry});
    if (g.last_id > last) edit.insert.push_back(Gap{last + 1, g.last_id, g.first_seen, g.expiry});
  }
  return edit;
}

}  // namespace sgeventd::state::rows
