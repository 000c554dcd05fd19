// Integration: real worker processes (sgeventd-test-worker) driven through WorkerSession and
// WorkerLoop: the happy path, and every way a worker can misbehave.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "process.h"
#include "recording_listener.h"
#include "sgeventd/json.h"
#include "workers/health.h"

namespace sgeventd::workers {
namespace {

using std::chrono::milliseconds;
using testing::Harness;

SpawnSpec worker(std::vector<std::string> args = {}) {
  SpawnSpec spec;
  spec.argv.push_back(sgeventd::testing::binary("sgeventd-test-worker"));
  for (auto& a : args) spec.argv.push_back(std::move(a));
  return spec;
}

std::string event_json(std::int64_t id) {
  return to_json(Dict{{"type", "EventLogEntry"},
                      {"id", id},
                      {"event_type", "Shotgun_Task_Change"},
                      {"attribute_name", "sg_status_list"}},
                 {JsonStyle::Compact, true});
}

const std::vector<CallbackRef> kOne{{"test", 0}};

// Sends events 1..n as the window allows, running the loop; returns when all are answered or
// the session ended.
void pump_events(Harness& h, int n) {
  int sent = 0;
  h.wait([&] {
    while (sent < n && h.session->can_send()) {
      ++sent;
      EXPECT_TRUE(h.session->send_event(event_json(sent), kOne));
    }
    return h.listener.end.has_value() || static_cast<int>(h.listener.results.size()) == n;
  });
}

std::string temp_file(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("sgeventd-workers-" + std::to_string(::getpid()) + "-" + tag))
      .string();
}

std::vector<std::int64_t> read_ids(const std::string& path) {
  std::vector<std::int64_t> ids;
  std::ifstream in(path);
  for (std::int64_t id; in >> id;) ids.push_back(id);
  return ids;
}

TEST(WorkerSession, HandshakeLoadEventsAndCleanShutdown) {
  const std::string record = temp_file("record");
  std::filesystem::remove(record);
  Harness h;
  SessionOptions options;
  options.window = 8;
  options.hello.daemon = "sgeventd test";
  ASSERT_TRUE(h.start(worker({"--callbacks", "2", "--record", record}), options));
  ASSERT_TRUE(h.wait_ready());
  ASSERT_TRUE(h.listener.hello);
  EXPECT_EQ(h.listener.hello->protocol, 1);
  EXPECT_EQ(h.listener.hello->worker, "sgeventd-test-worker 0.1.0");
  ASSERT_EQ(h.listener.loaded.size(), 1u);
  EXPECT_EQ(h.listener.loaded[0].plugin, "test");
  EXPECT_EQ(h.listener.loaded[0].callbacks.size(), 2u);

  pump_events(h, 100);
  ASSERT_EQ(h.listener.results.size(), 100u);
  for (std::size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(h.listener.results[i].first.seq, h.listener.results[i].second.seq);
    ASSERT_EQ(h.listener.results[i].second.results.size(), 1u);
    EXPECT_TRUE(h.listener.results[i].second.results[0].ok);
  }
  EXPECT_EQ(h.listener.results.back().first.seq, 100u);

  h.session->shutdown(milliseconds(5000));
  ASSERT_TRUE(h.wait_end());
  EXPECT_FALSE(h.listener.end->error) << h.listener.end->error->describe();
  EXPECT_TRUE(h.listener.end->exit.clean());
  EXPECT_TRUE(h.listener.end->lost.empty());

  std::vector<std::int64_t> want(100);
  for (int i = 0; i < 100; ++i) want[static_cast<std::size_t>(i)] = i + 1;
  EXPECT_EQ(read_ids(record), want);
  std::filesystem::remove(record);
}

TEST(WorkerSession, TheWindowBoundsWhatIsInFlight) {
  Harness h;
  SessionOptions options;
  options.window = 3;
  ASSERT_TRUE(h.start(worker({"--sleep-ms", "20"}), options));
  ASSERT_TRUE(h.wait_ready());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.session->send_event(event_json(i), kOne));
  EXPECT_FALSE(h.session->can_send());
  auto refused = h.session->send_event(event_json(9), kOne);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("window"), std::string::npos);
  EXPECT_FALSE(h.session->ping());
  ASSERT_TRUE(h.wait([&] { return h.listener.results.size() == 3; }));
  EXPECT_EQ(h.session->in_flight_count(), 0u);
}

