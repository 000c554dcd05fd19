// Settings from the environment (docs/configuration.md, "From the environment"), for
// containers and service managers: SGEVENTD_<NAME> sets a [daemon], [shotgun], [plugins] or
// [admin] key over the file's value; the secrets can also come from files (container secrets).
#pragma once

#include <string>
#include <vector>

#include "config/ini.h"
#include "daemon/config.h"

namespace sgeventd::daemon {

struct EnvironmentSetting {
  std::string variable;  // SGEVENTD_FETCH_INTERVAL
  std::string section;   // daemon
  std::string key;       // fetch_interval, as the docs spell it
};

// Every variable read, in the order of the docs.
const std::vector<EnvironmentSetting>& environment_settings();

// Sets into `ini` every variable of `env` that is set and not empty (an empty one is taken as
// unset), literally (no %(...)s expansion). SGEVENTD_SCRIPT_KEY_FILE,
// SGEVENTD_ADMIN_TOKEN_FILE, SGEVENTD_ADMIN_WEBHOOK_SECRET_FILE and SGEVENTD_STATE_URL_FILE
// name files whose content (less a final newline) is the key, the token, the webhook secret or
// the state's URL (which may hold a password). The problems: a file that cannot be read, a
// secret given both ways.
std::vector<ConfigProblem> apply_environment(config::IniFile& ini,
                                             const config::IniFile::Environment& env);

}  // namespace sgeventd::daemon
