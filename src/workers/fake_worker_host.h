// Workers in memory, for fast tests of the dispatcher (a test double of workers/worker.h): no
// process, no pipe, and time is the test's ManualClock. Each worker loads its plugins at once
// with the callbacks the test gave them, then runs events one at a time as a real worker does:
// an event starts when the one before it is done and takes as long as its behaviour says, in
// manual time. run_once(max_wait) moves the clock to the next answer due (or by max_wait) and
// reports what is due, so a test of minutes of traffic runs in milliseconds.
//
// Behaviours per plugin: an answer (ok, an error, a crash of the worker, a hang) and a
// duration for each event, decided by a function of the event. Everything sent is recorded,
// and every callback run (its plugin and the event id), for the assertions.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgeventd/clock.h"
#include "workers/worker.h"

namespace sgeventd::workers {

// What one event does in a fake plugin.
struct FakeRun {
  // kSkipped: the worker answers that it did not run the callback (it holds the plugin
  // stopped after an error, as a stopOnError plugin's worker does).
  enum class Kind { kOk, kError, kCrash, kHang, kSkipped };
  Kind kind = Kind::kOk;
  std::chrono::milliseconds takes{1};
  std::string error = "RuntimeError: boom";

  static FakeRun ok(std::chrono::milliseconds t = std::chrono::milliseconds(1)) {
    return {Kind::kOk, t, {}};
  }
  static FakeRun fail(std::string e = "RuntimeError: boom") {
    return {Kind::kError, std::chrono::milliseconds(1), std::move(e)};
  }
  static FakeRun skipped() {
    return {Kind::kSkipped, std::chrono::milliseconds(1), "the plugin is stopped"};
  }
  static FakeRun crash() { return {Kind::kCrash, std::chrono::milliseconds(1), {}}; }
  static FakeRun hang() { return {Kind::kHang, std::chrono::milliseconds(1), {}}; }
};

struct FakePlugin {
  std::vector<CallbackInfo> callbacks;    // what `loaded` answers
  std::optional<std::string> load_error;  // set: `load_failed` instead
  // The run of an event (its id, and whether it is late); ok in 1 ms by default.
  std::function<FakeRun(std::int64_t id, bool late)> run;
};

// One event a fake worker was sent.
struct FakeDelivery {
  std::string worker;
  std::int64_t id = 0;
  bool late = false;
  std::vector<CallbackRef> callbacks;
};

class FakeWorkerHost final : public WorkerHost {
 public:
  // `clock`: moved by run_once; the dispatcher under test must read the same one.
  explicit FakeWorkerHost(Clock& clock, std::function<void(std::chrono::milliseconds)> advance);
  ~FakeWorkerHost() override;

  // The plugin named `name` (PluginRef::name) behaves so. Unknown plugins load with one
  // callback matching everything, and run every event ok.
  void set_plugin(const std::string& name, FakePlugin plugin);
  // The next `n` starts of worker `id` fail (spawn errors).
  void fail_starts(const std::string& id, int n) { failing_starts_[id] = n; }

  // Every event sent, in order; every callback that ran to success, as (plugin, event id).
  const std::vector<FakeDelivery>& sent() const { return sent_; }
  const std::vector<std::pair<std::string, std::int64_t>>& ran() const { return ran_; }
  std::vector<std::int64_t> ran_by(const std::string& plugin) const;
  int starts(const std::string& id) const;
  // Workers alive now.
  std::size_t running() const;

  ::sgeventd::Expected<std::unique_ptr<Worker>, WorkerError> start(
      const SpawnSpec& spec, SessionOptions options, SessionListener& listener) override;
  void remove(Worker& worker) override;
  void run_once(std::chrono::milliseconds max_wait) override;
  void wake() override;

  class FakeWorker;

 private:
  friend class FakeWorker;
  const FakePlugin& plugin(const std::string& name) const;

  Clock& clock_;
  std::function<void(std::chrono::milliseconds)> advance_;
  std::map<std::string, FakePlugin> plugins_;
  std::map<std::string, int> failing_starts_;
  std::map<std::string, int> starts_;
  std::vector<FakeWorker*> workers_;
  std::vector<FakeDelivery> sent_;
  std::vector<std::pair<std::string, std::int64_t>> ran_;
  std::atomic<bool> woken_{false};
  FakePlugin default_plugin_;
};

}  // namespace sgeventd::workers
