#include "state/start_state.h"

#include "state/legacy_state.h"

namespace sgeventd::state {
namespace {

std::string parent_folder(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return normalize_folder(path.substr(0, slash));
}

}  // namespace

StateResult<StartState> resolve_start_state(StateStore& store, const PluginKey& key) {
  auto own = store.plugin(key);
  if (!own) return tl::unexpected(own.error());
  StartState start;
  if (*own && (*own)->cursor) {
    start.source = StartState::Source::kOwn;
    start.cursor = (*own)->cursor;
    start.gaps = (*own)->gaps;
    return start;
  }

  auto defaults = store.legacy_defaults();
  if (!defaults) return tl::unexpected(defaults.error());
  const std::string folder = parent_folder(key.path);
  for (const LegacyDefault& d : *defaults) {
    if (!d.folder.empty() && d.folder == folder) {
      start.source = StartState::Source::kLegacyFolder;
      start.cursor = d.cursor;
      return start;
    }
  }

  auto all = store.plugins();
  if (!all) return tl::unexpected(all.error());
  const PluginState* best = nullptr;
  for (const PluginState& p : *all) {
    if (p.key.name != key.name || p.key == key || !p.cursor) continue;
    if (!best || *p.cursor > *best->cursor) best = &p;
  }
  if (best) {
    start.source = StartState::Source::kSameName;
    start.cursor = best->cursor;
    start.gaps = best->gaps;
    start.from = best->key.path;
    return start;
  }

  for (const LegacyDefault& d : *defaults) {
    if (d.folder.empty()) {
      start.source = StartState::Source::kLegacyGlobal;
      start.cursor = d.cursor;
      return start;
    }
  }
  return start;
}

const char* source_name(StartState::Source source) {
  switch (source) {
    case StartState::Source::kOwn:
      return "own";
    case StartState::Source::kLegacyFolder:
      return "legacy folder";
    case StartState::Source::kSameName:
      return "same name";
    case StartState::Source::kLegacyGlobal:
      return "legacy global";
    case StartState::Source::kNone:
      return "none";
  }
  return "?";
}

}  // namespace sgeventd::state
