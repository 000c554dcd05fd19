// The engine on its seams (engine.h, EngineSeams): the real startup, discovery, poll, dispatch
// and stop, against a sandbox site on loopback, with workers in memory and the state in
// memory. What processes and SQLite add is tested by the daemon's integration suites; these
// tests check the engine's own decisions in a second or so each.
#include "daemon/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "sgeventd/clock.h"
#include "sgeventd/sandbox.h"
#include "sgeventd/sg/client.h"
#include "state/memory_state_store.h"
#include "workers/fake_worker_host.h"

namespace sgeventd::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sgeventd-engine-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "plugins");
    // Discovery finds the files; the fake host decides what their plugins do.
    std::ofstream(dir_ / "plugins" / "alpha.py") << "# fake\n";
    std::ofstream(dir_ / "plugins" / "beta.py") << "# fake\n";
    sandbox::SandboxOptions o;
    ASSERT_TRUE(site_.start(o).has_value());
  }
  void TearDown() override { fs::remove_all(dir_); }

  Config config() {
    const std::string text =
        "[daemon]\npidFile = " + (dir_ / "sgeventd.pid").string() +
        "\neventIdFile = " + (dir_ / "state.db").string() + "\nlogPath = " + dir_.string() +
        "\nfetch_interval = 0.05\n[shotgun]\nserver = " + site_.url() +
        "\nname = sandbox\nkey = sandbox-key\n[plugins]\npaths = " + (dir_ / "plugins").string() +
        "\n";
    auto load = parse_config(text, "engine_test.conf", {});
    EXPECT_TRUE(load.ok());
    return *load.config;
  }

  // Writes `shots` Shots through the api3 client; returns the site's newest event id.
  std::int64_t write_shots(int shots) {
    sg::ConnectionSettings s;
    s.base_url = site_.url();
    s.script_name = "sandbox";
    s.script_key = "sandbox-key";
    auto client = sg::Client::create(std::move(s));
    EXPECT_TRUE(client.has_value());
    for (int i = 0; i < shots; ++i) {
      EXPECT_TRUE(client->create("Shot", Dict{{"code", "sh" + std::to_string(i)}}).has_value());
    }
    return site_.last_event_id();
  }

  // Runs the engine on its own thread until `done` holds (or 20 s pass), then stops it the
  // way an operator can, by removing the pid file. Returns the exit code.
  int run_until(const Config& c, EngineSeams seams, const std::function<bool()>& done) {
    int code = -1;
    std::thread engine([&] { code = run_daemon(c, RunOptions{.foreground = false}, seams); });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    // The pid file appears at startup; removing it before then would not stop the engine.
    while (!fs::exists(c.daemon.pid_file) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    fs::remove(c.daemon.pid_file);
    engine.join();
    return code;
  }

  // Both plugins' start cursors are committed: what the site writes from now on is theirs
  // (the host is the engine's thread's; the store is safe to read from here).
  bool started() { return cursor("alpha").has_value() && cursor("beta").has_value(); }

  std::optional<std::int64_t> cursor(const std::string& plugin) {
    auto p = store_.plugin({(dir_ / "plugins" / (plugin + ".py")).string(), plugin});
    if (!p || !*p) return std::nullopt;
    return (*p)->cursor;
  }

  static void real_sleep(std::chrono::milliseconds d) {
    // Short slices: a wake-up of the host is seen within one.
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(d, 2ms));
  }

  fs::path dir_;
  sandbox::Sandbox site_;
  state::MemoryStateStore store_;
};

TEST_F(EngineTest, DeliversEveryEventToEveryPluginAndCommitsTheCursors) {
  workers::FakeWorkerHost host(Clock::real(), real_sleep);
  const Config c = config();
  std::int64_t newest = 0;
  const int code = run_until(c, {.workers = &host, .store = &store_}, [&] {
    if (newest == 0 && started()) {
      newest = write_shots(5);
    }
    return newest > 0 && cursor("alpha") == newest && cursor("beta") == newest;
  });
  EXPECT_EQ(code, kRunOk);
  ASSERT_GT(newest, 0);
  EXPECT_EQ(cursor("alpha"), newest);
  EXPECT_EQ(cursor("beta"), newest);
  // A plugin starts at the site's newest event, as shotgunEvents does: only what came after.
  const auto alpha = host.ran_by("alpha");
  const auto beta = host.ran_by("beta");
  EXPECT_FALSE(alpha.empty());
  EXPECT_EQ(alpha, beta);
  EXPECT_EQ(alpha.back(), newest);
  EXPECT_TRUE(std::is_sorted(alpha.begin(), alpha.end()));
  EXPECT_EQ(std::adjacent_find(alpha.begin(), alpha.end()), alpha.end()) << "a duplicate";
}

TEST_F(EngineTest, ARestartResumesFromTheCommittedCursorsWithoutRepeats) {
  const Config c = config();
  std::int64_t first = 0;
  {
    workers::FakeWorkerHost host(Clock::real(), real_sleep);
    run_until(c, {.workers = &host, .store = &store_}, [&] {
      if (first == 0 && started()) first = write_shots(2);
      return first > 0 && cursor("alpha") == first && cursor("beta") == first;
    });
    ASSERT_EQ(cursor("alpha"), first);
  }
  // Written while no daemon runs: the next one must deliver them, and nothing before.
  const std::int64_t second = write_shots(2);
  workers::FakeWorkerHost host(Clock::real(), real_sleep);
  EXPECT_EQ(run_until(c, {.workers = &host, .store = &store_},
                      [&] { return cursor("alpha") == second && cursor("beta") == second; }),
            kRunOk);
  const auto alpha = host.ran_by("alpha");
  ASSERT_FALSE(alpha.empty());
  EXPECT_EQ(alpha.front(), first + 1);
  EXPECT_EQ(alpha.back(), second);
  EXPECT_EQ(alpha, host.ran_by("beta"));
}

TEST_F(EngineTest, AStateThatCannotBeWrittenStopsStartupBeforeAnyWorkerRuns) {
  workers::FakeWorkerHost host(Clock::real(), real_sleep);
  store_.fail_commits(true);
  const Config c = config();
  EXPECT_EQ(run_daemon(c, RunOptions{.foreground = false}, {.workers = &host, .store = &store_}),
            kRunFailed);
  EXPECT_TRUE(host.sent().empty());
  EXPECT_EQ(host.running(), 0u);
  EXPECT_EQ(cursor("alpha"), std::nullopt);
}

}  // namespace
}  // namespace sgeventd::daemon
