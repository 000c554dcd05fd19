#include "daemon/config_environment.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace sgeventd::daemon {
namespace {

// pidFile -> PID_FILE, fetch_interval -> FETCH_INTERVAL.
std::string variable_part(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty() && out.back() != '_') {
      out.push_back('_');
    }
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string value_of(const config::IniFile::Environment& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// A secret's file: its content less one final newline (as `echo KEY > file` leaves it).
bool read_secret(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  out = text.str();
  if (!out.empty() && out.back() == '\n') out.pop_back();
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return true;
}

}  // namespace

const std::vector<EnvironmentSetting>& environment_settings() {
  static const std::vector<EnvironmentSetting> settings = [] {
    std::vector<EnvironmentSetting> s;
    auto add = [&s](const std::string& variable, const char* section, const char* key) {
      s.push_back({"SGEVENTD_" + variable, section, key});
    };
    add("SERVER", "shotgun", "server");
    add("SCRIPT_NAME", "shotgun", "name");
    add("SCRIPT_KEY", "shotgun", "key");
    add("PROXY_SERVER", "shotgun", "proxy_server");
    add("USE_SESSION_UUID", "shotgun", "use_session_uuid");
    add("PLUGIN_PATHS", "plugins", "paths");
    for (const std::string& key : daemon_key_names()) {
      add(variable_part(key), "daemon", key.c_str());
    }
    for (const char* key : {"enabled", "bind", "port", "token", "webhook_secret", "health_max_lag",
                            "health_poll_failures"}) {
      add("ADMIN_" + variable_part(key), "admin", key);
    }
    for (const char* key : {"url", "name", "password_file", "lease_seconds"}) {
      add("STATE_" + variable_part(key), "state", key);
    }
    return s;
  }();
  return settings;
}

std::vector<ConfigProblem> apply_environment(config::IniFile& ini,
                                             const config::IniFile::Environment& env) {
  std::vector<ConfigProblem> problems;
  auto problem = [&problems](const std::string& variable, std::string message) {
    problems.push_back(
        {ConfigProblem::Severity::kError, "environment " + variable, 0, std::move(message)});
  };
  for (const EnvironmentSetting& s : environment_settings()) {
    std::string value = value_of(env, s.variable);
    const bool secret =
        s.variable == "SGEVENTD_SCRIPT_KEY" || s.variable == "SGEVENTD_ADMIN_TOKEN" ||
        s.variable == "SGEVENTD_ADMIN_WEBHOOK_SECRET" || s.variable == "SGEVENTD_STATE_URL";
    const std::string file_variable = s.variable + "_FILE";
    const std::string file = secret ? value_of(env, file_variable) : std::string();
    if (!file.empty()) {
      if (!value.empty()) {
        problem(file_variable, "both " + s.variable + " and " + file_variable +
                                   " are set: give the secret one way");
        continue;
      }
      if (!read_secret(file, value)) {
        problem(file_variable, "cannot read " + file + " (" + s.variable + "'s file)");
        continue;
      }
      ini.set(s.section, s.key, std::move(value), "environment " + file_variable);
      continue;
    }
    if (value.empty()) continue;
    ini.set(s.section, s.key, std::move(value), "environment " + s.variable);
  }
  return problems;
}

}  // namespace sgeventd::daemon
