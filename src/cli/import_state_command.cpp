// sgeventd import-state FILE: a state into the stopped daemon's state, on demand (docs/cli.md).
//
// With the state in SQLite (the default), FILE is a shotgunEvents state file (pickle or the old
// text format): the daemon imports one it finds at eventIdFile by itself on first start; this is
// for a file kept elsewhere, or taken again later. Each plugin the file names gets its cursor
// (and its backlog as gaps) replaced; the others keep theirs. The daemon must be stopped: its
// cursors are in memory and would overwrite these.
//
// With the state in PostgreSQL ([state] url), FILE is an sgeventd SQLite state (moving a daemon
// to high availability) or a shotgunEvents state, copied into the state's name there. A state
// already holding rows is refused unless --force (which replaces it); the lease is taken for the
// copy, so a leading daemon refuses the import and none can lead during it.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "cli/daemon_config.h"
#include "daemon/pid_file.h"
#include "daemon/shared_state.h"
#include "state/legacy_state.h"
#include "state/memory_state_store.h"
#include "state/pg_db.h"
#include "state/pg_state_store.h"
#include "state/sqlite_state_store.h"
#include "state/state_copy.h"
#include "state/state_file.h"
#include "workers/completion_log.h"

namespace sgeventd::cli {
namespace {

constexpr const char* kPrefix = "sgeventd import-state: ";

// What a shotgunEvents state holds, as the import will apply it.
void print_legacy(const state::LegacyState& legacy) {
  if (legacy.text_last_event_id) {
    std::cout << "every plugin without a state of its own: after event "
              << *legacy.text_last_event_id << "\n";
  }
  for (const auto& c : legacy.collections) {
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
}

// The imported plugins' completion records (beside eventIdFile) say nothing of their new
// cursors: left there, the events they name would be skipped at the next start.
void forget_completions(const daemon::Config& config, const std::vector<state::PluginKey>& keys) {
  const std::string completions = config.daemon.event_id_file + ".completions";
  for (const auto& key : keys) {
    std::error_code ec;
    std::filesystem::remove(completions + "/" + workers::completion_file_name(key.path, key.name),
                            ec);
  }
}

std::vector<state::PluginKey> legacy_keys(const state::LegacyState& legacy) {
  std::vector<state::PluginKey> keys;
  for (const auto& c : legacy.collections) {
    for (const auto& p : c.plugins) keys.push_back(state::default_legacy_key(c.path, p.name));
  }
  return keys;
}

int import_into_shared(const daemon::Config& config, const std::string& file, bool dry_run,
                       bool force) {
  auto kind = state::files::classify(file);
  if (!kind) {
    std::cerr << kPrefix << file << ": " << kind.error().describe() << "\n";
    return kExitFailure;
  }
  // The source: an sgeventd state (read-only: it may belong to a daemon still running), or a
  // shotgunEvents one.
  std::unique_ptr<state::SqliteStateStore> sqlite;
  std::optional<state::LegacyState> legacy;
  std::vector<state::PluginKey> keys;
  if (*kind == state::files::Content::kSqlite) {
    state::SqliteStateOptions o;
    o.read_only = true;
    auto opened = state::SqliteStateStore::open(file, o);
    if (!opened) {
      std::cerr << kPrefix << file << ": " << opened.error().describe() << "\n";
      return kExitFailure;
    }
    sqlite = std::move(*opened);
    auto plugins = sqlite->plugins();
    if (!plugins) {
      std::cerr << kPrefix << file << ": " << plugins.error().describe() << "\n";
      return kExitFailure;
    }
    for (const auto& p : *plugins) {
      keys.push_back(p.key);
      std::cout << p.key.path << " (" << p.key.name << "): "
                << (p.cursor ? "after event " + std::to_string(*p.cursor)
                             : std::string("no cursor"))
                << (p.gaps.empty() ? "" : ", " + std::to_string(p.gaps.size()) + " gap(s)") << "\n";
    }
  } else {
    auto read = state::read_legacy_state_file(file);
    if (!read) {
      std::cerr << kPrefix << file << ": " << read.error().describe() << "\n";
      return kExitFailure;
    }
    legacy = std::move(*read);
    print_legacy(*legacy);
    keys = legacy_keys(*legacy);
  }
  if (dry_run) {
    std::cout << "(dry run: nothing written)\n";
    return kExitOk;
  }
  auto opened = daemon::open_for_command(config, false, true,
                                         "stop it first, it would write over the imported cursors");
  if (!opened) {
    std::cerr << kPrefix << opened.error().message << "\n";
    return opened.error().config_error ? kExitUsage : kExitFailure;
  }
  auto& store = opened->store;
  const std::string& where = opened->where;
  state::LeaderLease& lease = *store->leader_lease();
  // From here on the lease is ours: give it up however this ends.
  struct Release {
    state::LeaderLease& lease;
    ~Release() { (void)lease.release(); }
  } release{lease};
  auto has_rows = store->has_rows();
  if (!has_rows) {
    std::cerr << kPrefix << where << ": " << has_rows.error().describe() << "\n";
    return kExitFailure;
  }
  if (*has_rows && !force) {
    std::cerr << kPrefix << where
              << " already holds plugins: --force replaces it with the imported one\n";
    return kExitFailure;
  }
  // The source as one batch, written in one transaction (with --force, together with the
  // removal of what was there): a failure leaves the state as it was.
  state::CopySummary copied;
  std::optional<state::LegacyImportSummary> imported;
  state::MemoryStateStore staged;  // a shotgunEvents state, imported here first
  if (legacy) {
    state::LegacyImportOptions o;
    o.now = state::wall_now();
    auto summary = state::import_legacy_state(staged, *legacy, o);
    if (!summary) {
      std::cerr << kPrefix << file << ": " << summary.error().describe() << "\n";
      return kExitFailure;
    }
    imported = *summary;
  }
  auto batch =
      state::state_as_batch(sqlite ? static_cast<state::StateStore&>(*sqlite) : staged, copied);
  if (!batch) {
    std::cerr << kPrefix << file << ": " << batch.error().describe() << "\n";
    return kExitFailure;
  }
  auto written = *has_rows ? store->replace(*batch) : store->commit(*batch);
  if (!written) {
    std::cerr << kPrefix << where << ": " << written.error().describe() << "\n";
    return kExitFailure;
  }
  if (imported) {
    std::cout << "imported " << imported->plugins << " plugin cursor(s), " << imported->gaps
              << " gap(s), " << imported->folder_defaults << " folder default(s) into " << where
              << "\n";
  } else {
    std::cout << "copied " << copied.plugins << " plugin(s), " << copied.gaps << " gap(s), "
              << copied.dead_letters << " dead letter(s), " << copied.legacy_defaults
              << " folder default(s) into " << where << "\n";
  }
  forget_completions(config, keys);
  return kExitOk;
}

int run_import_state(const std::string& config_arg, const std::string& file, bool dry_run,
                     bool force) {
  auto config = load_daemon_config(config_arg, "import-state");
  if (!config) return kExitUsage;
  if (config->state.shared()) return import_into_shared(*config, file, dry_run, force);
  if (force) {
    std::cerr << kPrefix
              << "--force is for a state in PostgreSQL ([state] url); an import into SQLite "
                 "replaces the cursors of the plugins the file names\n";
    return kExitUsage;
  }
  auto legacy = state::read_legacy_state_file(file);
  if (!legacy) {
    std::cerr << kPrefix << file << ": " << legacy.error().describe() << "\n";
    return kExitFailure;
  }
  print_legacy(*legacy);
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
    std::cerr << kPrefix << store.error().describe() << "\n";
    return kExitFailure;
  }
  state::LegacyImportOptions options;
  options.now = state::wall_now();
  auto summary = state::import_legacy_state(**store, *legacy, options);
  if (!summary) {
    std::cerr << kPrefix << summary.error().describe() << "\n";
    return kExitFailure;
  }
  if (auto r = (*store)->checkpoint(); !r) {
    std::cerr << kPrefix << r.error().describe() << "\n";
    return kExitFailure;
  }
  forget_completions(*config, legacy_keys(*legacy));
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
  auto force = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "import-state",
      "Import a shotgunEvents state file (pickle or text) into the stopped daemon's state: each "
      "plugin it names resumes after its cursor there. With [state] url (PostgreSQL), the file "
      "may also be an sgeventd SQLite state, copied whole.");
  sub->add_option("-c,--config", *config, "config file (as for `sgeventd start`)");
  sub->add_option("file", *file,
                  "the shotgunEvents state file (its eventIdFile), or an sgeventd SQLite state")
      ->required();
  sub->add_flag("--dry-run", *dry_run, "print what it holds, write nothing");
  sub->add_flag("--force", *force,
                "PostgreSQL: replace a state that already holds plugins (refused otherwise)");
  sub->callback([config, file, dry_run, force, &run] {
    run = [config, file, dry_run, force] {
      return run_import_state(*config, *file, *dry_run, *force);
    };
  });
}

}  // namespace sgeventd::cli
