// A Python fork server (docs/python-plugins.md, python/sgeventd_worker/forkserver.py): one
// interpreter per [python] setup that has imported the worker runtime, shotgun_api3 and
// [python] preload, and forks a worker per request. Workers then share those pages and start
// in milliseconds instead of a fresh interpreter's 60-130 ms.
//
// A forked worker is the daemon's own child like a spawned one: the server forks twice and the
// worker is reparented to the daemon, a child subreaper (child_registry.h). So WorkerProcess
// waits for it, signals its group and caps its memory exactly as it does a spawned worker.
//
// When the server cannot be reached (it died, or does not start), fork_worker fails and the
// caller spawns the worker the usual way; the server is started again at the next request
// after a backoff (1 s, doubling up to a minute). Running workers never depend on it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sgeventd/result.h"

namespace sgeventd::workers {

struct ForkServerSpec {
  std::vector<std::string> argv;  // the worker's command (interpreter, script)
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> path;     // [python] path: on sys.path before the imports
  std::vector<std::string> preload;  // [python] preload: modules imported before any fork
  // Sent to the server before it warms up (forkserver.py --prepare): {"config": sections},
  // the config every worker's hello carries, so that what workers build from it is shared.
  // Empty: the server warms up without it.
  std::string prepare;

  bool operator==(const ForkServerSpec&) const = default;
};

class ForkServer {
 public:
  // Where news goes, one line each: a start (not a problem), and problems (a failed start, a
  // server that died, preloads that failed).
  using Reporter = std::function<void(bool problem, const std::string& line)>;

  // The server for `spec` that is alive in this process, or a new one (started at first use).
  static std::shared_ptr<ForkServer> shared(const ForkServerSpec& spec, Reporter report);

  ForkServer(ForkServerSpec spec, Reporter report);
  ~ForkServer();  // the server exits (killed: it holds nothing worth a goodbye)
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;

  const ForkServerSpec& spec() const { return spec_; }

  // Forks a worker with `in`, `out` and `err` as its stdin, stdout and stderr and `args` after
  // its script; its pid, a child of this process, registered (child_registry::add). The fds
  // stay the caller's (the worker has its own copies). After a failure a worker may exist
  // anyway (the server forked it, then its answer was lost): the caller must not reuse these
  // pipes, so that such a worker sees their other ends close and exits.
  ::sgeventd::Expected<pid_t, std::string> fork_worker(int in, int out, int err,
                                                       const std::vector<std::string>& args);

  // The server's pid, -1 while none runs (for tests and status).
  pid_t server_pid() const;

 private:
  using Clock = std::chrono::steady_clock;

  ::sgeventd::Expected<void, std::string> start();  // mutex_ held
  void send_prepare();                              // start()'s first message, mutex_ held
  void stop();                                      // mutex_ held
  ::sgeventd::Expected<std::string, std::string> receive(std::chrono::milliseconds timeout);
  void failed(const std::string& problem);  // stop, back off, report

  ForkServerSpec spec_;
  Reporter report_;
  mutable std::mutex mutex_;
  int socket_ = -1;
  pid_t pid_ = -1;
  Clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace sgeventd::workers