TEST(WorkerSession, PingIsAnsweredAfterTheEventsBeforeIt) {
  Harness h;
  ASSERT_TRUE(h.start(worker()));
  ASSERT_TRUE(h.wait_ready());
  ASSERT_TRUE(h.session->send_event(event_json(1), kOne));
  auto seq = h.session->ping();
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, 2u);
  ASSERT_TRUE(h.wait([&] { return !h.listener.pongs.empty(); }));
  EXPECT_EQ(h.listener.results.size(), 1u);
  EXPECT_EQ(h.listener.pongs[0].seq, 2u);
}

TEST(WorkerSession, EventsBeforeReadyAreRefused) {
  Harness h;
  ASSERT_TRUE(h.start(worker()));
  EXPECT_FALSE(h.session->send_event(event_json(1), kOne));
}

TEST(WorkerSession, LoadFailedIsReportedAndTheWorkerStaysUsable) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--load-fail"})));
  ASSERT_TRUE(h.wait_ready());
  ASSERT_EQ(h.listener.load_failed.size(), 1u);
  EXPECT_NE(h.listener.load_failed[0].error.find("RuntimeError"), std::string::npos);
  EXPECT_TRUE(h.listener.loaded.empty());
}

TEST(WorkerSession, SeveralPluginsLoadOneAtATimeInOrder) {
  Harness h;
  SessionOptions options;
  options.plugins = {{"a", "/p/a.py"}, {"b", "/p/b.py"}, {"c", "/p/c.py"}};
  ASSERT_TRUE(h.start(worker(), options));
  ASSERT_TRUE(h.wait_ready());
  ASSERT_EQ(h.listener.loaded.size(), 3u);
  EXPECT_EQ(h.listener.loaded[2].plugin, "c");
}

TEST(WorkerSession, LogsAndStderrAreForwarded) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--log-level", "40", "--stderr", "warning: ünïcode on stderr"})));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 3);
  ASSERT_TRUE(h.wait([&] { return h.listener.stderr_lines.size() == 3; }));
  EXPECT_EQ(h.listener.stderr_lines[0], "warning: ünïcode on stderr");
  ASSERT_EQ(h.listener.logs.size(), 3u);
  EXPECT_EQ(h.listener.logs[0].level, 40);
  EXPECT_EQ(h.listener.logs[0].logger, "plugin.test.callback_0");
  EXPECT_EQ(h.listener.logs[2].message, "handled event 3");
}

TEST(WorkerSession, CallbackFailuresAreResultsNotErrors) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--fail-on", "2"})));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 3);
  ASSERT_EQ(h.listener.results.size(), 3u);
  EXPECT_FALSE(h.listener.results[1].second.results[0].ok);
  EXPECT_NE(h.listener.results[1].second.results[0].traceback.find("Traceback"), std::string::npos);
  EXPECT_TRUE(h.listener.results[2].second.results[0].ok);
  EXPECT_FALSE(h.listener.end);
}

// ---- failures ----

TEST(WorkerSession, SpawnFailureIsTyped) {
  Harness h;
  SpawnSpec spec;
  spec.argv = {"/nonexistent/worker"};
  ASSERT_FALSE(h.start(spec));
  EXPECT_EQ(h.spawn_error->kind, WorkerError::Kind::kSpawnFailed);
  EXPECT_NE(h.spawn_error->message.find("/nonexistent/worker"), std::string::npos);
}

