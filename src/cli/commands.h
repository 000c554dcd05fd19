// The sgeventd subcommands. Each adds itself to the root CLI::App and, when chosen on the
// command line, sets `run` to the function that carries it out (its return is the exit code).
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace sgeventd::cli {

// Exit codes shared by every subcommand (docs/cli.md).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;     // the operation failed (API error, server error, ...)
constexpr int kExitUsage = 2;       // bad arguments or configuration
constexpr int kExitNotRunning = 3;  // the daemon is not running (the LSB's status code)

using Runner = std::function<int()>;

// The folder of the running sgeventd binary (where the config search and the Python worker
// look); empty if /proc cannot tell.
std::string executable_dir();  // check_config_command.cpp

void add_api_command(CLI::App& app, Runner& run);           // api_command.cpp
void add_sandbox_command(CLI::App& app, Runner& run);       // sandbox_command.cpp
void add_check_config_command(CLI::App& app, Runner& run);  // check_config_command.cpp
// start, stop, restart, foreground, status
void add_daemon_commands(CLI::App& app, Runner& run);  // daemon_commands.cpp
// plugins, reload [PLUGIN], enable, disable, dead-letters, replay
void add_control_commands(CLI::App& app, Runner& run);      // control_commands.cpp
void add_import_state_command(CLI::App& app, Runner& run);  // import_state_command.cpp
// The plugin author's kit (docs/testing-plugins.md): schema dump, record.
void add_schema_command(CLI::App& app, Runner& run);  // schema_command.cpp
void add_record_command(CLI::App& app, Runner& run);  // record_command.cpp
void add_try_command(CLI::App& app, Runner& run);     // try_command.cpp

}  // namespace sgeventd::cli
