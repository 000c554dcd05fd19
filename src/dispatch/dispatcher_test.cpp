// The dispatcher without processes (DESIGN.md section 4): workers in memory
// (workers/fake_worker_host.h), a manual clock, the in-memory state store and catch-up reads
// answered at once. Each test drives the dispatcher pass by pass and checks what every plugin
// ran and what the state says; minutes of manual time take milliseconds.
#include "dispatch/dispatcher.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "dispatch/plugin_start.h"
#include "state/memory_state_store.h"
#include "workers/fake_worker_host.h"

namespace sgeventd::dispatch {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using workers::FakePlugin;
using workers::FakeRun;

// Steady and wall time that move together, only when told.
class TestClock final : public Clock {
 public:
  time_point now() const override { return now_; }
  void sleep_for(milliseconds d) override { now_ += d; }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::time_point(
               std::chrono::sys_days{std::chrono::year{2026} / 12 / 1}) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - start_);
  }
  void advance(milliseconds d) { now_ += d; }

 private:
  time_point start_{std::chrono::hours(1)};
  time_point now_{start_};
};

Value event(std::int64_t id) {
  Dict e;
  e["id"] = static_cast<long long>(id);
  e["event_type"] = "Shotgun_Shot_Change";
  e["attribute_name"] = "sg_status_list";
  return Value(std::move(e));
}

workers::CallbackInfo callback(bool stop_on_error = false) {
  workers::CallbackInfo c;
  c.name = "run";
  c.stop_on_error = stop_on_error;
  return c;
}

// Catch-up reads from the test's site, answered at once on the dispatcher's thread.
class SiteReads final : public source::CatchUpService {
 public:
  explicit SiteReads(const std::set<std::int64_t>& site) : site_(site) {}
  void attach(Dispatcher& d) { dispatcher_ = &d; }
  void request(source::CatchUpRequest r) override {
    source::CatchUpResult page;
    page.request = r;
    page.covered = r.upto;
    for (auto it = site_.upper_bound(r.after); it != site_.end() && *it <= r.upto; ++it) {
      if (page.events.size() == static_cast<std::size_t>(r.limit)) {
        page.covered = *std::prev(it);
        break;
      }
      page.events.push_back(event(*it));
    }
    ++reads;
    dispatcher_->deliver_catch_up(std::move(page));
  }
  int reads = 0;

