// `sgeventd check-config`: every problem of the config file, with file and line.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "daemon/config.h"
#include "daemon/config_checks.h"

namespace sgeventd::cli {

std::string executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

namespace {

int run_check_config(const std::string& config_arg) {
  const auto env = config::IniFile::process_environment();
  auto path = daemon::find_config(config_arg, env, executable_dir());
  if (!path) {
    std::cerr << "sgeventd check-config: " << path.error() << "\n";
    return kExitUsage;
  }
  daemon::ConfigLoad load = daemon::load_config(*path, env);
  // What the file names, as the daemon would find it: folders, manifests, the interpreter.
  // And the state's database, when it is PostgreSQL: reachable, usable by the role.
  std::string state_note;
  if (load.ok()) {
    auto found = daemon::check_paths(*load.config, executable_dir(), env);
    auto database = daemon::check_shared_state(*load.config, state_note);
    found.insert(found.end(), database.begin(), database.end());
    if (!found.empty()) {
      load.problems.insert(load.problems.end(), found.begin(), found.end());
      load.config.reset();
    }
  }
  int errors = 0, warnings = 0;
  for (const auto& p : load.problems) {
    (p.severity == daemon::ConfigProblem::Severity::kError ? errors : warnings)++;
    std::cerr << p.describe() << "\n";
  }
  if (!load.ok()) {
    std::cerr << *path << ": " << errors << " error(s), " << warnings << " warning(s)\n";
    return kExitUsage;
  }
  std::cout << *path << ": OK";
  if (warnings) std::cout << " (" << warnings << " warning(s))";
  std::cout << "\n";
  if (!state_note.empty()) std::cout << state_note << "\n";
  return kExitOk;
}

}  // namespace

void add_check_config_command(CLI::App& app, Runner& run) {
  auto config = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "check-config",
      "Check the config file and what it names (plugin folders and manifests, the Python "
      "interpreter, the pid, state and log folders; with [state] url, the database and the role's "
      "rights); list every problem with its file and line.\n"
      "Exit status: 0 when the daemon would start with it and run every plugin, 2 otherwise.");
  sub->add_option("-c,--config", *config,
                  "config file (default: SGEVENTD_CONFIG, else sgeventd.conf or "
                  "shotgunEventDaemon.conf beside the executable, then in /etc)");
  sub->callback([config, &run] { run = [config] { return run_check_config(*config); }; });
}

}  // namespace sgeventd::cli
