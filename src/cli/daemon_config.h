// What the daemon's verbs share: the config found and loaded as the daemon would.
#pragma once

#include <optional>
#include <string>

#include "daemon/config.h"
#include "daemon/engine.h"

namespace sgeventd::cli {

// Finds and loads the config (-c, SGEVENTD_CONFIG, beside the binary, /etc); prints every
// problem as "sgeventd VERB: ...". nullopt: refuse (exit 2).
std::optional<daemon::Config> load_daemon_config(const std::string& config_arg, const char* verb);

// Runs the engine for `shot` in this process (the daemon must be stopped: it takes the pid
// file), the daemon's log on stdout when `console_log`. The engine's exit code.
int run_one_shot(const daemon::Config& config, daemon::OneShot& shot, bool console_log);

}  // namespace sgeventd::cli