 private:
  const std::set<std::int64_t>& site_;
  Dispatcher* dispatcher_ = nullptr;
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    options_.queue_size = 50;
    options_.batch_size = 20;
    options_.checkpoint_interval = 1000ms;
    options_.shutdown_grace = 2000ms;
    options_.supervisor.restart.initial_backoff = 100ms;
  }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sgeventd-dispatcher-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    log::LoggingOptions lo;
    lo.log_path = dir_;
    lo.mode = 0;
    auto opened = log::Logging::open(lo);
    ASSERT_TRUE(opened.has_value()) << opened.error();
    logging_ = std::move(*opened);
  }

  void TearDown() override {
    if (dispatcher_ && !stopped_) stop();
    std::filesystem::remove_all(dir_);
  }

  void plugin(const std::string& name, FakePlugin p = {}) {
    if (p.callbacks.empty()) p.callbacks.push_back(callback());
    host_.set_plugin(name, std::move(p));
    WorkerDefinition def;
    def.id = "/plugins/" + name + ".py";
    def.plugins.push_back({name, def.id, ""});
    defs_.push_back(std::move(def));
  }

  void start(std::int64_t feed_head = 0) {
    dispatcher_ =
        std::make_unique<Dispatcher>(options_, store_, *logging_, feed_head, host_, clock_);
    for (auto& def : defs_) {
      std::map<std::string, PluginStart> starts;
      for (const auto& ref : def.plugins) {
        auto d = decide_start(store_, {ref.path, ref.name}, feed_head, state::wall_now(),
                              options_.backlog_timeout);
        ASSERT_TRUE(d.has_value());
        ASSERT_TRUE(store_.commit(d->writes).has_value());
        starts[ref.name] = d->start;
      }
      dispatcher_->add_worker(def, starts);
    }
    reads_.attach(*dispatcher_);
    dispatcher_->set_catch_up_reader(&reads_);
    ASSERT_TRUE(run_until([this] { return dispatcher_->wait_initial_loads(0ms); }));
  }

  // New events on the shared feed, ids from..to (all of them on the site).
  void feed(std::int64_t from, std::int64_t to, std::vector<std::int64_t> late = {}) {
    source::FeedBatch b;
    for (std::int64_t id : late) {
      site_.insert(id);
      b.events.push_back({id, true, event(id)});
    }
    for (std::int64_t id = from; id <= to; ++id) {
      site_.insert(id);
      b.events.push_back({id, false, event(id)});
      b.head = id;
    }
    dispatcher_->deliver(std::move(b));
  }

  // Passes until `done` (at most `limit` of manual time).
  bool run_until(const std::function<bool()>& done, milliseconds limit = 600'000ms) {
    const auto deadline = clock_.now() + limit;
    while (!done()) {
      if (clock_.now() > deadline) return false;
      if (!dispatcher_->step()) return false;
      look_again();
    }
    return true;
  }

  // What the poller does before each poll: the ids the dispatcher asks for again, found on
  // the site, come as late events.
  void look_again() {
    source::FeedBatch b;
    for (const source::GapRange& g : dispatcher_->take_ids_to_look_for()) {
      for (auto it = site_.lower_bound(g.first); it != site_.end() && *it <= g.last; ++it) {
        b.events.push_back({*it, true, event(*it)});
      }
    }
    if (b.events.empty()) return;
    b.head = *site_.rbegin();
    dispatcher_->deliver(std::move(b));
  }

  // An operator's request, answered at the next pass.
  ControlAnswer ask(ControlRequest r) {
    auto answer = dispatcher_->control(std::move(r));
    if (!run_until([&] { return answer.wait_for(0ms) == std::future_status::ready; })) {
      ADD_FAILURE() << "the dispatcher did not answer";
      return {ControlAnswer::Code::kUnavailable, "no answer", {}};
    }
    return answer.get();
  }

  void stop() {
    dispatcher_->request_stop();
    EXPECT_FALSE(dispatcher_->step());
    dispatcher_->drain_and_stop();
    stopped_ = true;
  }

  std::vector<std::int64_t> ran(const std::string& plugin) const { return host_.ran_by(plugin); }
  bool ran_all(const std::string& plugin, std::int64_t to) const {
    std::set<std::int64_t> got;
    for (auto id : ran(plugin)) got.insert(id);
    for (std::int64_t id = 1; id <= to; ++id) {
      if (!got.count(id)) return false;
    }
    return true;
  }
  std::int64_t cursor(const std::string& name) {
    auto row = store_.plugin({"/plugins/" + name + ".py", name});
    EXPECT_TRUE(row.has_value() && row->has_value());
    return row && *row ? (*row)->cursor.value_or(-1) : -1;
  }
  std::string plugin_state(const std::string& name) const {
    const Value status = dispatcher_->status();
    for (const Value& p : status["plugins"].as_list()) {
      if (*p["name"].if_string() == name) return *p["state"].if_string();
    }
    return "";
  }
  // Ids that ran more than once.
  std::vector<std::int64_t> twice(const std::string& plugin) const {
    std::multiset<std::int64_t> all;
    for (auto id : ran(plugin)) all.insert(id);
    std::vector<std::int64_t> out;
    for (auto id : std::set<std::int64_t>(all.begin(), all.end())) {
      if (all.count(id) > 1) out.push_back(id);
    }
    return out;
  }

  TestClock clock_;
  workers::FakeWorkerHost host_{clock_, [this](milliseconds d) { clock_.advance(d); }};
  state::MemoryStateStore store_{
      [this] { return std::chrono::floor<milliseconds>(clock_.wall_now()); }};
  std::set<std::int64_t> site_;
  SiteReads reads_{site_};
  std::filesystem::path dir_;
  std::unique_ptr<log::Logging> logging_;
  DispatcherOptions options_;
  std::vector<WorkerDefinition> defs_;
  std::unique_ptr<Dispatcher> dispatcher_;
  bool stopped_ = false;
};

