// What `sgeventd check-config` looks at beyond the file's syntax and values: the files and
// folders the config names, as the daemon would find them (docs/cli.md). A config that
// passes these and parse_config is one the daemon starts with and runs every plugin of.
#pragma once

#include <string>
#include <vector>

#include "config/ini.h"
#include "daemon/config.h"

namespace sgeventd::daemon {

// Every problem as an error: a plugin path missing, a file or unreadable; a plugin manifest
// that does not load; [python] interpreter missing (when there are Python plugins); the
// folders of pidFile and eventIdFile missing and not creatable; logPath a file, or missing
// and not creatable.
std::vector<ConfigProblem> check_paths(const Config& config, const std::string& executable_dir,
                                       const config::IniFile::Environment& env);

// [state] url: the database reachable, its tables usable (or makeable) by the role. Empty
// without a url. `note` gets what was found when all is well.
std::vector<ConfigProblem> check_shared_state(const Config& config, std::string& note);

// The daemon's own refusal at startup (exit 2), as the original refuses a missing plugin
// path: the plugin paths that are missing or not folders. Empty when they are all there.
std::vector<std::string> missing_plugin_paths(const Config& config);

}  // namespace sgeventd::daemon
