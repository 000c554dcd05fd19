// The settings of a shared state ([state] url: PostgreSQL) as the state layer takes them, for
// the daemon, `check-config`, `import-state` and the commands that read the state.
#pragma once

#include <string>

#include "daemon/config.h"
#include "sgeventd/result.h"
#include "state/pg_state_store.h"

namespace sgeventd::daemon {

// The URL, the state's name (state_name()), the lease, and the password from
// [state] password_file when set (less a final newline). An unreadable file is the error.
Expected<state::PgStateOptions, std::string> shared_state_options(const Config& config);

// The shared state as a command opens it (import-state, the dead-letters commands on a stopped
// daemon), with its lease taken when `take_lease`: a command that writes must not race a
// leader. `where` names it in messages: "state 'NAME' at URL" (the password elided).
struct CommandState {
  std::unique_ptr<state::PgStateStore> store;
  std::string where;
};
struct CommandStateError {
  std::string message;        // the whole of it, for "sgeventd VERB: " + message
  bool config_error = false;  // the settings themselves (exit 2), not the database
};
// `when_led`: what to tell the user when another daemon holds the lease.
Expected<CommandState, CommandStateError> open_for_command(const Config& config, bool read_only,
                                                           bool take_lease,
                                                           const std::string& when_led);

}  // namespace sgeventd::daemon
