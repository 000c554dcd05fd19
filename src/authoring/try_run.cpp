#include "authoring/try_run.h"

#include <memory>
#include <optional>

#include "dispatch/event_matcher.h"
#include "sgeventd/json.h"
#include "workers/credentials.h"
#include "workers/worker_loop.h"
#include "workers/worker_session.h"

namespace sgeventd::authoring {
namespace {

// What the worker says, into the report: to the event being run, else to the load.
class Collector final : public workers::SessionListener {
 public:
  explicit Collector(TryReport& report) : report_(report) {}

  EventOutcome* current = nullptr;
  bool ready = false;
  bool answered = false;
  bool closed = false;
  std::string end;

  void on_loaded(workers::Worker&, const workers::Loaded& loaded) override {
    report_.loaded = true;
    report_.callbacks = loaded.callbacks;
    report_.secrets.insert(report_.secrets.end(), loaded.secrets.begin(), loaded.secrets.end());
  }
  void on_load_failed(workers::Worker&, const workers::LoadFailed& failed) override {
    report_.load_error = failed.error + (failed.traceback.empty() ? "" : "\n" + failed.traceback);
    report_.secrets.insert(report_.secrets.end(), failed.secrets.begin(), failed.secrets.end());
  }
  void on_ready(workers::Worker&) override { ready = true; }
  void on_result(workers::Worker&, const workers::InFlight&, workers::Result& result) override {
    if (current) current->results = std::move(result.results);
    answered = true;
  }
  void on_log(workers::Worker&, const workers::LogMessage& log) override {
    (current ? current->logs : report_.load_logs).push_back(log);
  }
  void on_stderr(workers::Worker&, std::string_view line) override {
    (current ? current->stderr_lines : report_.load_stderr).emplace_back(line);
  }
  void on_closed(workers::Worker&, const workers::SessionEnd& e) override {
    closed = true;
    end = e.error ? e.error->describe() : "it exited";
  }

 private:
  TryReport& report_;
};

// One worker process and its loop; started again after it dies on an event.
struct Run {
  Run(TryOptions& o, TryReport& r) : options(o), report(r), collector(r) {}

  TryOptions& options;
  TryReport& report;
  Collector collector;
  workers::WorkerLoop loop{Clock::real()};
  std::unique_ptr<workers::WorkerSession> session;

  ::sgeventd::Expected<void, std::string> start() {
    stop();
    collector.ready = false;
    collector.closed = false;
    workers::SessionOptions o;
    o.hello = options.worker.exec
                  ? workers::without_credentials(options.hello, options.worker.credentials)
                  : options.hello;
    o.hello.worker_id = options.worker.id;
    o.plugins = options.worker.plugins;
    o.window = 1;  // one event at a time: what it logs and writes is that event's
    auto started = workers::WorkerSession::start(options.worker.spawn, std::move(o), collector);
    if (!started) return tl::unexpected("cannot start the worker: " + started.error().describe());
    session = std::move(*started);
    loop.add(*session);
    loop.run_until([&] { return collector.ready || collector.closed; }, std::chrono::minutes(2));
    if (!collector.ready) {
      return tl::unexpected("the worker did not start: " +
                            (collector.closed ? collector.end : std::string("no answer in 2 min")));
    }
    return {};
  }

  void stop() {
    if (!session) return;
    if (!collector.closed) {
      session->shutdown(std::chrono::seconds(5));
      loop.run_until([&] { return collector.closed; }, std::chrono::seconds(10));
    }
    loop.remove(*session);
    session.reset();
  }
};

}  // namespace

::sgeventd::Expected<TryReport, std::string> run_try(TryOptions options, const List& events) {
  TryReport report;
  Run run(options, report);
  if (auto ok = run.start(); !ok) return tl::unexpected(ok.error());
  if (!report.loaded) {
    run.stop();
    return report;
  }
  if (options.after_load) {
    if (auto ok = options.after_load(report); !ok) {
      run.stop();
      return tl::unexpected(ok.error());
    }
  }
  std::vector<std::pair<workers::CallbackRef, dispatch::EventMatcher>> matchers;
  const std::string plugin = options.worker.plugins.front().name;
  for (const auto& cb : report.callbacks) {
    auto m = dispatch::EventMatcher::from_value(cb.match_events);
    if (!m) return tl::unexpected("callback " + cb.name + ": matchEvents: " + m.error());
    matchers.emplace_back(workers::CallbackRef{plugin, cb.index}, std::move(*m));
  }
  for (const Value& event : events) {
    EventOutcome outcome;
    outcome.event = event;
    std::vector<workers::CallbackRef> refs;
    for (std::size_t i = 0; i < matchers.size(); ++i) {
      if (matchers[i].second.matches(event)) {
        refs.push_back(matchers[i].first);
        outcome.callbacks.push_back(report.callbacks[i].name);
      }
    }
    if (!refs.empty()) {
      if (!run.session || run.collector.closed) {
        if (auto ok = run.start(); !ok) return tl::unexpected(ok.error());
      }
      run.collector.current = &outcome;
      run.collector.answered = false;
      auto sent = run.session->send_event(to_json(event), refs);
      if (!sent) return tl::unexpected("cannot send the event: " + sent.error());
      const bool done = run.loop.run_until(
          [&] { return run.collector.answered || run.collector.closed; }, options.callback_timeout);
      if (!done) {
        run.session->abort(workers::WorkerError{workers::WorkerError::Kind::kTimeout,
                                                "no answer within the callback timeout"});
        run.loop.run_until([&] { return run.collector.closed; }, std::chrono::seconds(10));
      }
      if (!run.collector.answered) outcome.worker_ended = run.collector.end;
      run.collector.current = nullptr;
    }
    if (options.capture) outcome.writes = options.capture->take();
    if (options.on_event) options.on_event(outcome);
    report.events.push_back(std::move(outcome));
  }
  run.stop();
  return report;
}

}  // namespace sgeventd::authoring
