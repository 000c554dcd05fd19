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

}  // namespace sgeventd::daemon