TEST(WorkerSession, ACrashMidEventLosesExactlyTheEventsInFlight) {
  Harness h;
  SessionOptions options;
  options.window = 4;
  ASSERT_TRUE(h.start(worker({"--crash-on", "3"}), options));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 10);
  ASSERT_TRUE(h.listener.end);
  const auto& e = *h.listener.end;
  ASSERT_TRUE(e.error);
  EXPECT_EQ(e.error->kind, WorkerError::Kind::kExited);
  EXPECT_EQ(e.exit.signal, SIGABRT);
  EXPECT_EQ(h.listener.results.size(), 2u);
  ASSERT_FALSE(e.lost.empty());
  EXPECT_EQ(e.lost.front().seq, 3u);
  EXPECT_NE(e.error->describe().find("signal 6"), std::string::npos) << e.error->describe();
}

TEST(WorkerSession, AnExitCodeIsReported) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--exit-on", "1:7"})));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 1);
  ASSERT_TRUE(h.listener.end && h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kExited);
  EXPECT_EQ(h.listener.end->exit.code, 7);
  EXPECT_EQ(h.listener.end->lost.size(), 1u);
}

// True once `pid` has ended (gone, or a zombie its new parent has not reaped yet).
bool process_ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
}

TEST(WorkerSession, HelpersInItsProcessGroupEndWithTheWorker) {
  // The worker starts a helper and then exits on its own (no kill from the daemon): the
  // helper, left in the worker's process group, must not outlive it.
  const std::string pid_file = temp_file("helper-pid");
  std::filesystem::remove(pid_file);
  SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "sleep 300 & echo $! > '" + pid_file + "'; exec \"$0\" --exit-on 1:0",
               sgeventd::testing::binary("sgeventd-test-worker")};
  Harness h;
  ASSERT_TRUE(h.start(spec));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 1);
  ASSERT_TRUE(h.listener.end);
  pid_t helper = 0;
  std::ifstream(pid_file) >> helper;
  ASSERT_GT(helper, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!process_ended(helper) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const bool ended = process_ended(helper);
  if (!ended) ::kill(helper, SIGKILL);
  EXPECT_TRUE(ended) << "helper " << helper << " outlived its worker";
  std::filesystem::remove(pid_file);
}

TEST(WorkerSession, ExitAtHelloIsAHandshakeFailure) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--exit-at-hello"})));
  ASSERT_TRUE(h.wait_end());
  ASSERT_TRUE(h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kExited);
  EXPECT_NE(h.listener.end->error->message.find("handshake"), std::string::npos);
  EXPECT_EQ(h.listener.end->exit.code, 1);
}

TEST(WorkerSession, NoHelloTimesOut) {
  Harness h;
  SessionOptions options;
  options.hello_timeout = milliseconds(200);
  ASSERT_TRUE(h.start(worker({"--no-hello"}), options));
  ASSERT_TRUE(h.wait_end());
  ASSERT_TRUE(h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kTimeout);
}

TEST(WorkerSession, AnotherProtocolVersionIsRefused) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--protocol", "2"})));
  ASSERT_TRUE(h.wait_end());
  ASSERT_TRUE(h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kVersion);
}

TEST(WorkerSession, GarbageOnStdoutIsAProtocolError) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--garbage-on", "2"})));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 5);
  ASSERT_TRUE(h.listener.end && h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kProtocol);
  EXPECT_NE(h.listener.end->error->message.find("this is not JSON"), std::string::npos);
}

TEST(WorkerSession, AnswersOutOfOrderAreAProtocolError) {
  Harness h;
  SessionOptions options;
  options.window = 4;
  ASSERT_TRUE(h.start(worker({"--out-of-order"}), options));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 4);
  ASSERT_TRUE(h.listener.end && h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kProtocol);
  EXPECT_NE(h.listener.end->error->message.find("result for seq 2, expected"), std::string::npos)
      << h.listener.end->error->message;
  EXPECT_TRUE(h.listener.results.empty());
}

