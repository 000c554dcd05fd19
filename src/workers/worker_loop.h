// One poll loop for many worker sessions: the daemon drives every worker from one thread.
// Each pass writes what sessions queued (batched: one write per worker per pass, not one per
// message), waits in poll() for output, exits or the earliest deadline, and hands the results
// to the sessions. wake() (from any thread) interrupts the wait, e.g. when the event source
// has new events for the dispatcher that runs this loop.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <vector>

#include "sgeventd/clock.h"
#include "workers/worker_session.h"

namespace sgeventd::workers {

class WorkerLoop {
 public:
  explicit WorkerLoop(Clock& clock = Clock::real());
  ~WorkerLoop();
  WorkerLoop(const WorkerLoop&) = delete;
  WorkerLoop& operator=(const WorkerLoop&) = delete;

  // The loop does not own sessions. Remove one before destroying it (safe from callbacks).
  void add(WorkerSession& session);
  void remove(WorkerSession& session);
  std::size_t size() const { return sessions_.size(); }

  // One pass: flush, wait up to `max_wait` (less if a session has an earlier deadline; 0 to
  // not wait), handle what happened. Returns false if poll failed.
  bool run_once(std::chrono::milliseconds max_wait);
  // Runs passes until `done()` or `timeout` (real time) passes; returns done(). For tests and
  // tools that drive a few workers without a dispatcher.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

  // Thread-safe: makes a run_once waiting in poll() return now.
  void wake();

 private:
  Clock& clock_;
  int wake_fd_ = -1;  // eventfd
  std::vector<WorkerSession*> sessions_;
  std::vector<pollfd> fds_;
  std::vector<std::size_t> ranges_;  // fds_ index where each session's entries start
};

}  // namespace sgeventd::workers
