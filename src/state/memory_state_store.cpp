#include "state/memory_state_store.h"

#include <algorithm>

namespace sgeventd::state {

void add_gap_ids(std::vector<Gap>& gaps, const Gap& gap) {
  std::vector<Gap> out;
  EventId next = gap.first_id;  // the first id of `gap` not yet covered or added
  for (const Gap& g : gaps) {
    if (g.last_id < gap.first_id || g.first_id > gap.last_id || next > gap.last_id) {
      out.push_back(g);
      continue;
    }
    if (g.first_id > next) out.push_back(Gap{next, g.first_id - 1, gap.first_seen, gap.expiry});
    out.push_back(g);
    next = std::max(next, g.last_id + 1);
  }
  if (next <= gap.last_id) out.push_back(Gap{next, gap.last_id, gap.first_seen, gap.expiry});
  std::sort(out.begin(), out.end(),
            [](const Gap& a, const Gap& b) { return a.first_id < b.first_id; });
  gaps = std::move(out);
}

void remove_gap_ids(std::vector<Gap>& gaps, EventId first, EventId last) {
  if (first > last) return;
  std::vector<Gap> out;
  for (const Gap& g : gaps) {
    if (g.last_id < first || g.first_id > last) {
      out.push_back(g);
      continue;
    }
    // What is left on either side keeps the original sighting and expiry.
    if (g.first_id < first) out.push_back(Gap{g.first_id, first - 1, g.first_seen, g.expiry});
    if (g.last_id > last) out.push_back(Gap{last + 1, g.last_id, g.first_seen, g.expiry});
  }
  gaps = std::move(out);
}

PluginState& MemoryStateStore::row(Data& d, const PluginKey& key) const {
  auto it = d.plugins.find(key);
  if (it == d.plugins.end()) {
    PluginState p;
    p.key = key;
    p.status = {Activity::kActive, "", now_()};
    it = d.plugins.emplace(key, std::move(p)).first;
  }
  return it->second;
}

StateResult<void> MemoryStateStore::apply(Data& d, const StateBatch::Operation& op) const {
  return std::visit(
      [&](const auto& o) -> StateResult<void> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, StateBatch::ParkDeadLetter>) {
          row(d, o.letter.plugin);
          for (auto& [id, l] : d.letters) {
            if (l.plugin == o.letter.plugin && l.callback == o.letter.callback &&
                l.event_id == o.letter.event_id) {
              l.event_json = o.letter.event_json;
              l.error = o.letter.error;
              l.attempts += o.letter.attempts;
              l.last_failure = o.letter.last_failure;
              return {};
            }
          }
          DeadLetter l = o.letter;
          l.id = d.next_letter++;
          l.retried_at.reset();
          l.retry_count = 0;
          d.letters.emplace(l.id, std::move(l));
        } else if constexpr (std::is_same_v<T, StateBatch::SetLegacyDefault>) {
          d.legacy[o.value.folder] = o.value.cursor;
        } else if constexpr (std::is_same_v<T, StateBatch::DropLegacyDefaults>) {
          d.legacy.clear();
        } else if constexpr (std::is_same_v<T, StateBatch::AddGap>) {
          if (o.gap.first_id > o.gap.last_id) {
            return state_error(StateErrorKind::kInvalidArgument,
                               "a gap from " + std::to_string(o.gap.first_id) + " to " +
                                   std::to_string(o.gap.last_id));
          }
          add_gap_ids(row(d, o.plugin).gaps, o.gap);
        } else {
          PluginState& p = row(d, o.plugin);
          if constexpr (std::is_same_v<T, StateBatch::AdvanceCursor>) {
            if (!p.cursor || *p.cursor < o.to) p.cursor = o.to;
          } else if constexpr (std::is_same_v<T, StateBatch::SetCursor>) {
            p.cursor = o.to;
          } else if constexpr (std::is_same_v<T, StateBatch::SetStatus>) {
            p.status = o.status;
          } else {
            static_assert(std::is_same_v<T, StateBatch::RemoveGapIds>);
            remove_gap_ids(p.gaps, o.first_id, o.last_id);
          }
        }
        return {};
      },
      op);
}

StateResult<void> MemoryStateStore::commit(const StateBatch& batch) {
  std::lock_guard lock(mutex_);
  if (fail_commits_) return state_error(StateErrorKind::kUnwritable, "commits fail (test)");
  Data next = data_;  // all or nothing
  for (const auto& op : batch.operations()) {
    if (auto r = apply(next, op); !r) return r;
  }
  data_ = std::move(next);
  return {};
}

StateResult<std::vector<PluginState>> MemoryStateStore::plugins() {
  std::lock_guard lock(mutex_);
  std::vector<PluginState> out;
  for (const auto& [key, p] : data_.plugins) out.push_back(p);  // keys sort by path, then name
  return out;
}

StateResult<std::optional<PluginState>> MemoryStateStore::plugin(const PluginKey& key) {
  std::lock_guard lock(mutex_);
  auto it = data_.plugins.find(key);
  if (it == data_.plugins.end()) return std::optional<PluginState>{};
  return std::optional<PluginState>{it->second};
}

StateResult<std::vector<LegacyDefault>> MemoryStateStore::legacy_defaults() {
  std::lock_guard lock(mutex_);
  std::vector<LegacyDefault> out;
  for (const auto& [folder, cursor] : data_.legacy) out.push_back({folder, cursor});
  return out;
}

StateResult<std::vector<DeadLetter>> MemoryStateStore::dead_letters(const DeadLetterQuery& query) {
  std::lock_guard lock(mutex_);
  std::vector<DeadLetter> out;
  for (auto it = data_.letters.upper_bound(query.after_id);
       it != data_.letters.end() && out.size() < query.limit; ++it) {
    if (query.plugin && it->second.plugin != *query.plugin) continue;
    out.push_back(it->second);
  }
  return out;
}

StateResult<std::optional<DeadLetter>> MemoryStateStore::dead_letter(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto it = data_.letters.find(id);
  if (it == data_.letters.end()) return std::optional<DeadLetter>{};
  return std::optional<DeadLetter>{it->second};
}

StateResult<bool> MemoryStateStore::delete_dead_letter(std::int64_t id) {
  std::lock_guard lock(mutex_);
  if (fail_commits_) return state_error(StateErrorKind::kUnwritable, "commits fail (test)");
  return data_.letters.erase(id) > 0;
}

StateResult<bool> MemoryStateStore::mark_dead_letter_retried(std::int64_t id, WallTime when) {
  std::lock_guard lock(mutex_);
  if (fail_commits_) return state_error(StateErrorKind::kUnwritable, "commits fail (test)");
  auto it = data_.letters.find(id);
  if (it == data_.letters.end()) return false;
  it->second.retried_at = when;
  ++it->second.retry_count;
  return true;
}

}  // namespace sgeventd::state
