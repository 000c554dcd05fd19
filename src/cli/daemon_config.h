// What the daemon's verbs share: the config found and loaded as the daemon would.
#pragma once

#include <optional>
#include <string>

#include "daemon/config.h"

namespace sgeventd::cli {

// Finds and loads the config (-c, SGEVENTD_CONFIG, beside the binary, /etc); prints every
// problem as "sgeventd VERB: ...". nullopt: refuse (exit 2).
std::optional<daemon::Config> load_daemon_config(const std::string& config_arg, const char* verb);

}  // namespace sgeventd::cli