// The supervisor's side of callback_timeout: HealthMonitor says when, abort() kills.
bool run_with_health(Harness& h, HealthMonitor& monitor) {
  return h.wait([&] {
    if (!h.listener.end) {
      if (auto e = monitor.check(*h.session)) h.session->abort(*e);
    }
    return h.listener.end.has_value();
  });
}

TEST(WorkerSession, AHungCallbackIsKilledAtItsTimeout) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--hang-on", "2"})));
  ASSERT_TRUE(h.wait_ready());
  HealthLimits limits;
  limits.callback_timeout = milliseconds(200);
  HealthMonitor monitor(limits, Clock::real());
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(h.session->send_event(event_json(i), kOne));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_with_health(h, monitor));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(5));
  ASSERT_TRUE(h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kTimeout);
  EXPECT_EQ(h.listener.end->exit.signal, SIGTERM);
  EXPECT_EQ(h.listener.results.size(), 1u);
  ASSERT_EQ(h.listener.end->lost.size(), 2u);
  EXPECT_EQ(h.listener.end->lost[0].seq, 2u);
}

TEST(WorkerSession, AWorkerIgnoringSigtermGetsSigkill) {
  Harness h;
  SessionOptions options;
  options.kill_grace = milliseconds(200);
  ASSERT_TRUE(h.start(worker({"--hang-on", "1", "--ignore-term"}), options));
  ASSERT_TRUE(h.wait_ready());
  ASSERT_TRUE(h.session->send_event(event_json(1), kOne));
  h.session->abort({WorkerError::Kind::kTimeout, "test", std::nullopt});
  ASSERT_TRUE(h.wait_end());
  EXPECT_EQ(h.listener.end->exit.signal, SIGKILL);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kTimeout);
}

TEST(WorkerSession, ALeakingWorkerIsKilledAtTheMemoryLimit) {
  Harness h;
  SessionOptions options;
  options.window = 1;  // one event at a time, so the results count the leaks
  ASSERT_TRUE(h.start(worker({"--leak-mb", "16"}), options));
  ASSERT_TRUE(h.wait_ready());
  HealthLimits limits;
  limits.memory_limit_bytes = 64u << 20;
  limits.memory_check_interval = milliseconds(0);
  HealthMonitor monitor(limits, Clock::real());
  int sent = 0;
  ASSERT_TRUE(h.wait([&] {
    if (!h.listener.end) {
      if (auto e = monitor.check(*h.session)) h.session->abort(*e);
      while (sent < 100 && h.session->can_send()) {
        EXPECT_TRUE(h.session->send_event(event_json(++sent), kOne));
      }
    }
    return h.listener.end.has_value();
  }));
  ASSERT_TRUE(h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kMemoryLimit);
  EXPECT_GE(h.listener.results.size(), 3u);  // 16 MiB each: ~4 fit under 64 MiB
  EXPECT_LT(h.listener.results.size(), 10u);
}

TEST(WorkerSession, TheDataLimitIsAHardCap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "a sanitized worker's shadow memory is over any cap (dispatcher_workers.cpp)";
#endif
  // No health monitor here: nothing samples the worker's memory, only the cap stops it.
  Harness h;
  SessionOptions options;
  options.window = 1;
  SpawnSpec spec = worker({"--leak-mb", "16"});
  spec.data_limit_bytes = 64u << 20;
  ASSERT_TRUE(h.start(spec, options));
  ASSERT_TRUE(h.wait_ready());
  pump_events(h, 30);  // 480 MiB without the cap
  ASSERT_TRUE(h.listener.end);
  EXPECT_EQ(h.listener.end->exit.code, 3);   // the test worker's "allocation failed"
  EXPECT_GE(h.listener.results.size(), 2u);  // 16 MiB each: ~3 fit under 64 MiB
  EXPECT_LT(h.listener.results.size(), 4u);
}

