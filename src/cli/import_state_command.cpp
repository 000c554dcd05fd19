// sgeventd import-state FILE: a shotgunEvents state file (pickle or the old text format) into
// the daemon's state, on demand (docs/cli.md). The daemon imports one it finds at eventIdFile
// by itself on first start; this is for a file kept elsewhere, or taken again later. Each
// plugin the file names gets its cursor (and its backlog as gaps) replaced; the others keep
// theirs. The daemon must be stopped: its cursors are in memory and would overwrite these.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/daemon_config.h"
#include "daemon/pid_file.h"
#include "state/legacy_state.h"
#include "state/sqlite_state_store.h"
#include "workers/completion_log.h"

namespace sgeventd::cli {
namespace {

int run_import_state(const std::string& config_arg, const std::string& file, bool dry_run) {
  auto config = load_daemon_config(config_arg, "import-state");
  if (!config) return kExitUsage;
  auto legacy = state::read_legacy_state_file(file);
  if (!legacy) {
    std::cerr << "sgeventd import-state: " << file << ": " << legacy.error().describe() << "\n";
    return kExitFailure;
  }
  // What it holds, as the import will apply it.
  if (legacy->text_last_event_id) {
    std::cout << "every plugin without a state of its own: after event "
              << *legacy->text_last_event_id << "\n";
  }
  for (const auto& c : legacy->collections) {
    if (c.bare_last_event_id) {
      std::cout << c.path << " (every plugin without a state): after event "
                << *c.bare_last_event_id << "\n";
    }
    for (const auto& p : c.plugins) {
      const state::PluginKey key = state::default_legacy_key(c.path, p.name);
      std::cout << key.path << ": "
                << (p.last_event_id ? "after event " + std::to_string(*p.last_event_id)
                                    : std::string("no cursor"))
                << (p.backlog.empty()
                        ? ""
                        : ", " + std::to_string(p.backlog.size()) + " backlog id(s) as gaps")
                << "\n";
    }
  }
  if (dry_run) {
    std::cout << "(dry run: nothing written)\n";
    return kExitOk;
  }
  if (auto pid = daemon::running_daemon(config->daemon.pid_file)) {
    std::cerr << "sgeventd import-state: the daemon runs (pid " << *pid
              << "); stop it first: it holds the cursors and would write over these\n";
    return kExitFailure;
  }
  // Taking the state's lock: a daemon starting meanwhile is refused rather than overwritten.
  auto store = state::SqliteStateStore::open(config->daemon.event_id_file);
  if (!store) {
    std::cerr << "sgeventd import-state: " << store.error().describe() << "\n";
    return kExitFailure;
  }
  state::LegacyImportOptions options;
  options.now = state::wall_now();
  auto summary = state::import_legacy_state(**store, *legacy, options);
  if (!summary) {
    std::cerr << "sgeventd import-state: " << summary.error().describe() << "\n";
    return kExitFailure;
  }
  if (auto r = (*store)->checkpoint(); !r) {
    std::cerr << "sgeventd import-state: " << r.error().describe() << "\n";
    return kExitFailure;
  }
  // What the imported plugins' workers recorded as finished past their old cursors says
  // nothing of the new ones: left there, those events would be skipped at the next start.
  const std::string completions = config->daemon.event_id_file + ".completions";
  for (const auto& c : legacy->collections) {
    for (const auto& p : c.plugins) {
      const state::PluginKey key = state::default_legacy_key(c.path, p.name);
      std::error_code ec;
      std::filesystem::remove(completions + "/" + workers::completion_file_name(key.path, key.name),
                              ec);
    }
  }
  std::cout << "imported " << summary->plugins << " plugin cursor(s), " << summary->gaps
            << " gap(s), " << summary->folder_defaults << " folder default(s) into "
            << config->daemon.event_id_file << "\n";
  return kExitOk;
}

}  // namespace

void add_import_state_command(CLI::App& app, Runner& run) {
  auto config = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "import-state",
      "Import a shotgunEvents state file (pickle or text) into the stopped daemon's state: each "
      "plugin it names resumes after its cursor there.");
  sub->add_option("-c,--config", *config, "config file (as for `sgeventd start`)");
  sub->add_option("file", *file, "the shotgunEvents state file (its eventIdFile)")->required();
  sub->add_flag("--dry-run", *dry_run, "print what it holds, write nothing");
  sub->callback([config, file, dry_run, &run] {
    run = [config, file, dry_run] { return run_import_state(*config, *file, *dry_run); };
  });
}

}  // namespace sgeventd::cli
