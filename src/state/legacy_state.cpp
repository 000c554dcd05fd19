#include "state/legacy_state.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <limits>

#include "sgeventd/value.h"

namespace sgeventd::state {
namespace {

using pickle::Graph;
using pickle::Object;

tl::unexpected<StateError> legacy_error(std::string message) {
  return state_error(StateErrorKind::kLegacyFormat, std::move(message));
}

const char* type_of(const Object& o) { return Object::type_name(o.type); }

// Names are str in Python 3 files and str (bytes) in Python 2 ones.
std::optional<std::string> as_name(const Object& o) {
  if (o.type == Object::Type::kStr || o.type == Object::Type::kBytes) return o.text;
  return std::nullopt;
}

// Python's bool is an int, but no shotgunEvents state ever held one: refuse it. Event ids
// are positive; a negative one (a damaged or hand-made state) would set a cursor before the
// site's first event, or a gap no site can fill: refused too (0 is the original's "none yet").
std::optional<EventId> as_id(const Object& o) {
  if (o.type == Object::Type::kInt && o.integer >= 0) return o.integer;
  return std::nullopt;
}

StateResult<LegacyPlugin> read_plugin(const Graph& g, const std::string& folder, std::string name,
                                      const Object& value) {
  LegacyPlugin plugin;
  plugin.name = std::move(name);
  const std::string where = "plugin '" + plugin.name + "' of '" + folder + "'";
  if (auto id = as_id(value)) {
    plugin.last_event_id = *id;
    return plugin;
  }
  if (value.type != Object::Type::kTuple || value.items.size() != 2) {
    return legacy_error(where + ": expected (last_event_id, backlog) or an int, got a " +
                        type_of(value));
  }
  const Object& last = g.at(value.items[0]);
  if (auto id = as_id(last)) {
    plugin.last_event_id = *id;
  } else if (last.type != Object::Type::kNone) {
    return legacy_error(where + ": last_event_id is a " + std::string(type_of(last)));
  }
  const Object& backlog = g.at(value.items[1]);
  if (backlog.type != Object::Type::kDict) {
    return legacy_error(where + ": backlog is a " + std::string(type_of(backlog)));
  }
  for (const auto& [k, v] : backlog.entries) {
    auto id = as_id(g.at(k));
    if (!id || g.at(v).type != Object::Type::kDateTime) {
      return legacy_error(where + ": a backlog entry is not {int: datetime}");
    }
    plugin.backlog.push_back({*id, g.at(v).datetime});
  }
  // A repeated key: the last one wins, as in a Python dict (reversed, the last comes first and
  // survives the stable sort and unique).
  std::reverse(plugin.backlog.begin(), plugin.backlog.end());
  std::stable_sort(plugin.backlog.begin(), plugin.backlog.end(),
                   [](const auto& a, const auto& b) { return a.id < b.id; });
  plugin.backlog.erase(std::unique(plugin.backlog.begin(), plugin.backlog.end(),
                                   [](const auto& a, const auto& b) { return a.id == b.id; }),
                       plugin.backlog.end());
  return plugin;
}

StateResult<LegacyState> read_pickle_state(const Graph& g) {
  LegacyState state;
  state.format = LegacyState::Format::kPickle;
  state.pickle_protocol = g.protocol;
  const Object& root = g.root_object();
  if (root.type != Object::Type::kDict) {
    return legacy_error(std::string("the pickle holds a ") + type_of(root) +
                        ", not shotgunEvents' {plugin folder: {plugin: state}}");
  }
  for (const auto& [k, v] : root.entries) {
    auto folder = as_name(g.at(k));
    if (!folder) return legacy_error(std::string("a plugin folder key is a ") + type_of(g.at(k)));
    LegacyCollection collection;
    collection.path = *folder;
    const Object& value = g.at(v);
    if (auto id = as_id(value)) {
      collection.bare_last_event_id = *id;
    } else if (value.type == Object::Type::kDict) {
      for (const auto& [pk, pv] : value.entries) {
        auto name = as_name(g.at(pk));
        if (!name) {
          return legacy_error("a plugin name under '" + *folder + "' is a " + type_of(g.at(pk)));
        }
        auto plugin = read_plugin(g, *folder, *name, g.at(pv));
        if (!plugin) return tl::unexpected(plugin.error());
        // A repeated name: the last one wins, as in a Python dict.
        auto& list = collection.plugins;
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [&](const LegacyPlugin& p) { return p.name == plugin->name; }),
                   list.end());
        list.push_back(std::move(*plugin));
      }
    } else {
      return legacy_error("plugin folder '" + *folder + "' holds a " + type_of(value) +
                          ", not a dict or an int");
    }
    auto& all = state.collections;
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const LegacyCollection& c) { return c.path == collection.path; }),
              all.end());
    all.push_back(std::move(collection));
  }
  return state;
}

