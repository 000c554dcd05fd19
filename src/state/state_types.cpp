#include "sgeventd/state/state_types.h"
#include "sgeventd/state/state_batch.h"

namespace sgeventd::state {

WallTime wall_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

const char* kind_name(StateErrorKind kind) {
  switch (kind) {
    case StateErrorKind::kLocked:
      return "StateLocked";
    case StateErrorKind::kCorrupt:
      return "StateCorrupt";
    case StateErrorKind::kNewerSchema:
      return "StateNewerSchema";
    case StateErrorKind::kLegacyFormat:
      return "LegacyStateUnreadable";
    case StateErrorKind::kUnwritable:
      return "StateUnwritable";
    case StateErrorKind::kUnreachable:
      return "StateUnreachable";
    case StateErrorKind::kFenced:
      return "NotLeader";
    case StateErrorKind::kInvalidArgument:
      return "InvalidArgument";
    case StateErrorKind::kInternal:
      return "StateInternalError";
  }
  return "StateError";
}

std::string StateError::describe() const { return std::string(kind_name(kind)) + ": " + message; }

StateBatch& StateBatch::advance_cursor(PluginKey plugin, EventId to) {
  operations_.emplace_back(AdvanceCursor{std::move(plugin), to});
  return *this;
}

StateBatch& StateBatch::set_cursor(PluginKey plugin, std::optional<EventId> to) {
  operations_.emplace_back(SetCursor{std::move(plugin), to});
  return *this;
}

StateBatch& StateBatch::set_status(PluginKey plugin, PluginStatus status) {
  operations_.emplace_back(SetStatus{std::move(plugin), std::move(status)});
  return *this;
}

StateBatch& StateBatch::add_gap(PluginKey plugin, Gap gap) {
  operations_.emplace_back(AddGap{std::move(plugin), gap});
  return *this;
}

StateBatch& StateBatch::remove_gap_ids(PluginKey plugin, EventId first_id, EventId last_id) {
  operations_.emplace_back(RemoveGapIds{std::move(plugin), first_id, last_id});
  return *this;
}

StateBatch& StateBatch::park_dead_letter(DeadLetter letter) {
  operations_.emplace_back(ParkDeadLetter{std::move(letter)});
  return *this;
}

StateBatch& StateBatch::set_legacy_default(LegacyDefault value) {
  operations_.emplace_back(SetLegacyDefault{std::move(value)});
  return *this;
}

StateBatch& StateBatch::drop_legacy_defaults() {
  operations_.emplace_back(DropLegacyDefaults{});
  return *this;
}

StateBatch& StateBatch::append(const StateBatch& other) {
  operations_.insert(operations_.end(), other.operations_.begin(), other.operations_.end());
  return *this;
}

}  // namespace sgeventd::state