TEST_F(DispatcherTest, EveryPluginGetsEveryEventInOrderAndTheCursorsAreCommitted) {
  plugin("a");
  plugin("b");
  start();
  feed(1, 30);
  ASSERT_TRUE(run_until([&] { return ran_all("a", 30) && ran_all("b", 30); }));
  stop();
  for (const char* p : {"a", "b"}) {
    std::vector<std::int64_t> expected;
    for (std::int64_t id = 1; id <= 30; ++id) expected.push_back(id);
    EXPECT_EQ(ran(p), expected) << p;
    EXPECT_EQ(cursor(p), 30) << p;
  }
}

TEST_F(DispatcherTest, AWarmStandbySendsNothingAndRebasesOnTheCursorsItFindsWhenItLeads) {
  bool leading = false;
  options_.may_dispatch = [&leading] { return leading; };
  plugin("a");
  start(10);  // loaded, its start from the state as it was then (the newest event: 10)

  // Meanwhile the leader moved the cursor to 40, and the site reached 50.
  ASSERT_TRUE(store_.commit(state::StateBatch().set_cursor({"/plugins/a.py", "a"}, 40)));
  for (std::int64_t id = 21; id <= 50; ++id) site_.insert(id);
  leading = true;
  auto rebased = dispatcher_->rebase(50, &reads_);
  ASSERT_TRUE(run_until([&] { return rebased.wait_for(0ms) == std::future_status::ready; }));
  const auto r = rebased.get();
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.starts.at("/plugins/a.py").at("a").cursor, 40);
  feed(51, 60);
  ASSERT_TRUE(run_until([&] { return ran("a").size() >= 20; }));
  std::vector<std::int64_t> expected;
  for (std::int64_t id = 41; id <= 60; ++id) expected.push_back(id);
  EXPECT_EQ(ran("a"), expected) << "from the leader's cursor on, once each, nothing before";
  stop();
  EXPECT_EQ(cursor("a"), 60);
}

TEST_F(DispatcherTest, AClosedGateHoldsEveryEventAndTheCursorUntilItOpens) {
  bool open = false;  // a leader whose lease may have run out
  options_.may_dispatch = [&open] { return open; };
  plugin("a");
  start();
  feed(1, 20);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(dispatcher_->step());
  EXPECT_TRUE(ran("a").empty()) << "nothing sent through a closed gate";
  open = true;
  ASSERT_TRUE(run_until([&] { return ran_all("a", 20); }));
  stop();
  EXPECT_EQ(cursor("a"), 20);
}

TEST_F(DispatcherTest, ASlowPluginDoesNotHoldTheFastOnesBack) {
  plugin("fast");
  plugin("slow", {.callbacks = {}, .load_error = {}, .run = [](std::int64_t, bool) {
                    return FakeRun::ok(200ms);
                  }});
  start();
  feed(1, 40);
  const auto t0 = clock_.now();
  ASSERT_TRUE(run_until([&] { return ran_all("fast", 40); }));
  EXPECT_LT(clock_.now() - t0, 2s);  // 40 x 1 ms, not 40 x 200 ms
  EXPECT_LT(ran("slow").size(), 20u);
  ASSERT_TRUE(run_until([&] { return ran_all("slow", 40); }));
  EXPECT_TRUE(twice("slow").empty());
}

TEST_F(DispatcherTest, APluginOverItsQueueLeavesTheFeedCatchesUpAndRejoins) {
  plugin("fast");
  plugin("slow", {.callbacks = {}, .load_error = {}, .run = [](std::int64_t, bool) {
                    return FakeRun::ok(20ms);
                  }});
  start();
  // Far more than its queue (50): it must fall back to its own reads.
  for (std::int64_t from = 1; from <= 300; from += 20) {
    feed(from, from + 19);
    dispatcher_->step();
  }
  ASSERT_TRUE(run_until([&] { return ran_all("fast", 300) && ran_all("slow", 300); }));
  EXPECT_GT(reads_.reads, 0);
  // Then it is back on the feed: new events come without reads of its own.
  const int reads = reads_.reads;
  feed(301, 305);
  ASSERT_TRUE(run_until([&] { return ran_all("slow", 305); }));
  EXPECT_EQ(reads_.reads, reads);
  EXPECT_TRUE(twice("slow").empty());
  EXPECT_TRUE(twice("fast").empty());
  stop();
  EXPECT_EQ(cursor("slow"), 305);
}