std::string_view first_line_stripped(std::string_view bytes) {
  std::string_view line = bytes.substr(0, bytes.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
    line.remove_prefix(1);
  }
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
    line.remove_suffix(1);
  }
  return line;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

StateResult<WallTime> local_to_wall(const pickle::NaiveDateTime& t) {
  auto dt = DateTime::from_local(t.year, t.month, t.day, t.hour, t.minute, t.second);
  if (!dt) return legacy_error("a backlog expiry is not a valid date");
  return std::chrono::time_point_cast<std::chrono::milliseconds>(dt->utc) +
         std::chrono::milliseconds(t.microsecond / 1000);
}

}  // namespace

bool looks_like_legacy_state(std::string_view bytes) {
  return pickle::looks_like_pickle(bytes) || all_digits(first_line_stripped(bytes));
}

StateResult<LegacyState> parse_legacy_state(std::string_view bytes) {
  if (pickle::looks_like_pickle(bytes)) {
    auto graph = pickle::unpickle(bytes);
    if (!graph) return legacy_error("unreadable shotgunEvents pickle: " + graph.error());
    return read_pickle_state(*graph);
  }
  const std::string_view line = first_line_stripped(bytes);
  if (all_digits(line)) {
    EventId id = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
    if (ec != std::errc() || end != line.data() + line.size()) {
      return legacy_error("the event id in the text state is out of range");
    }
    LegacyState state;
    state.format = LegacyState::Format::kText;
    state.text_last_event_id = id;
    return state;
  }
  return legacy_error(
      "not a shotgunEvents state: neither a pickle (protocol 2 to 5) nor an event id on the "
      "first line");
}

StateResult<LegacyState> read_legacy_state_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return legacy_error("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return legacy_error("cannot read " + path);
  auto state = parse_legacy_state(bytes);
  if (!state) return legacy_error(path + ": " + state.error().message);
  return state;
}

std::string normalize_folder(std::string folder) {
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  return folder;
}

PluginKey default_legacy_key(const std::string& folder, const std::string& name) {
  std::string dir = normalize_folder(folder);
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return PluginKey{dir + name + ".py", name};
}

StateResult<LegacyImportSummary> add_legacy_import(const LegacyState& legacy,
                                                   const LegacyImportOptions& options,
                                                   StateBatch& batch) {
  LegacyImportSummary summary;
  if (legacy.format == LegacyState::Format::kText) {
    if (legacy.text_last_event_id) {
      batch.set_legacy_default({"", *legacy.text_last_event_id});
      summary.global_default = true;
    }
    return summary;
  }
  const PluginStatus active{Activity::kActive, "", options.now};
  for (const LegacyCollection& collection : legacy.collections) {
    if (collection.bare_last_event_id) {
      batch.set_legacy_default({normalize_folder(collection.path), *collection.bare_last_event_id});
      ++summary.folder_defaults;
      continue;
    }
    for (const LegacyPlugin& plugin : collection.plugins) {
      PluginKey key = options.key_for ? options.key_for(collection.path, plugin.name)
                                      : default_legacy_key(collection.path, plugin.name);
      batch.set_cursor(key, plugin.last_event_id);
      batch.set_status(key, active);
      batch.remove_gap_ids(key, std::numeric_limits<EventId>::min(),
                           std::numeric_limits<EventId>::max());
      // Consecutive ids with one expiry (one skip of the original) become one range.
      std::optional<Gap> open;
      for (const LegacyBacklogEntry& entry : plugin.backlog) {
        auto expiry = local_to_wall(entry.expiry);
        if (!expiry) {
          return legacy_error("plugin '" + plugin.name + "' of '" + collection.path +
                              "': " + expiry.error().message);
        }
        if (open && open->last_id + 1 == entry.id && open->expiry == *expiry) {
          open->last_id = entry.id;
          continue;
        }
        if (open) {
          batch.add_gap(key, *open);
          ++summary.gaps;
        }
        open = Gap{entry.id, entry.id, *expiry - options.backlog_timeout, *expiry};
      }
      if (open) {
        batch.add_gap(key, *open);
        ++summary.gaps;
      }
      ++summary.plugins;
    }
  }
  return summary;
}

StateResult<LegacyImportSummary> import_legacy_state(StateStore& store, const LegacyState& legacy,
                                                     const LegacyImportOptions& options) {
  StateBatch batch;
  auto summary = add_legacy_import(legacy, options, batch);
  if (!summary) return summary;
  if (auto done = store.commit(batch); !done) return tl::unexpected(done.error());
  return summary;
}

}  // namespace sgeventd::state