TEST(WorkerSession, RssIsReadWhileRunning) {
  Harness h;
  ASSERT_TRUE(h.start(worker()));
  ASSERT_TRUE(h.wait_ready());
  auto rss = h.session->process().rss_bytes();
  ASSERT_TRUE(rss);
  EXPECT_GT(*rss, 100u * 1024);
  EXPECT_LT(*rss, 64u << 20);
}

TEST(WorkerSession, ShutdownDuringASlowEventWaitsThenKills) {
  Harness h;
  SessionOptions options;
  options.kill_grace = milliseconds(100);
  ASSERT_TRUE(h.start(worker({"--sleep-ms", "10000"}), options));
  ASSERT_TRUE(h.wait_ready());
  ASSERT_TRUE(h.session->send_event(event_json(1), kOne));
  h.session->shutdown(milliseconds(200));
  ASSERT_TRUE(h.wait_end());
  ASSERT_TRUE(h.listener.end->error);
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kTimeout);
  EXPECT_EQ(h.listener.end->lost.size(), 1u);
}

TEST(WorkerSession, ShutdownDuringTheHandshakeEndsCleanly) {
  // A reload (SIGHUP) stops a worker that has not answered hello yet: its hello and then its
  // bye come after the shutdown, and that is a clean end, not a protocol error.
  for (const char* phase : {"handshake", "loading"}) {
    Harness h;
    ASSERT_TRUE(h.start(worker({"--callbacks", "2"})));
    if (std::string(phase) == "loading") {
      ASSERT_TRUE(h.wait([&] { return h.listener.hello.has_value(); }));
    }
    h.session->shutdown(milliseconds(5000));
    ASSERT_TRUE(h.wait_end());
    EXPECT_FALSE(h.listener.end->error) << phase << ": " << h.listener.end->error->describe();
  }
}

TEST(WorkerSession, ShutdownLetsASlowWorkerFinishWithinGrace) {
  Harness h;
  SessionOptions options;
  options.window = 4;
  ASSERT_TRUE(h.start(worker({"--sleep-ms", "30"}), options));
  ASSERT_TRUE(h.wait_ready());
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(h.session->send_event(event_json(i), kOne));
  h.session->shutdown(milliseconds(10000));
  ASSERT_TRUE(h.wait_end());
  EXPECT_FALSE(h.listener.end->error);
  EXPECT_EQ(h.listener.results.size(), 4u);
  EXPECT_TRUE(h.listener.end->lost.empty());
}

TEST(WorkerSession, KillingTheProcessMidEventFromOutsideIsNoticed) {
  Harness h;
  ASSERT_TRUE(h.start(worker({"--sleep-ms", "10000"})));
  ASSERT_TRUE(h.wait_ready());
  ASSERT_TRUE(h.session->send_event(event_json(1), kOne));
  ASSERT_EQ(::kill(h.session->process().pid(), SIGKILL), 0);
  ASSERT_TRUE(h.wait_end());
  EXPECT_EQ(h.listener.end->error->kind, WorkerError::Kind::kExited);
  EXPECT_EQ(h.listener.end->exit.signal, SIGKILL);
  EXPECT_EQ(h.listener.end->lost.size(), 1u);
}

TEST(WorkerSession, WritingToADeadWorkerDoesNotKillTheDaemon) {
  // SIGPIPE must not end the test process: keep sending after the worker exited.
  Harness h;
  SessionOptions options;
  options.window = 64;
  ASSERT_TRUE(h.start(worker({"--exit-on", "1:0"}), options));
  ASSERT_TRUE(h.wait_ready());
  const std::string big(512 * 1024, 'x');
  const std::string ev = to_json(Dict{{"id", 1}, {"blob", big}}, {JsonStyle::Compact, true});
  for (int i = 0; i < 64 && h.session->can_send(); ++i) {
    ASSERT_TRUE(h.session->send_event(ev, kOne));
  }
  ASSERT_TRUE(h.wait_end());
  EXPECT_TRUE(h.listener.end->error);
}

