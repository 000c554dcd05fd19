// A SessionListener that keeps everything a worker said, and a harness driving one session
// through a WorkerLoop with bounded waits: shared by the worker integration tests and the
// conformance suite.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "workers/worker_loop.h"
#include "workers/worker_session.h"

namespace sgeventd::workers::testing {

struct RecordingListener : SessionListener {
  std::optional<WorkerHello> hello;
  std::vector<Loaded> loaded;
  std::vector<LoadFailed> load_failed;
  bool ready = false;
  std::vector<std::pair<InFlight, Result>> results;
  std::vector<InFlight> pongs;
  std::vector<LogMessage> logs;
  std::vector<std::string> stderr_lines;
  std::vector<ErrorMessage> worker_errors;
  std::vector<std::string> unknown;
  std::optional<SessionEnd> end;
  // Lets a test react to a result (e.g. send the next event).
  std::function<void(Worker&, const InFlight&, Result&)> result_hook;

  void on_hello(Worker&, const WorkerHello& m) override { hello = m; }
  void on_loaded(Worker&, const Loaded& m) override { loaded.push_back(m); }
  void on_load_failed(Worker&, const LoadFailed& m) override { load_failed.push_back(m); }
  void on_ready(Worker&) override { ready = true; }
  void on_result(Worker& s, const InFlight& f, Result& r) override {
    results.emplace_back(f, r);
    if (result_hook) result_hook(s, f, r);
  }
  void on_pong(Worker&, const InFlight& f) override { pongs.push_back(f); }
  void on_log(Worker&, const LogMessage& m) override { logs.push_back(m); }
  void on_stderr(Worker&, std::string_view line) override { stderr_lines.emplace_back(line); }
  void on_worker_error(Worker&, const ErrorMessage& m) override { worker_errors.push_back(m); }
  void on_unknown(Worker&, const UnknownMessage& m) override { unknown.push_back(m.type); }
  void on_closed(Worker&, const SessionEnd& e) override { end = e; }
};

// One worker on its own loop.
struct Harness {
  WorkerLoop loop;
  RecordingListener listener;
  std::unique_ptr<WorkerSession> session;
  std::optional<WorkerError> spawn_error;

  static constexpr std::chrono::milliseconds kWait{15'000};

  ~Harness() {
    if (session) loop.remove(*session);
  }

  bool start(const SpawnSpec& spec, SessionOptions options = {}) {
    if (options.plugins.empty()) options.plugins.push_back({"test", "/plugins/test.plugin"});
    auto s = WorkerSession::start(spec, std::move(options), listener);
    if (!s) {
      spawn_error = s.error();
      return false;
    }
    session = std::move(*s);
    loop.add(*session);
    return true;
  }
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
    return loop.run_until(done, timeout);
  }
  bool wait_ready() {
    return wait([&] { return listener.ready || listener.end.has_value(); }) && listener.ready;
  }
  bool wait_end() {
    return wait([&] { return listener.end.has_value(); });
  }
};

}  // namespace sgeventd::workers::testing
