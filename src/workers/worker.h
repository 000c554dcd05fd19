// The seam between the dispatcher and worker processes (DESIGN.md section 5): a Worker is one
// running worker as the dispatcher and the supervisor see it, a WorkerHost starts workers and
// runs their I/O. The process implementation is a WorkerSession driven by a WorkerLoop
// (ProcessWorkerHost); tests use an in-memory host (tests/support/fake_worker_host.h) that
// answers at once, so the dispatcher's rules are tested in milliseconds without processes.
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
#include "workers/worker_error.h"
#include "workers/worker_process.h"

namespace sgeventd::workers {

// A message that expects an answer and has not had it yet.
struct InFlight {
  enum class Kind { kEvent, kPing };
  std::uint64_t seq = 0;
  Kind kind = Kind::kEvent;
  std::size_t callbacks = 0;  // how many callbacks the event runs (0 for a ping)
  Clock::time_point sent_at{};
  // When the worker can have started it: it handles messages one at a time, so this is the
  // later of sent_at and the answer to the message before. Callback timeouts count from here.
  Clock::time_point started_at{};
};

// How a worker ended (reported exactly once, after the process has been reaped).
struct SessionEnd {
  std::optional<WorkerError> error;  // nullopt: asked to stop, said bye and exited 0
  ExitStatus exit;
  std::vector<InFlight> lost;  // sent but never answered, oldest first
};

class Worker {
 public:
  virtual ~Worker() = default;

  // Handshake done and every plugin answered: events may be sent.
  virtual bool ready() const = 0;
  // Ended (its end was reported to the listener).
  virtual bool closed() const = 0;
  // Ready, and room in the pipeline window.
  virtual bool can_send() const = 0;
  virtual const std::deque<InFlight>& in_flight() const = 0;
  std::size_t in_flight_count() const { return in_flight().size(); }
  virtual const std::optional<WorkerHello>& worker_hello() const = 0;
  virtual int pid() const = 0;
  // Resident memory of the worker's process, for the memory limit; nullopt when unknown.
  virtual std::optional<std::uint64_t> rss_bytes() const = 0;

  // Queues an event; returns its seq. Fails (without sending) when not ready or the window
  // is full. `event_json`: the EventLogEntry as compact JSON.
  virtual ::sgeventd::Expected<std::uint64_t, std::string> send_event(
      std::string_view event_json, const std::vector<CallbackRef>& callbacks,
      bool late = false) = 0;
  // Asks the worker to finish and exit; kills it if it has not exited after `grace`.
  virtual void shutdown(std::chrono::milliseconds grace) = 0;
  // Ends the worker with `error` (a callback timeout, the memory limit). The first error wins.
  virtual void abort(WorkerError error) = 0;
};

// What a worker reports, on the thread that runs its host.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  virtual void on_hello(Worker&, const WorkerHello&) {}
  virtual void on_loaded(Worker&, const Loaded&) {}
  virtual void on_load_failed(Worker&, const LoadFailed&) {}
  // Handshake done and every plugin answered (loaded or not): events may be sent.
  virtual void on_ready(Worker&) {}
  // An event's result, matched to the oldest event in flight (`answered` is its entry).
  virtual void on_result(Worker&, const InFlight& answered, Result& result) = 0;
  virtual void on_pong(Worker&, const InFlight& /*answered*/) {}
  virtual void on_log(Worker&, const LogMessage&) {}
  // One line the worker wrote to stderr (the protocol logs it at WARNING).
  virtual void on_stderr(Worker&, std::string_view /*line*/) {}
  // The worker reported a message it could not understand; it carries on.
  virtual void on_worker_error(Worker&, const ErrorMessage&) {}
  // A message type this daemon does not know (ignored).
  virtual void on_unknown(Worker&, const UnknownMessage&) {}
  virtual void on_closed(Worker&, const SessionEnd&) = 0;
};

struct SessionOptions {
  HelloInfo hello;
  // Loaded one at a time after the handshake, in this order (worker_per = path sends many).
  std::vector<PluginRef> plugins;
  // Events and pings sent but not answered, at most. 1 = strict request/response.
  std::size_t window = 8;
  std::chrono::milliseconds hello_timeout{10'000};
  std::chrono::milliseconds load_timeout{60'000};  // per plugin: imports can be slow
  // Between SIGTERM and SIGKILL when the daemon kills a worker, and how long a worker that
  // closed its output has to exit before it is killed.
  std::chrono::milliseconds kill_grace{1'000};
};

class WorkerHost {
 public:
  virtual ~WorkerHost() = default;
  // Starts a worker and says hello. Only a failure to start is returned here; everything
  // after is reported through the listener.
  virtual ::sgeventd::Expected<std::unique_ptr<Worker>, WorkerError> start(
      const SpawnSpec& spec, SessionOptions options, SessionListener& listener) = 0;
  // Before a worker is destroyed (safe from a listener callback).
  virtual void remove(Worker& worker) = 0;
  // One pass: wait up to `max_wait` for the workers (less if one has an earlier deadline),
  // and report what they did to their listeners.
  virtual void run_once(std::chrono::milliseconds max_wait) = 0;
  // Thread-safe: makes a run_once that is waiting return now.
  virtual void wake() = 0;
};

}  // namespace sgeventd::workers
