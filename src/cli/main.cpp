// sgeventd: the command line. Subcommands live in their own files (commands.h).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "sgeventd/version.h"

namespace {

// Edits (insert, delete, substitute, swap two neighbours) from a to b.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// A first word that is no command: say so, with the nearest command when one is close. False
// when the word is a command (or an option, for CLI11 to handle).
bool refuse_unknown_command(const CLI::App& app, const std::string& word) {
  if (word.empty() || word[0] == '-') return false;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  if (std::find(names.begin(), names.end(), word) != names.end()) return false;
  std::string nearest;
  std::size_t best = 3;  // at most 2 edits away counts as a typo
  for (const auto& n : names) {
    if (const std::size_t e = edit_distance(word, n); e < best) {
      best = e;
      nearest = n;
    }
  }
  std::cerr << "sgeventd: '" << word << "' is not a command";
  if (!nearest.empty()) std::cerr << "; did you mean '" << nearest << "'?";
  std::cerr << "\ncommands:";
  for (const auto& n : names) std::cerr << " " << n;
  std::cerr << "\nRun 'sgeventd --help' for what each does.\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sgeventd: an event daemon for ShotGrid (Flow Production Tracking) sites, compatible with "
      "shotgunEvents configs and plugins.",
      "sgeventd"};
  app.set_version_flag("--version", std::string("sgeventd ") + sgeventd::kVersion + " (commit " +
                                        sgeventd::kBuildCommit + ", built " + sgeventd::kBuildDate +
                                        ")");
  app.require_subcommand(1);
  app.footer("Run 'sgeventd <command> --help' for a command's options. Docs: docs/cli.md");

  sgeventd::cli::Runner run;
  sgeventd::cli::add_api_command(app, run);
  sgeventd::cli::add_sandbox_command(app, run);
  sgeventd::cli::add_check_config_command(app, run);
  sgeventd::cli::add_daemon_commands(app, run);
  sgeventd::cli::add_control_commands(app, run);
  sgeventd::cli::add_import_state_command(app, run);
  sgeventd::cli::add_schema_command(app, run);
  sgeventd::cli::add_record_command(app, run);
  sgeventd::cli::add_try_command(app, run);

  if (argc > 1 && refuse_unknown_command(app, argv[1])) return sgeventd::cli::kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : sgeventd::cli::kExitUsage;
  }
  return run ? run() : sgeventd::cli::kExitUsage;
}
