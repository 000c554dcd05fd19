// sgeventd: the command line. Subcommands live in their own files (commands.h).

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "sgeventd/version.h"

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : sgeventd::cli::kExitUsage;
  }
  return run ? run() : sgeventd::cli::kExitUsage;
}