TEST(WorkerSession, ALargeEventRoundTrips) {
  Harness h;
  ASSERT_TRUE(h.start(worker()));
  ASSERT_TRUE(h.wait_ready());
  const std::string ev =
      to_json(Dict{{"id", 5}, {"meta", Dict{{"blob", std::string(4 << 20, 'y')}}}},
              {JsonStyle::Compact, true});
  ASSERT_TRUE(h.session->send_event(ev, kOne));
  ASSERT_TRUE(h.wait([&] { return h.listener.results.size() == 1 || h.listener.end; }));
  EXPECT_EQ(h.listener.results.size(), 1u);
}

TEST(WorkerLoop, ManyWorkersAtOnce) {
  constexpr int kWorkers = 40;
  constexpr int kEvents = 200;
  WorkerLoop loop;
  std::vector<std::unique_ptr<testing::RecordingListener>> listeners;
  std::vector<std::unique_ptr<WorkerSession>> sessions;
  for (int i = 0; i < kWorkers; ++i) {
    listeners.push_back(std::make_unique<testing::RecordingListener>());
    SessionOptions options;
    options.window = 16;
    options.plugins = {{"p" + std::to_string(i), "/p"}};
    auto s = WorkerSession::start(worker(), options, *listeners.back());
    ASSERT_TRUE(s) << s.error().describe();
    loop.add(**s);
    sessions.push_back(std::move(*s));
  }
  std::vector<int> sent(kWorkers, 0);
  const bool done = loop.run_until(
      [&] {
        bool all = true;
        for (int i = 0; i < kWorkers; ++i) {
          auto& s = *sessions[static_cast<std::size_t>(i)];
          auto& n = sent[static_cast<std::size_t>(i)];
          while (n < kEvents && s.can_send()) {
            ++n;
            EXPECT_TRUE(s.send_event(event_json(n), {{"p" + std::to_string(i), 0}}));
          }
          all = all && listeners[static_cast<std::size_t>(i)]->results.size() == kEvents;
        }
        return all;
      },
      milliseconds(60'000));
  ASSERT_TRUE(done);
  for (auto& s : sessions) s->shutdown(milliseconds(5000));
  ASSERT_TRUE(loop.run_until(
      [&] {
        for (auto& l : listeners) {
          if (!l->end) return false;
        }
        return true;
      },
      milliseconds(30'000)));
  for (auto& l : listeners) EXPECT_FALSE(l->end->error);
  for (auto& s : sessions) loop.remove(*s);
}

TEST(WorkerLoop, WakeInterruptsAWait) {
  WorkerLoop loop;
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(50));
    loop.wake();
  });
  const auto t0 = std::chrono::steady_clock::now();
  loop.run_once(milliseconds(20'000));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  t.join();
}

}  // namespace
}  // namespace sgeventd::workers

namespace sgeventd::workers {
namespace {

// The reference suite must fail a worker that breaks the protocol, not only pass good ones.
TEST(ConformanceSuite, FailsAWorkerThatAnswersOutOfOrder) {
  const auto r = sgeventd::testing::run_process(
      {sgeventd::testing::binary("worker_conformance_test"), "--worker",
       sgeventd::testing::binary("sgeventd-test-worker") + " --out-of-order",
       "--gtest_filter=*PipelineWindow*"},
      {}, std::chrono::seconds(60));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("protocol error"), std::string::npos) << r.out;
}

TEST(ConformanceSuite, FailsAWorkerThatNeverSaysBye) {
  const auto r = sgeventd::testing::run_process(
      {sgeventd::testing::binary("worker_conformance_test"), "--worker",
       sgeventd::testing::binary("sgeventd-test-worker") + " --no-bye",
       "--gtest_filter=*Shutdown*"},
      {}, std::chrono::seconds(60));
  EXPECT_NE(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace sgeventd::workers

#include "workers/supervisor.h"

namespace sgeventd::workers {
namespace {

// What the dispatcher does with a Supervisor, reduced to one worker: act on each step, feed
// back starts and ends. Returns how many sessions were started.
struct SupervisedWorker {
  SupervisedWorker(Supervisor sup, SpawnSpec worker_spec)
      : supervisor(std::move(sup)), spec(std::move(worker_spec)) {}

  Supervisor supervisor;
  SpawnSpec spec;
  WorkerLoop loop;
  testing::RecordingListener listener;
  std::unique_ptr<WorkerSession> session;
  int starts = 0;
  int events_sent = 0;

  void pass() {
    if (session && listener.end) {  // ended during the last pass
      loop.remove(*session);
      supervisor.ended(*listener.end);
      session.reset();
      listener = testing::RecordingListener();
    }
    const auto step = supervisor.poll(session.get());
    switch (step.action) {
      case Supervisor::Step::Action::kStart: {
        SessionOptions options;
        options.plugins = {{"test", "/p/test.plugin"}};
        auto s = WorkerSession::start(spec, options, listener);
        if (!s) {
          supervisor.start_failed(s.error());
          break;
        }
        session = std::move(*s);
        loop.add(*session);
        supervisor.started();
        ++starts;
        break;
      }
      case Supervisor::Step::Action::kRestart:
        session->shutdown(milliseconds(1000));
        break;
      case Supervisor::Step::Action::kAbort:
        session->abort(*step.error);
        break;
      case Supervisor::Step::Action::kNone:
        break;
    }
    if (session && session->can_send() && session->in_flight_count() == 0) {
      EXPECT_TRUE(session->send_event(event_json(++events_sent), kOne));
    }
    loop.run_once(milliseconds(20));
  }
};

SupervisorOptions fast_policy() {
  SupervisorOptions o;
  o.restart.initial_backoff = milliseconds(10);
  o.restart.max_backoff = milliseconds(40);
  o.restart.crash_loop_failures = 4;
  o.restart.crash_loop_window = milliseconds(60'000);
  o.reload_check_interval = milliseconds(20);
  o.health.callback_timeout = milliseconds(300);
  return o;
}

TEST(Supervised, ACrashingWorkerIsRestartedThenQuarantined) {
  SupervisedWorker w(Supervisor(fast_policy(), {}, Clock::real()), worker({"--crash-every"}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!w.supervisor.quarantined() && std::chrono::steady_clock::now() < deadline) w.pass();
  ASSERT_TRUE(w.supervisor.quarantined());
  EXPECT_EQ(w.starts, 4);
  EXPECT_NE(w.supervisor.last_failure().find("signal 6"), std::string::npos)
      << w.supervisor.last_failure();
}

TEST(Supervised, AHangingWorkerIsKilledAndRestarted) {
  SupervisedWorker w(Supervisor(fast_policy(), {}, Clock::real()), worker({"--hang-on", "2"}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (w.starts < 2 && std::chrono::steady_clock::now() < deadline) w.pass();
  EXPECT_EQ(w.starts, 2);
  EXPECT_NE(w.supervisor.last_failure().find("callback_timeout"), std::string::npos)
      << w.supervisor.last_failure();
}

TEST(Supervised, TouchingThePluginReloadsTheWorker) {
  const std::string file = temp_file("reload.plugin");
  std::ofstream(file) << "v1\n";
  SupervisedWorker w(Supervisor(fast_policy(), {file}, Clock::real()), worker());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (w.events_sent < 3 && std::chrono::steady_clock::now() < deadline) w.pass();
  ASSERT_EQ(w.starts, 1);
  std::ofstream(file) << "version two\n";  // other size: a change even within one mtime tick
  while (w.starts < 2 && std::chrono::steady_clock::now() < deadline) w.pass();
  EXPECT_EQ(w.starts, 2);
  EXPECT_EQ(w.supervisor.restarts().consecutive_failures(), 0);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace sgeventd::workers
