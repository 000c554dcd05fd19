// The state file of shotgunEvents, read and imported so switching to sgeventd neither replays
// nor skips events (DESIGN.md section 1, promise 5).
//
// Its two formats (original-daemon.md, "Event loop and state"):
//   - a pickle (protocol 2 to 5) of
//       {collection path: {plugin name: (last_event_id, {backlog id: naive local datetime})}}
//     where, in older files, a collection's value or a plugin's value may be a bare int, and
//     last_event_id may be None (a plugin that never had a state);
//   - older still, a text file whose first line is the last processed event id.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sgeventd/state/state_batch.h"
#include "sgeventd/state/state_store.h"
#include "sgeventd/state/state_types.h"
#include "value/pickle_reader.h"

namespace sgeventd::state {

struct LegacyBacklogEntry {
  EventId id = 0;
  pickle::NaiveDateTime expiry;  // local wall time, as datetime.now() + 5 minutes wrote it
};

struct LegacyPlugin {
  std::string name;
  std::optional<EventId> last_event_id;
  std::vector<LegacyBacklogEntry> backlog;  // ascending by id
};

struct LegacyCollection {
  std::string path;                           // a plugin folder, as written in the config
  std::optional<EventId> bare_last_event_id;  // the whole folder's value was an int
  std::vector<LegacyPlugin> plugins;
};

struct LegacyState {
  enum class Format { kPickle, kText };
  Format format = Format::kPickle;
  int pickle_protocol = 0;                    // kPickle
  std::optional<EventId> text_last_event_id;  // kText: applies to every plugin
  std::vector<LegacyCollection> collections;  // kPickle, in file order
};

// Parses a legacy state file's bytes. Errors (kLegacyFormat) say what is wrong: truncated (the
// original rewrites the file in place, so kill -9 can leave half of it: upstream issue #38), an
// unsafe pickle, or a structure that is not a shotgunEvents state.
StateResult<LegacyState> parse_legacy_state(std::string_view bytes);
StateResult<LegacyState> read_legacy_state_file(const std::string& path);

// Whether these bytes can only be a legacy state (a pickle, or digits on the first line), as
// opposed to something else at the path.
bool looks_like_legacy_state(std::string_view bytes);

// "/plugins/" and "/plugins" are the same folder.
std::string normalize_folder(std::string folder);
// The key sgeventd gives plugin `name` of folder `folder`: {folder + "/" + name + ".py", name}
// (the original loads only *.py files, named after the file).
PluginKey default_legacy_key(const std::string& folder, const std::string& name);

struct LegacyImportOptions {
  // The store key of a legacy (folder, plugin name); default_legacy_key when empty.
  std::function<PluginKey(const std::string& folder, const std::string& name)> key_for;
  // The original's fixed backlog timeout: a backlog id's first sighting was its expiry minus
  // this.
  std::chrono::minutes backlog_timeout{5};
  // The time recorded as the imported plugins' status "since".
  WallTime now{};
};

struct LegacyImportSummary {
  std::size_t plugins = 0;          // plugins given a cursor
  std::size_t gaps = 0;             // gap ranges made from backlogs
  std::size_t folder_defaults = 0;  // folders whose value was a bare int
  bool global_default = false;      // the text format
};

// Appends to `batch` the operations that import `legacy`: each plugin's cursor is set to its
// last_event_id (replacing what the store had) and its backlog becomes gaps (consecutive ids
// with one expiry coalesced); bare ints become legacy defaults (see start_state.h). Backlog
// entries whose datetime cannot be placed in local time are an error.
StateResult<LegacyImportSummary> add_legacy_import(const LegacyState& legacy,
                                                   const LegacyImportOptions& options,
                                                   StateBatch& batch);

// Imports into `store` in one transaction: what `sgeventd import-state FILE` needs.
StateResult<LegacyImportSummary> import_legacy_state(StateStore& store, const LegacyState& legacy,
                                                     const LegacyImportOptions& options);

}  // namespace sgeventd::state
