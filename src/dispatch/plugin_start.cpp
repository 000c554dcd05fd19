#include "dispatch/plugin_start.h"

#include "state/start_state.h"

namespace sgeventd::dispatch {

state::StateResult<StartDecision> decide_start(state::StateStore& store,
                                               const state::PluginKey& key, std::int64_t newest,
                                               state::WallTime now,
                                               std::chrono::milliseconds backlog_timeout) {
  auto resolved = state::resolve_start_state(store, key);
  if (!resolved) return tl::unexpected(resolved.error());
  auto known = store.plugin(key);
  if (!known) return tl::unexpected(known.error());

  StartDecision d;
  d.start.cursor = resolved->cursor.value_or(newest);
  d.start.gaps = resolved->gaps;
  d.start.own_state = resolved->source == state::StartState::Source::kOwn;
  if (!d.start.own_state) {
    d.note = "starts after event " + std::to_string(d.start.cursor) + " (" +
             state::source_name(resolved->source) + ")";
    d.writes.set_cursor(key, d.start.cursor);
    for (const auto& g : d.start.gaps) d.writes.add_gap(key, g);
  }
  if (*known && (*known)->status.activity == state::Activity::kDisabled) {
    d.start.disabled = true;
    d.start.disabled_reason = (*known)->status.reason;
    d.note = "disabled (" + (*known)->status.reason + "): stays off until `sgeventd enable`";
  } else if (*known && (*known)->status.activity == state::Activity::kDeactivated) {
    d.note = "was deactivated (" + (*known)->status.reason + "): active again";
    d.writes.set_status(key, {state::Activity::kActive, "", now});
    for (auto& g : d.start.gaps) {
      d.writes.remove_gap_ids(key, g.first_id, g.last_id);
      g.first_seen = now;
      g.expiry = now + backlog_timeout;
      d.writes.add_gap(key, g);
    }
  }
  return d;
}

}  // namespace sgeventd::dispatch