TEST_F(DispatcherTest, ADeactivatedPluginComesBackWithTheEventsAndLateEventsItMissed) {
  options_.reactivation = 5000ms;
  bool failing = true;
  plugin(
      "a",
      {.callbacks = {callback(true)}, .load_error = {}, .run = [&failing](std::int64_t id, bool) {
         return id == 5 && failing ? FakeRun::fail() : FakeRun::ok();
       }});
  plugin("b");
  start();
  feed(1, 10);  // 11 is missing: a gap
  feed(12, 20);
  ASSERT_TRUE(run_until([&] { return plugin_state("a") == "deactivated" && ran_all("b", 10); }));
  EXPECT_EQ(ran("a"), (std::vector<std::int64_t>{1, 2, 3, 4}));
  failing = false;
  feed(21, 22, {11});  // 11 comes late while a is away
  ASSERT_TRUE(run_until([&] { return plugin_state("a") == "active" && ran_all("a", 22); }));
  stop();
  EXPECT_EQ(cursor("a"), 22);
  EXPECT_TRUE(twice("a").empty());
  EXPECT_TRUE(twice("b").empty());
  auto row = store_.plugin({"/plugins/a.py", "a"});
  EXPECT_TRUE((*row)->gaps.empty());
}

// A late event below the cursor of a plugin that is away reaches it when it is back: its gap
// waited for it (no expiry while deactivated) and is looked for again.
TEST_F(DispatcherTest, ALateEventBelowTheCursorOfADeactivatedPluginReachesItWhenItIsBack) {
  options_.reactivation = 5000ms;
  bool failing = true;
  plugin(
      "a",
      {.callbacks = {callback(true)}, .load_error = {}, .run = [&failing](std::int64_t id, bool) {
         return id == 21 && failing ? FakeRun::fail() : FakeRun::ok();
       }});
  plugin("b");
  start();
  feed(1, 10);
  feed(12, 20);  // 11 is a gap, below a's cursor once 12..20 are done
  ASSERT_TRUE(run_until([&] { return ran("a").size() == 19; }));
  feed(21, 21);
  ASSERT_TRUE(run_until([&] { return plugin_state("a") == "deactivated"; }));
  failing = false;
  feed(22, 22, {11});  // 11 comes late while a is away: b takes it now
  ASSERT_TRUE(run_until([&] { return ran_all("b", 22); }));
  const auto before = ran("a");
  EXPECT_EQ(std::count(before.begin(), before.end(), 11), 0);
  ASSERT_TRUE(run_until([&] { return ran_all("a", 22); }));
  stop();
  EXPECT_TRUE(twice("a").empty());
  EXPECT_TRUE(twice("b").empty());
  EXPECT_EQ(cursor("a"), 22);
  EXPECT_TRUE((*store_.plugin({"/plugins/a.py", "a"}))->gaps.empty());
}

TEST_F(DispatcherTest, FailuresAreRetriedThenParkedAndTheCursorMovesOn) {
  options_.retry.retries = 2;
  options_.retry.retry_backoff = 1000ms;
  int attempts = 0;
  plugin(
      "a",
      {.callbacks = {callback(false)}, .load_error = {}, .run = [&attempts](std::int64_t id, bool) {
         if (id != 3) return FakeRun::ok();
         ++attempts;
         return FakeRun::fail("ValueError: no such shot");
       }});
  start();
  feed(1, 6);
  ASSERT_TRUE(run_until([&] { return ran_all("a", 2) && ran("a").size() == 5; }));
  EXPECT_EQ(attempts, 3);  // the first try and two retries
  EXPECT_EQ(ran("a"), (std::vector<std::int64_t>{1, 2, 4, 5, 6}));
  stop();
  EXPECT_EQ(cursor("a"), 6);
  auto letters = store_.dead_letters({});
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].event_id, 3);
  EXPECT_NE((*letters)[0].error.find("no such shot"), std::string::npos);
}

