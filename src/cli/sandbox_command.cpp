// Placeholder until the sandbox site lands (issue: the sandbox site).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

namespace sgeventd::cli {

void add_sandbox_command(CLI::App& app, Runner& run) {
  auto* sub = app.add_subcommand("sandbox", "Run a local ShotGrid site (not yet available)");
  sub->callback([&run] {
    run = [] {
      std::cerr << "sgeventd sandbox: not built yet\n";
      return kExitFailure;
    };
  });
}

}  // namespace sgeventd::cli
