// The admin HTTP server (docs/admin-api.md): what operators and `sgeventd` commands read from a
// running daemon. It serves the status snapshot the daemon publishes every second (never the
// dispatcher's internals, so it costs dispatch nothing): GET /healthz, /status, /metrics,
// /plugins. Operators' requests (reload, enable, disable, dead letters, replay) go to the
// dispatcher's inbox (dispatch/control.h) and wait for its answer, at most 10 s. Loopback
// by default; any other address needs a bearer token (config.cpp refuses it otherwise). Bounded: at
// most 64 connection threads, 5 s for a client to send each part of its request, 64 KiB of body.
//
// POST /webhook takes the site's webhook deliveries (docs/webhooks.md): no token, but the
// X-SG-SIGNATURE of [admin] webhook_secret, checked as the body streams in (a batch may be
// large; it is never held whole past 1 MiB). A good one wakes the poller and is answered at
// once, well within the site's 6 s.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/health.h"
#include "dispatch/control.h"
#include "log/redactor.h"
#include "sgeventd/result.h"
#include "sgeventd/value.h"

namespace sgeventd::daemon {

// The latest status snapshot, shared between the daemon's main loop (writer) and the server,
// and the last hour of each plugin's progress for the status page's charts.
class StatusBoard {
 public:
  static constexpr std::chrono::seconds kSampleEvery{10};
  static constexpr std::size_t kSamples = 360;  // an hour

  // `now`: the wall clock, for the history's sample times.
  void publish(Value status,
               std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  Value latest() const;  // null before the first publish
  // {"now": s, "interval_s": 10, "samples": [{"t": s, "plugins": {NAME: {"handled", "lag"}}}]},
  // oldest first, times in Unix seconds.
  Value history(std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

 private:
  mutable std::mutex mutex_;
  Value latest_;
  std::deque<Value> samples_;
  std::chrono::system_clock::time_point last_sample_{};
};

// The status page (GET /): src/daemon/status_page.html, built in.
extern const char* const kStatusPageHtml;

// The events a replay asks for: `ids`, or every id from `from` to `to` (inclusive).
struct ReplaySelection {
  std::vector<std::int64_t> ids;
  std::int64_t from = 0;
  std::int64_t to = 0;
};

// What the control endpoints act through, set once the dispatcher runs.
struct AdminController {
  // dispatch::Dispatcher::control.
  std::function<std::future<dispatch::ControlAnswer>(dispatch::ControlRequest)> submit;
  // Reads the events of a replay from the site, in id order (ids it cannot find are left
  // out); an error message when the site cannot be read.
  std::function<Expected<std::vector<Value>, std::string>(const ReplaySelection&)> fetch;
};

class AdminServer {
 public:
  // Listens on settings.bind:settings.port (0: any free port) and serves from `board`.
  // Every answer is masked with `redactor` (errors in the status may quote secrets).
  static ::sgeventd::Expected<std::unique_ptr<AdminServer>, std::string> start(
      const AdminSettings& settings, const StatusBoard& board, const log::Redactor& redactor);
  ~AdminServer();  // stops serving and joins its threads
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  std::string url() const;  // http://<bind>:<port>

  // The control endpoints answer 503 until a controller is set. Setting another (or none)
  // waits for the requests using the current one to finish: once it returns, the old one is
  // never called again.
  void set_controller(std::shared_ptr<const AdminController> controller);
  // What the 503 says while there is no controller; empty: "starting or stopping". A standby
  // names the leader to ask instead.
  void set_not_dispatching_reason(std::string reason);
  // Where verified webhooks go: the newest event id they name (0: none). Until it is set
  // (the poller not started yet) they are answered and counted, and nothing is woken: the
  // first read finds their events anyway. Any thread; once it returns, the old receiver is
  // never called again.
  void set_webhook_receiver(std::function<void(std::int64_t newest_id)> receiver);

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgeventd::daemon