TEST_F(DispatcherTest, ACallbackOverItsTimeIsKilledItsEventFailsAndTheWorkerComesBack) {
  options_.supervisor.health.callback_timeout = 2000ms;
  plugin("a", {.callbacks = {callback(false)}, .load_error = {}, .run = [](std::int64_t id, bool) {
                 return id == 2 ? FakeRun::hang() : FakeRun::ok();
               }});
  start();
  feed(1, 5);
  const auto t0 = clock_.now();
  ASSERT_TRUE(run_until([&] { return ran_all("a", 1) && ran("a").size() == 4; }));
  EXPECT_GE(clock_.now() - t0, 2000ms);
  EXPECT_EQ(ran("a"), (std::vector<std::int64_t>{1, 3, 4, 5}));
  EXPECT_EQ(host_.starts("/plugins/a.py"), 2);
  stop();
  EXPECT_EQ(cursor("a"), 5);
  auto letters = store_.dead_letters({});
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].event_id, 2);
  EXPECT_NE((*letters)[0].error.find("TimeoutError"), std::string::npos);
}

TEST_F(DispatcherTest, AWorkerCrashLosesNothingAndResendsOnlyWhatWasInFlight) {
  bool crashed = false;
  plugin("a", {.callbacks = {}, .load_error = {}, .run = [&crashed](std::int64_t id, bool) {
                 if (id == 7 && !crashed) {
                   crashed = true;
                   return FakeRun::crash();
                 }
                 return FakeRun::ok();
               }});
  start();
  feed(1, 20);
  ASSERT_TRUE(run_until([&] { return ran_all("a", 20); }));
  EXPECT_TRUE(crashed);
  EXPECT_EQ(host_.starts("/plugins/a.py"), 2);
  EXPECT_TRUE(twice("a").empty());  // 7 crashed before it ran; nothing ran twice
  // Every event sent twice was in flight at the crash (sent, not answered).
  std::map<std::int64_t, int> sends;
  for (const auto& s : host_.sent()) ++sends[s.id];
  for (const auto& [id, n] : sends) {
    if (n > 1) {
      EXPECT_GE(id, 7);
    }
  }
  stop();
  EXPECT_EQ(cursor("a"), 20);
}

TEST_F(DispatcherTest, AStopLetsWhatIsInFlightFinishAndCommitsIt) {
  plugin("a", {.callbacks = {}, .load_error = {}, .run = [](std::int64_t, bool) {
                 return FakeRun::ok(100ms);
               }});
  start();
  feed(1, 10);
  ASSERT_TRUE(run_until([&] { return !ran("a").empty(); }));
  const auto sent_before = host_.sent().size();
  stop();
  // Nothing new is sent once stopping; what was sent finishes and is committed.
  EXPECT_EQ(host_.sent().size(), sent_before);
  EXPECT_EQ(ran("a").size(), sent_before);
  EXPECT_EQ(cursor("a"), static_cast<std::int64_t>(sent_before));
  EXPECT_EQ(host_.running(), 0u);
}

TEST_F(DispatcherTest, APluginThatFailsToLoadGetsNothingAndHoldsNobodyBack) {
  plugin("broken", {.callbacks = {}, .load_error = "SyntaxError: invalid syntax", .run = {}});
  plugin("ok");
  start();
  feed(1, 5);
  ASSERT_TRUE(run_until([&] { return ran_all("ok", 5); }));
  EXPECT_TRUE(ran("broken").empty());
  EXPECT_EQ(plugin_state("broken"), "not loaded");
  stop();
  EXPECT_EQ(cursor("broken"), 0);  // it resumes where it was once it loads
}

