// Everything one dispatcher pass wants persisted, applied by StateStore::commit in one
// transaction, in the order the operations were added (a gap added then filled within one pass
// ends up filled). A plugin named by any operation gets a row (active) if it had none.
#pragma once

#include <cstddef>
#include <optional>
#include <variant>
#include <vector>

#include "sgeventd/state/state_types.h"

namespace sgeventd::state {

class StateBatch {
 public:
  // cursor = max(cursor, to): the committed cursor only moves forward, so a stale or repeated
  // advance is harmless.
  struct AdvanceCursor {
    PluginKey plugin;
    EventId to = 0;
  };
  // cursor = to exactly, even backwards or unset (legacy import, an operator's rewind).
  struct SetCursor {
    PluginKey plugin;
    std::optional<EventId> to;
  };
  struct SetStatus {
    PluginKey plugin;
    PluginStatus status;
  };
  // Ids of the gap already held keep their first sighting; only the new ids are added.
  struct AddGap {
    PluginKey plugin;
    Gap gap;
  };
  // Ids first_id..last_id are no longer missing (arrived, or expired); ranges are split.
  struct RemoveGapIds {
    PluginKey plugin;
    EventId first_id = 0;
    EventId last_id = 0;
  };
  // A new letter, or, for a (plugin, callback, event id) already parked, one more failure:
  // attempts add up, the error, event and last failure are replaced, first failure kept.
  struct ParkDeadLetter {
    DeadLetter letter;
  };
  struct SetLegacyDefault {
    LegacyDefault value;
  };
  // Once the daemon has given every loaded plugin its start state, the legacy defaults must
  // go: a plugin added months later must not start from them.
  struct DropLegacyDefaults {};

  using Operation = std::variant<AdvanceCursor, SetCursor, SetStatus, AddGap, RemoveGapIds,
                                 ParkDeadLetter, SetLegacyDefault, DropLegacyDefaults>;

  StateBatch& advance_cursor(PluginKey plugin, EventId to);
  StateBatch& set_cursor(PluginKey plugin, std::optional<EventId> to);
  StateBatch& set_status(PluginKey plugin, PluginStatus status);
  StateBatch& add_gap(PluginKey plugin, Gap gap);
  StateBatch& remove_gap_ids(PluginKey plugin, EventId first_id, EventId last_id);
  StateBatch& park_dead_letter(DeadLetter letter);
  StateBatch& set_legacy_default(LegacyDefault value);
  StateBatch& drop_legacy_defaults();
  // Every operation of `other`, after these.
  StateBatch& append(const StateBatch& other);

  const std::vector<Operation>& operations() const { return operations_; }
  bool empty() const { return operations_.empty(); }
  std::size_t size() const { return operations_.size(); }
  void clear() { operations_.clear(); }

 private:
  std::vector<Operation> operations_;
};

}  // namespace sgeventd::state
