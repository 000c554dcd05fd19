#include "daemon/config_checks.h"

#include "daemon/shared_state.h"
#include "state/pg_db.h"

#include <unistd.h>

#include <filesystem>

#include "daemon/plugin_discovery.h"

namespace sgeventd::daemon {
namespace fs = std::filesystem;
namespace {

// A folder the daemon may create: it exists, or its nearest existing ancestor is a folder this
// user can write to. The reason when not.
std::string folder_problem(const fs::path& folder) {
  std::error_code ec;
  if (fs::is_directory(folder, ec)) return {};
  if (fs::exists(folder, ec)) return folder.string() + " is a file, not a folder";
  fs::path up = folder;
  while (!up.empty() && up != up.root_path() && !fs::exists(up, ec)) up = up.parent_path();
  if (up.empty()) up = ".";
  if (!fs::is_directory(up, ec)) return up.string() + " is a file, not a folder";
  if (access(up.c_str(), W_OK | X_OK) != 0) {
    return folder.string() + " does not exist and cannot be made (" + up.string() +
           " is not writable)";
  }
  return {};
}

}  // namespace

std::vector<std::string> missing_plugin_paths(const Config& config) {
  std::vector<std::string> out;
  for (const std::string& path : config.plugin_paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      out.push_back(path + (fs::exists(path, ec) ? " is not a folder" : " does not exist"));
    }
  }
  return out;
}

std::vector<ConfigProblem> check_paths(const Config& config, const std::string& executable_dir,
                                       const config::IniFile::Environment& env) {
  std::vector<ConfigProblem> problems;
  auto error = [&](const std::string& section, const std::string& key, std::string message) {
    problems.push_back(
        problem_at(config.ini, ConfigProblem::Severity::kError, section, key, std::move(message)));
  };
  for (const std::string& missing : missing_plugin_paths(config)) {
    error("plugins", "paths", "[plugins] paths: " + missing);
  }
  for (const std::string& path : config.plugin_paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec) && access(path.c_str(), R_OK | X_OK) != 0) {
      error("plugins", "paths", "[plugins] paths: " + path + " cannot be read by this user");
    }
  }

  // The plugins as the daemon would find them (no fork server: nothing is started here).
  Config quiet = config;
  quiet.python.fork_server = false;
  const Discovery found = discover_plugins(quiet, executable_dir, env);
  for (const std::string& w : found.warnings) {
    if (w.rfind("plugin path ", 0) == 0) continue;  // reported above
    error("plugins", "paths", "a plugin will not run: " + w);
  }
  bool python = false;
  for (const auto& w : found.workers) python = python || w.manifest.empty();
  if (python && access(config.python.interpreter.c_str(), X_OK) != 0) {
    error("python", "interpreter",
          "[python] interpreter " + config.python.interpreter +
              " does not exist or cannot be run; the Python plugins could not start");
  }

  if (const std::string p = folder_problem(fs::path(config.daemon.pid_file).parent_path());
      !p.empty() && !config.daemon.pid_file.empty()) {
    error("daemon", "pidfile", "[daemon] pidFile's folder: " + p);
  }
  if (const std::string p = folder_problem(fs::path(config.daemon.event_id_file).parent_path());
      !p.empty() && !config.daemon.event_id_file.empty()) {
    error("daemon", "eventidfile", "[daemon] eventIdFile's folder: " + p);
  }
  if (config.daemon.log_files && !config.daemon.log_path.empty()) {
    if (const std::string p = folder_problem(config.daemon.log_path); !p.empty()) {
      error("daemon", "logpath", "[daemon] logPath: " + p);
    }
  }
  return problems;
}

std::vector<ConfigProblem> check_shared_state(const Config& config, std::string& note) {
  if (!config.state.shared()) return {};
  auto error = [&](std::string message) {
    return std::vector<ConfigProblem>{problem_at(config.ini, ConfigProblem::Severity::kError,
                                                 "state", "url", std::move(message))};
  };
  auto options = shared_state_options(config);
  if (!options) return error(options.error());
  auto found = state::PgStateStore::probe(*options);
  const std::string where = "[state] url " + state::pg::redact_url(options->url);
  if (!found) return error(where + ": " + found.error().describe());
  note = where + " (state '" + options->name + "'): " + *found;
  return {};
}

}  // namespace sgeventd::daemon