TEST_F(DispatcherTest, ADisabledPluginKeepsItsCursorAndResumesFromItWhenEnabled) {
  plugin("a");
  plugin("b");
  start();
  feed(1, 10);
  ASSERT_TRUE(run_until([&] { return ran_all("a", 10) && ran_all("b", 10); }));
  ControlRequest off{.kind = ControlRequest::Kind::kDisable, .plugin = "a"};
  ControlAnswer a = ask(off);
  EXPECT_EQ(a.code, ControlAnswer::Code::kOk) << a.error;
  EXPECT_EQ(plugin_state("a"), "disabled");
  auto row = store_.plugin({"/plugins/a.py", "a"});
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->status.activity, state::Activity::kDisabled) << "committed at once";
  feed(11, 20);
  ASSERT_TRUE(run_until([&] { return ran_all("b", 20); }));
  EXPECT_EQ(ran("a").size(), 10u);
  EXPECT_EQ(cursor("a"), 10);

  ControlRequest unknown{.kind = ControlRequest::Kind::kEnable, .plugin = "nope"};
  a = ask(unknown);
  EXPECT_EQ(a.code, ControlAnswer::Code::kNotFound);
  EXPECT_EQ(a.body["known_plugins"].as_list().size(), 2u);

  ControlRequest on{.kind = ControlRequest::Kind::kEnable, .plugin = "a"};
  a = ask(on);
  EXPECT_EQ(a.code, ControlAnswer::Code::kOk) << a.error;
  ASSERT_TRUE(run_until([&] { return ran_all("a", 20); }));
  EXPECT_TRUE(twice("a").empty());
  stop();
  EXPECT_EQ(cursor("a"), 20);
}

TEST_F(DispatcherTest, AReplayMovesNoCursorAndItsFailureDeactivatesNothing) {
  int runs_of_3 = 0;
  plugin(
      "a",
      {.callbacks = {callback(true)}, .load_error = {}, .run = [&runs_of_3](std::int64_t id, bool) {
         // Event 3 succeeds the first time and fails when replayed.
         return id == 3 && ++runs_of_3 > 1 ? FakeRun::fail() : FakeRun::ok();
       }});
  plugin("b");
  start();
  feed(1, 5);
  ASSERT_TRUE(run_until([&] { return ran_all("a", 5) && ran_all("b", 5); }));
  ControlRequest r{.kind = ControlRequest::Kind::kReplay, .plugin = "a"};
  r.events = {event(2), event(3)};
  ControlAnswer a = ask(r);
  EXPECT_EQ(a.code, ControlAnswer::Code::kAccepted) << a.error;
  // 2 ran again (ran() lists the runs that succeeded); 3 ran again and failed.
  ASSERT_TRUE(run_until([&] { return ran("a").size() == 6 && runs_of_3 == 2; }));
  EXPECT_EQ(ran("a").back(), 2);
  EXPECT_EQ(ran("b").size(), 5u) << "only the named plugin";
  feed(6, 8);
  ASSERT_TRUE(run_until([&] { return ran_all("a", 8) && ran_all("b", 8); }));
  EXPECT_EQ(plugin_state("a"), "active") << "a replay's failure deactivates nothing";
  stop();
  EXPECT_EQ(cursor("a"), 8);
  EXPECT_TRUE(store_.dead_letters({})->empty()) << "and parks nothing";
}

TEST_F(DispatcherTest, APluginItsWorkerSkipsIsDeactivatedSoItsCursorWaits) {
  // The worker holds the plugin stopped and skips it from event 4 on, though the daemon saw no
  // failure: the daemon deactivates it too, rather than take 4 and later as done.
  plugin("a", {.callbacks = {callback(true)}, .load_error = {}, .run = [](std::int64_t id, bool) {
                 return id >= 4 ? FakeRun::skipped() : FakeRun::ok();
               }});
  plugin("b");
  start();
  feed(1, 6);
  ASSERT_TRUE(run_until([&] { return plugin_state("a") == "deactivated" && ran_all("b", 6); }));
  stop();
  EXPECT_EQ(cursor("a"), 3) << "its cursor waits before the first skipped event";
  EXPECT_EQ(cursor("b"), 6);
  EXPECT_TRUE(store_.dead_letters({})->empty()) << "a skip is no failure: nothing parked";
}

TEST_F(DispatcherTest, ARequestLeftAtTheStopIsAnsweredUnavailable) {
  plugin("a");
  start();
  auto answer = dispatcher_->control({.kind = ControlRequest::Kind::kReload});
  stop();
  ASSERT_EQ(answer.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(answer.get().code, ControlAnswer::Code::kUnavailable);
  auto late = dispatcher_->control({.kind = ControlRequest::Kind::kReload});
  ASSERT_EQ(late.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(late.get().code, ControlAnswer::Code::kUnavailable);
}

}  // namespace
}  // namespace sgeventd::dispatch
