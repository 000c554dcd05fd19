#include "workers/supervisor.h"

#include <gtest/gtest.h>

#include <map>

#include "workers/manual_clock_test_support.h"

namespace sgeventd::workers {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Action = Supervisor::Step::Action;

struct Fixture {
  ManualClock clock;
  std::map<std::string, FileStamp> files{{"/p/a.plugin", {true, 1, 10, 1}}};
  std::deque<InFlight> in_flight;
  std::uint64_t rss = 10u << 20;

  SupervisorOptions options() {
    SupervisorOptions o;
    o.restart.initial_backoff = milliseconds(500);
    o.restart.max_backoff = seconds(8);
    o.restart.jitter = 0;
    o.restart.crash_loop_failures = 3;
    o.restart.crash_loop_window = seconds(60);
    o.health.callback_timeout = milliseconds(1000);
    o.health.memory_limit_bytes = 100u << 20;
    o.health.memory_check_interval = milliseconds(0);
    o.reload_check_interval = milliseconds(1000);
    return o;
  }
  Supervisor make() {
    return Supervisor(options(), {"/p/a.plugin"}, clock,
                      [this](const std::string& p) { return files[p]; });
  }
  Supervisor::Step poll_running(Supervisor& s) {
    return s.poll(&in_flight, [this] { return std::optional<std::uint64_t>(rss); });
  }
  static SessionEnd crash() {
    SessionEnd e;
    e.error = WorkerError{WorkerError::Kind::kExited, "exited unexpectedly", std::nullopt};
    e.exit.signal = 6;
    return e;
  }
};

TEST(Supervisor, StartsAtOnceThenWatchesHealth) {
  Fixture f;
  Supervisor s = f.make();
  EXPECT_EQ(s.poll(nullptr, {}).action, Action::kStart);
  s.started();
  EXPECT_EQ(s.state(), Supervisor::State::kRunning);
  EXPECT_EQ(f.poll_running(s).action, Action::kNone);

  f.in_flight.push_back({1, InFlight::Kind::kEvent, 1, f.clock.now(), f.clock.now()});
  f.clock.advance(milliseconds(999));
  EXPECT_EQ(f.poll_running(s).action, Action::kNone);
  f.clock.advance(milliseconds(1));
  const auto step = f.poll_running(s);
  EXPECT_EQ(step.action, Action::kAbort);
  EXPECT_EQ(step.error->kind, WorkerError::Kind::kTimeout);
}

TEST(Supervisor, KillsAWorkerOverTheMemoryLimit) {
  Fixture f;
  Supervisor s = f.make();
  s.started();
  f.rss = 101u << 20;
  const auto step = f.poll_running(s);
  EXPECT_EQ(step.action, Action::kAbort);
  EXPECT_EQ(step.error->kind, WorkerError::Kind::kMemoryLimit);
}

TEST(Supervisor, RestartsWithBackoffThenQuarantinesACrashLoop) {
  Fixture f;
  Supervisor s = f.make();
  s.started();
  s.ended(Fixture::crash());
  EXPECT_EQ(s.state(), Supervisor::State::kWaiting);
  EXPECT_EQ(s.next_poll(nullptr), f.clock.now() + milliseconds(500));
  f.clock.advance(milliseconds(499));
  EXPECT_EQ(s.poll(nullptr, {}).action, Action::kNone);
  f.clock.advance(milliseconds(1));
  const auto step = s.poll(nullptr, {});
  EXPECT_EQ(step.action, Action::kStart);
  EXPECT_NE(step.reason.find("signal 6"), std::string::npos) << step.reason;

  s.started();
  s.ended(Fixture::crash());
  f.clock.advance(seconds(1));
  EXPECT_EQ(s.poll(nullptr, {}).action, Action::kStart);
  s.start_failed({WorkerError::Kind::kSpawnFailed, "gone", std::nullopt});
  EXPECT_TRUE(s.quarantined());
  f.clock.advance(seconds(3600));
  EXPECT_EQ(s.poll(nullptr, {}).action, Action::kNone) << "stays quarantined";
}

TEST(Supervisor, AChangedFileLiftsQuarantine) {
  Fixture f;
  Supervisor s = f.make();
  for (int i = 0; i < 3; ++i) {
    s.started();
    s.ended(Fixture::crash());
  }
  ASSERT_TRUE(s.quarantined());
  f.files["/p/a.plugin"].mtime_ns = 2;
  f.clock.advance(seconds(1));
  const auto step = s.poll(nullptr, {});
  EXPECT_EQ(step.action, Action::kStart);
  EXPECT_TRUE(step.files_changed);
  EXPECT_FALSE(s.poll(nullptr, {}).files_changed) << "reported once";
  EXPECT_FALSE(s.quarantined());
  EXPECT_EQ(s.restarts().consecutive_failures(), 0);
}

TEST(Supervisor, ARunThatAnsweredEventsIsNotACrashLoop) {
  // A leaking plugin restarted at its memory limit, again and again, handles events in
  // between: it must not be quarantined, and each restart waits only the first backoff.
  Fixture f;
  Supervisor s = f.make();
  for (int i = 0; i < 10; ++i) {
    s.started();
    s.answered();
    s.ended(Fixture::crash());
    ASSERT_FALSE(s.quarantined()) << "run " << i;
    EXPECT_EQ(s.next_poll(nullptr), f.clock.now() + milliseconds(500));
    f.clock.advance(milliseconds(500));
    ASSERT_EQ(s.poll(nullptr, {}).action, Action::kStart);
  }
  // Runs that answer nothing are a crash loop again.
  for (int i = 0; i < 3; ++i) {
    s.started();
    s.ended(Fixture::crash());
    f.clock.advance(seconds(10));
    s.poll(nullptr, {});
  }
  EXPECT_TRUE(s.quarantined());
}

TEST(Supervisor, AReloadLiftsQuarantineAndItsRestartsNeverCount) {
  Fixture f;
  Supervisor s = f.make();
  for (int i = 0; i < 3; ++i) {
    s.started();
    s.ended(Fixture::crash());
  }
  ASSERT_TRUE(s.quarantined());
  s.reload();  // `sgeventd reload` brings a quarantined plugin back
  EXPECT_FALSE(s.quarantined());
  EXPECT_EQ(s.poll(nullptr, {}).action, Action::kStart);
  // A storm of reloads, each ending the worker badly (killed mid-handshake): none counts.
  for (int i = 0; i < 20; ++i) {
    s.started();
    s.reload();
    s.ended(Fixture::crash());
    ASSERT_FALSE(s.quarantined()) << "reload " << i;
    ASSERT_EQ(s.poll(nullptr, {}).action, Action::kStart) << "restarts at once";
  }
  EXPECT_EQ(s.restarts().consecutive_failures(), 0);
}

TEST(Supervisor, AChangedFileRestartsARunningWorkerWithoutCountingAFailure) {
  Fixture f;
  Supervisor s = f.make();
  s.started();
  f.clock.advance(milliseconds(500));
  f.files["/p/a.plugin"].size = 11;
  EXPECT_EQ(f.poll_running(s).action, Action::kNone) << "files are checked once a second";
  f.clock.advance(milliseconds(500));
  const auto step = f.poll_running(s);
  EXPECT_EQ(step.action, Action::kRestart);
  EXPECT_TRUE(step.files_changed);
  EXPECT_EQ(f.poll_running(s).action, Action::kNone) << "asked once";
  s.ended(SessionEnd{});  // it said bye
  EXPECT_EQ(s.poll(nullptr, {}).action, Action::kStart);
  EXPECT_EQ(s.restarts().consecutive_failures(), 0);
}

TEST(Supervisor, APlannedRestartThatEndsBadlyStillRestartsAtOnce) {
  Fixture f;
  Supervisor s = f.make();
  s.started();
  f.files["/p/a.plugin"].inode = 9;
  f.clock.advance(seconds(1));
  ASSERT_EQ(f.poll_running(s).action, Action::kRestart);
  s.ended(Fixture::crash());  // killed after the shutdown grace
  EXPECT_EQ(s.poll(nullptr, {}).action, Action::kStart);
}

}  // namespace
}  // namespace sgeventd::workers
