// The process policy for one worker, in one place: when to start it, when to kill it (callback
// timeout, memory limit), when to restart it (backoff after a failure, at once after its plugin
// changed on disk) and when to give up (crash loop: quarantined until the files change). It
// decides; the owner (the dispatcher) acts on the Worker and reports back. Time comes
// from the Clock and files from an injected stat, so all of it is unit-tested.
//
//   each pass:   switch (sup.poll(running ? &session : nullptr)) { ... act ... }
//   on start:    sup.started()         (or sup.start_failed(error) when spawning failed)
//   on the end:  sup.ended(end)        (SessionEnd from the listener's on_closed)
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sgeventd/clock.h"
#include "workers/file_watch.h"
#include "workers/health.h"
#include "workers/restart_policy.h"
#include "workers/worker.h"

namespace sgeventd::workers {

struct SupervisorOptions {
  RestartPolicy restart;
  HealthLimits health;
  // How often the plugin's files are stat()ed for hot reload.
  std::chrono::milliseconds reload_check_interval{2'000};
};

class Supervisor {
 public:
  enum class State { kStarting, kRunning, kWaiting, kQuarantined };

  struct Step {
    enum class Action {
      kNone,
      kStart,    // spawn a session now, then call started() or start_failed()
      kRestart,  // the plugin changed: session->shutdown(grace); start again once it ended
      kAbort,    // session->abort(*error): over a limit
    };
    Action action = Action::kNone;
    std::optional<WorkerError> error;  // kAbort
    std::string reason;                // for the log: why this action
    // The plugin's files changed since the last poll (whatever the action): the owner
    // reactivates plugins that were stopped until an edit.
    bool files_changed = false;
  };

  Supervisor(SupervisorOptions options, std::vector<std::string> watch_paths, Clock& clock,
             FileWatch::StatFn stat = stat_file, std::function<double()> uniform01 = {});

  // What to do now. `session`: the running session, or nullptr when none is.
  Step poll(const Worker* session);
  // The same with the session's parts, for tests without processes.
  Step poll(const std::deque<InFlight>* in_flight, const HealthMonitor::RssReader& rss);

  void started();
  void start_failed(const WorkerError& error);
  // The running session answered an event: its run made progress (RestartTracker::failed).
  void answered() { progressed_ = true; }
  // The operator asked for a reload (SIGHUP, `sgeventd reload`): a clean slate, as an edit
  // gives. Failures are forgotten and a quarantine lifted; a running session's end (the owner
  // shuts it down) is planned whatever it is, so no reload storm counts toward quarantine.
  void reload();
  // The session ended. A planned end (after kRestart, or the daemon stopping) restarts at once;
  // anything else counts as a failure: backoff, or quarantine in a crash loop.
  void ended(const SessionEnd& end);

  State state() const { return state_; }
  bool quarantined() const { return state_ == State::kQuarantined; }
  // When poll() should run next at the latest (restart due, health check, file check).
  Clock::time_point next_poll(const Worker* session) const;
  // Why the last failure happened (for status output), empty if none.
  const std::string& last_failure() const { return last_failure_; }
  const RestartTracker& restarts() const { return restarts_; }

 private:
  void failed(const std::string& why);
  Step decide(const std::deque<InFlight>* in_flight, const HealthMonitor::RssReader& rss,
              Clock::time_point now, bool files_changed);

  SupervisorOptions options_;
  Clock& clock_;
  FileWatch watch_;
  RestartTracker restarts_;
  HealthMonitor health_;
  State state_ = State::kStarting;
  Clock::time_point restart_at_{};
  Clock::time_point next_file_check_{};
  bool restart_requested_ = false;  // kRestart issued or a reload asked, waiting for the end
  bool progressed_ = false;         // the running session answered an event
  std::string last_failure_;
};

}  // namespace sgeventd::workers
