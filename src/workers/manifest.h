// Exec plugins: a `<name>.plugin` manifest (INI, [plugin] section) naming a program that
// speaks the worker protocol itself (docs/plugin-protocol.md, "Exec plugins").
//
//   [plugin]
//   command = ./notify_slack.sh        # relative to the manifest's folder, else on PATH
//   args = --channel "pipeline alerts" # split like a shell would (quotes, backslashes)
//   env = SLACK_CHANNEL=pipeline, LOG_LEVEL=info
//   credentials = shotgun.key           # the daemon's credentials this plugin gets in hello
//                                       # (workers/credentials.h); none unless named
//
// The program runs in the manifest's folder.
#pragma once

#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "config/ini.h"
#include "sgeventd/workers/protocol.h"
#include "workers/worker_process.h"

namespace sgeventd::workers {

struct ExecPlugin {
  PluginRef plugin;                      // name: the file name without ".plugin"; path: manifest
  SpawnSpec spawn;                       // argv[0] resolved to a path
  std::vector<std::string> watch_paths;  // the manifest and the program: a change reloads
  std::vector<std::string> warnings;     // "file:line: unknown key ..." (not fatal)
  std::vector<std::string> credentials;  // "section.key" names, each a kCredentialNames one
};

// Reads and resolves a manifest. `env` stands in for the process environment (for %(NAME)s
// interpolation and PATH). Errors carry the file and line of the offending key.
::sgeventd::Expected<ExecPlugin, config::IniError> load_exec_plugin(
    const std::string& manifest_path,
    const config::IniFile::Environment& env = config::IniFile::process_environment());

// Shell-like word splitting (single and double quotes, backslash escapes; no expansion).
::sgeventd::Expected<std::vector<std::string>, std::string> split_args(const std::string& text);

}  // namespace sgeventd::workers
