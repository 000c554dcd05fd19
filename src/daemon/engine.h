// The daemon itself: everything `sgeventd foreground` (and `start`, after it daemonizes) runs.
//
//   startup:  pid file (refuse a live daemon, take over a stale one), logging, state (with the
//             legacy import), the site (or the embedded sandbox), plugin discovery, each
//             plugin's start cursor, workers loaded, then polling;
//   running:  signals (TERM/INT stop, HUP reloads plugins), pid file removal stops, a status
//             file refreshed every second for `sgeventd status`;
//   stop:     stop polling, drain in-flight events for shutdown_grace, commit, stop workers.
//
// Nothing here throws: startup failures come back as a message and an exit code.
#pragma once

#include <functional>
#include <string>

#include "daemon/config.h"

namespace sgeventd::daemon {

struct RunOptions {
  bool foreground = true;      // logs on stdout too
  std::string executable_dir;  // where sgeventd-python-worker is
  // Called once startup succeeded (or failed, with the message): `start` reports it to the
  // shell that launched the daemon. Empty message: running.
  std::function<void(const std::string& error)> on_started;
};

// Exit codes (docs/cli.md).
constexpr int kRunOk = 0;
constexpr int kRunFailed = 1;  // could not start (already running, state, site), or crashed
constexpr int kRunConfig = 2;  // bad configuration

// Runs until stopped. Signals SIGTERM, SIGINT and SIGHUP must be blocked in every thread
// before this is called (the engine waits for them with sigtimedwait).
int run_daemon(const Config& config, const RunOptions& options);

// Where the running daemon writes its status (JSON), derived from the pid file's path.
std::string status_file_path(const Config& config);

}  // namespace sgeventd::daemon
