// The daemon's side of the worker protocol over one WorkerProcess: handshake, loads, events
// with sequence numbers and a pipeline window, pings, logs, shutdown. It checks every answer
// against what was asked (order, seq, plugin) and turns any deviation into one typed
// WorkerError, after which the process is killed and the session reports its end once.
//
// It makes no policy decision: what to send, when to restart, what a failed event means are
// the dispatcher's and the supervisor's. Not thread-safe: one thread drives a session (usually
// through a WorkerLoop), and listener callbacks run on that thread. A listener must not
// destroy the session from inside a callback; do it after WorkerLoop::run_once returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "sgeventd/clock.h"
#include "sgeventd/workers/protocol.h"
#include "workers/worker.h"
#include "workers/worker_error.h"
#include "workers/worker_process.h"

namespace sgeventd::workers {

class WorkerSession final : public Worker {
 public:
  enum class State { kHandshake, kLoading, kReady, kStopping, kClosed };

  // Spawns the worker and sends hello. Only a spawn failure is returned here; everything
  // after is reported through the listener.
  static ::sgeventd::Expected<std::unique_ptr<WorkerSession>, WorkerError> start(
      const SpawnSpec& spec, SessionOptions options, SessionListener& listener,
      Clock& clock = Clock::real());
  ~WorkerSession();
  WorkerSession(const WorkerSession&) = delete;
  WorkerSession& operator=(const WorkerSession&) = delete;

  State state() const { return state_; }
  bool ready() const override { return state_ == State::kReady; }
  bool closed() const override { return state_ == State::kClosed; }
  const WorkerProcess& process() const { return *process_; }
  // Raw access, bypassing the protocol bookkeeping: for the conformance suite and tests
  // (e.g. to write a message type the daemon does not send).
  WorkerProcess& process() { return *process_; }
  const std::optional<WorkerHello>& worker_hello() const override { return worker_hello_; }
  int pid() const override { return process_->pid(); }
  std::optional<std::uint64_t> rss_bytes() const override { return process_->rss_bytes(); }

  // Room in the pipeline window (and ready).
  bool can_send() const override { return ready() && in_flight_.size() < options_.window; }
  const std::deque<InFlight>& in_flight() const override { return in_flight_; }

  // Queues an event; returns its seq. Fails (without sending) when not ready or the window
  // is full. `event_json`: the EventLogEntry as compact JSON.
  ::sgeventd::Expected<std::uint64_t, std::string> send_event(
      std::string_view event_json, const std::vector<CallbackRef>& callbacks,
      bool late = false) override;
  // Queues a ping (counts against the window, as it waits behind the events before it).
  ::sgeventd::Expected<std::uint64_t, std::string> ping();
  // Asks the worker to finish and exit; kills it if it has not exited after `grace`.
  void shutdown(std::chrono::milliseconds grace) override;
  // Ends the session with `error`: SIGTERM, then SIGKILL after kill_grace. Used by the
  // supervisor for callback timeouts and the memory limit. The first error wins.
  void abort(WorkerError error) override;

  // Writes queued messages (WorkerLoop does this before it polls).
  void flush() { process_->flush(); }
  void poll_fds(std::vector<pollfd>& fds) const { process_->poll_fds(fds); }
  // Handles poll results, then deadlines.
  void handle(const pollfd* fds, std::size_t count);
  // Enforces deadlines (hello/load/shutdown timeouts, kill after grace).
  void tick();
  // The earliest deadline tick() must see, for the poll timeout.
  std::optional<Clock::time_point> next_deadline() const;

 private:
  WorkerSession(SessionOptions options, SessionListener& listener, Clock& clock);
  void on_line(std::string_view line);
  void on_message(WorkerMessage& message);
  void send_next_load();
  void fail(WorkerError::Kind kind, std::string message);
  void check_process();
  std::uint64_t queue_in_flight(InFlight::Kind kind, std::size_t callbacks);
  void pop_in_flight();

  SessionOptions options_;
  SessionListener& listener_;
  Clock& clock_;
  std::unique_ptr<WorkerProcess> process_;
  State state_ = State::kHandshake;
  std::optional<WorkerHello> worker_hello_;
  std::size_t next_plugin_ = 0;  // index in options_.plugins of the load awaiting an answer
  std::deque<InFlight> in_flight_;
  std::uint64_t next_seq_ = 1;
  std::optional<WorkerError> error_;
  bool said_bye_ = false;
  std::optional<Clock::time_point> deadline_;  // hello, load or shutdown answer due
  std::optional<Clock::time_point> eof_deadline_;
};

}  // namespace sgeventd::workers
