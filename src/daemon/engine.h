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

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "daemon/admin_server.h"
#include "daemon/config.h"
#include "dispatch/control.h"

namespace sgeventd {
class Clock;
namespace state {
class StateStore;
}
namespace workers {
class WorkerHost;
}
}  // namespace sgeventd

namespace sgeventd::daemon {

// `sgeventd replay` and `sgeventd dead-letters retry` with the daemon stopped: the engine
// starts as the daemon does (pid file, state, plugins), carries out the one request, waits for
// its re-drives to be answered and stops. No admin API, no poll of the feed: no cursor moves.
struct OneShot {
  dispatch::ControlRequest request;            // kReplay (events read from `replay`) or kRetry
  std::optional<ReplaySelection> replay;       // the events of a replay, read from the site
  std::string only_plugin;                     // load only this plugin (name or path); empty: all
  std::chrono::milliseconds timeout{300'000};  // for the re-drives to be answered
  // What happened, filled in by the run.
  dispatch::ControlAnswer answer;
  std::int64_t succeeded = 0;  // callback runs
  std::int64_t failed = 0;     // callback runs failed or not run
  bool finished = false;       // every re-drive answered in time
};

struct RunOptions {
  bool foreground = true;      // logs on stdout too
  std::string executable_dir;  // where sgeventd-python-worker is
  // Called once startup succeeded (or failed, with the message): `start` reports it to the
  // shell that launched the daemon. Empty message: running.
  std::function<void(const std::string& error)> on_started;
  OneShot* one_shot = nullptr;  // the caller's; null: run as the daemon
};

// Exit codes (docs/cli.md).
constexpr int kRunOk = 0;
constexpr int kRunFailed = 1;  // could not start (already running, state, site), or crashed
constexpr int kRunConfig = 2;  // bad configuration

// What the engine runs on, each owned by the caller and outliving the run. Null: what the
// daemon uses (worker processes, SQLite at eventIdFile with the shotgunEvents import, the
// real clock); a test gives workers in memory (workers::FakeWorkerHost) and a state in memory
// (state::MemoryStateStore), and reads what they saw.
struct EngineSeams {
  workers::WorkerHost* workers = nullptr;
  state::StateStore* store = nullptr;
  Clock* clock = nullptr;
};

// Runs until stopped. Signals SIGTERM, SIGINT, SIGHUP and SIGUSR1 must be blocked in every thread
// before this is called (the engine waits for them with sigtimedwait); removing the pid file
// stops it too.
int run_daemon(const Config& config, const RunOptions& options);
int run_daemon(const Config& config, const RunOptions& options, const EngineSeams& seams);

// Where the running daemon writes its status (JSON), derived from the pid file's path.
std::string status_file_path(const Config& config);

}  // namespace sgeventd::daemon
