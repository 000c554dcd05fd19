#include "state/state_copy.h"

namespace sgeventd::state {

StateResult<StateBatch> state_as_batch(StateStore& from, CopySummary& summary) {
  StateBatch batch;
  auto plugins = from.plugins();
  if (!plugins) return tl::unexpected(plugins.error());
  for (const PluginState& p : *plugins) {
    batch.set_cursor(p.key, p.cursor).set_status(p.key, p.status);
    for (const Gap& g : p.gaps) batch.add_gap(p.key, g);
    ++summary.plugins;
    summary.gaps += static_cast<int>(p.gaps.size());
  }
  for (DeadLetterQuery page;;) {
    page.limit = 1000;
    auto letters = from.dead_letters(page);
    if (!letters) return tl::unexpected(letters.error());
    for (const DeadLetter& d : *letters) {
      batch.park_dead_letter(d);
      ++summary.dead_letters;
    }
    if (letters->size() < page.limit) break;
    page.after_id = letters->back().id;
  }
  auto defaults = from.legacy_defaults();
  if (!defaults) return tl::unexpected(defaults.error());
  for (const LegacyDefault& d : *defaults) {
    batch.set_legacy_default(d);
    ++summary.legacy_defaults;
  }
  return batch;
}

StateResult<CopySummary> copy_state(StateStore& from, StateStore& to) {
  CopySummary summary;
  auto batch = state_as_batch(from, summary);
  if (!batch) return tl::unexpected(batch.error());
  if (auto r = to.commit(*batch); !r) return tl::unexpected(r.error());
  return summary;
}

}  // namespace sgeventd::state
