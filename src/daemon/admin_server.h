// The admin HTTP server (docs/admin-api.md): what operators and `sgeventd` commands read from a
// running daemon. It serves the status snapshot the daemon publishes every second (never the
// dispatcher's internals, so it costs dispatch nothing): GET /healthz, /status, /metrics. Loopback
// by default; any other address needs a bearer token (config.cpp refuses it otherwise). Bounded: at
// most 64 connection threads, 5 s for a client to send each part of its request, 64 KiB of body.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "daemon/config.h"
#include "daemon/health.h"
#include "log/redactor.h"
#include "sgeventd/result.h"
#include "sgeventd/value.h"

namespace sgeventd::daemon {

// The latest status snapshot, shared between the daemon's main loop (writer) and the server.
class StatusBoard {
 public:
  void publish(Value status);
  Value latest() const;  // null before the first publish

 private:
  mutable std::mutex mutex_;
  Value latest_;
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

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgeventd::daemon
