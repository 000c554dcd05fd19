// Finding plugins in the config's plugin paths, as the original does (every `*.py` of each
// folder, in file-name order), plus exec plugins (`*.plugin` manifests), and turning them into
// the workers the dispatcher runs (worker_per = plugin: one each; path: one per folder for the
// Python plugins; an exec plugin is always its own worker).
#pragma once

#include <string>
#include <vector>

#include "daemon/config.h"
#include "dispatch/worker_slot.h"
#include "workers/fork_server.h"

namespace sgeventd::daemon {

struct Discovery {
  std::vector<dispatch::WorkerDefinition> workers;
  std::vector<std::string> warnings;  // unreadable folders, bad manifests, ...
};

// The Python worker's entry script: <executable_dir>/../lib/sgeventd/ once installed, else
// beside the binary (a build tree).
std::string python_worker_path(const std::string& executable_dir);

// `executable_dir`: where sgeventd-python-worker lives (beside the sgeventd binary). Python
// workers fork from a fork server unless [python] fork_server is off; its problems (it could
// not start, it died) go to `fork_server_problem`.
Discovery discover_plugins(const Config& config, const std::string& executable_dir,
                           const config::IniFile::Environment& env,
                           const workers::ForkServer::Reporter& fork_server_problem = {});

// One plugin file as its own worker, outside any plugin path: a `.py` (the Python worker, no
// fork server: one worker needs none) or a `.plugin` manifest. For `sgeventd try`.
::sgeventd::Expected<dispatch::WorkerDefinition, std::string> worker_for_file(
    const Config& config, const std::string& executable_dir, const std::string& path,
    const config::IniFile::Environment& env);

// The config's sections as strings, for the workers' hello (plugins read their own sections).
Value config_sections(const config::IniFile& ini);

}  // namespace sgeventd::daemon
