// Where a plugin starts when the store has no cursor of its own for it: the original's rules
// (original-daemon.md, "Event loop and state"), applied to whatever the store holds, imported
// or written by sgeventd.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sgeventd/state/state_store.h"

namespace sgeventd::state {

struct StartState {
  enum class Source {
    kOwn,           // the plugin's own cursor
    kLegacyFolder,  // an imported state gave its whole folder a bare int
    kSameName,      // a plugin of the same name elsewhere (its folder moved): highest cursor
    kLegacyGlobal,  // an imported one-integer text state
    kNone,          // nothing: start at the site's newest event, as the original does
  };
  Source source = Source::kNone;
  std::optional<EventId> cursor;
  std::vector<Gap> gaps;  // kOwn and kSameName carry the gaps of the state they came from
  std::string from;       // kSameName: the path of the plugin whose state this is
};

// The rules, first match wins: own cursor; the legacy default of the plugin's folder (the
// parent of key.path); the highest cursor of a plugin with the same name under another path;
// the global legacy default; none. The daemon commits the result for every loaded plugin that
// is not kOwn (with StateBatch::set_cursor and add_gap), then drops the legacy defaults.
StateResult<StartState> resolve_start_state(StateStore& store, const PluginKey& key);

const char* source_name(StartState::Source source);

}  // namespace sgeventd::state
