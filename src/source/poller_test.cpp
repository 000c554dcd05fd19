#include "source/poller.h"

#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "source/fake_event_log.h"

namespace sgeventd::source {
namespace {

using std::chrono::milliseconds;

TEST(RetryPause, DoublesFromTheFirstPauseUpToTheCap) {
  PollerOptions o;
  o.first_retry = milliseconds(250);
  o.max_retry = milliseconds(3000);
  o.jitter = 0;
  EXPECT_EQ(retry_pause(o, 1, 0.5), milliseconds(250));
  EXPECT_EQ(retry_pause(o, 2, 0.5), milliseconds(500));
  EXPECT_EQ(retry_pause(o, 4, 0.5), milliseconds(2000));
  EXPECT_EQ(retry_pause(o, 5, 0.5), milliseconds(3000));
  EXPECT_EQ(retry_pause(o, 1000, 0.5), milliseconds(3000));  // no overflow
}

TEST(RetryPause, JitterStaysWithinItsBand) {
  PollerOptions o;
  o.first_retry = milliseconds(1000);
  o.jitter = 0.2;
  EXPECT_EQ(retry_pause(o, 1, 0.0), milliseconds(800));
  EXPECT_EQ(retry_pause(o, 1, 0.5), milliseconds(1000));
  EXPECT_GE(retry_pause(o, 1, 0.999), milliseconds(1199));
}

// Collects what the poller hands over; always hungry.
class Collector final : public FeedSink {
 public:
  void deliver(FeedBatch batch) override {
    std::lock_guard lock(mutex);
    for (auto& e : batch.events) ids.push_back(e.id);
    cv.notify_all();
  }
  bool wait_for_demand(milliseconds) override { return true; }
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::int64_t> ids;
};

TEST(SlowRead, WarnsThenErrsOnceEach) {
  PollerOptions o;
  o.slow_read_warn = std::chrono::milliseconds(10'000);
  o.slow_read_error = std::chrono::milliseconds(20'000);
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(slow_read_level(o, ms(9'999), 0), 0);
  EXPECT_EQ(slow_read_level(o, ms(10'000), 0), 1);
  EXPECT_EQ(slow_read_level(o, ms(15'000), 1), 0) << "warned once";
  EXPECT_EQ(slow_read_level(o, ms(20'000), 1), 2);
  EXPECT_EQ(slow_read_level(o, ms(90'000), 2), 0) << "erred once";
  EXPECT_EQ(slow_read_level(o, ms(30'000), 0), 2) << "first seen past both: the error alone";
}

TEST(Poller, RetriesThroughFailuresAndStopsPromptlyInABackoff) {
  FakeEventLog log(Clock::real());
  for (int id = 1; id <= 5; ++id) log.add(id);
  log.fail_next(3);
  Collector sink;
  EventSource source(log, Clock::real(), SourceOptions{}, 0);
  PollerOptions o;
  o.first_retry = milliseconds(1);
  o.max_retry = milliseconds(2);
  o.fetch_interval = milliseconds(60'000);  // only a stop can end this sleep
  auto logger =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  Poller poller(source, sink, o, logger);
  poller.start();
  {
    std::unique_lock lock(sink.mutex);
    ASSERT_TRUE(
        sink.cv.wait_for(lock, std::chrono::seconds(10), [&] { return sink.ids.size() == 5; }));
  }
  EXPECT_EQ(sink.ids, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(poller.failures(), 0);
  const auto before = std::chrono::steady_clock::now();
  poller.stop();  // in the middle of the 60 s fetch_interval
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
}

std::shared_ptr<spdlog::logger> quiet_logger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// Waits up to 10 s for `done`, checking every millisecond.
template <typename F>
bool eventually(F done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// A poller on a log holding event 1, whose fixed poll is a minute away once it has read it:
// only a webhook can explain another read.
struct WebhookRig {
  WebhookRig() {
    log.add(1);
    PollerOptions o;
    o.fetch_interval = milliseconds(60'000);
    poller = std::make_unique<Poller>(source, sink, o, quiet_logger());
    poller->start();
  }
  // The first read, and the fixed poll's read again at once after its events.
  bool settled() {
    return eventually([&] { return poller->polls() >= 2; });
  }
  FakeEventLog log{Clock::real()};
  Collector sink;
  EventSource source{log, Clock::real(), SourceOptions{}, 0};
  std::unique_ptr<Poller> poller;
};

TEST(Poller, AThousandWebhooksInASecondCauseABoundedNumberOfReads) {
  WebhookRig rig;
  Poller& poller = *rig.poller;
  ASSERT_TRUE(rig.settled());
  const std::int64_t before = poller.polls();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    poller.webhook(1);  // an id the feed has read: no chase
    std::this_thread::sleep_for(std::chrono::microseconds(1000));
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(eventually([&] { return poller.webhook_reads() >= 1; }));
  std::this_thread::sleep_for(Poller::kWebhookSpacing * 2);  // the last one's read
  const std::int64_t reads = poller.polls() - before;
  EXPECT_GE(reads, 2);
  EXPECT_LE(reads, elapsed / Poller::kWebhookSpacing + 2) << "one read per 100 ms at most";
  EXPECT_EQ(reads, poller.webhook_reads());
}

TEST(Poller, AWebhookForAnEventNotReadableYetIsChasedUntilItIs) {
  FakeEventLog log(Clock::real());
  for (int id = 1; id <= 3; ++id) log.add(id);
  log.add(4, std::chrono::system_clock::now() + milliseconds(400));  // committed, not readable
  Collector sink;
  EventSource source(log, Clock::real(), SourceOptions{}, 0);
  PollerOptions o;
  o.fetch_interval = milliseconds(60'000);  // without the chase, 4 would wait a minute
  Poller poller(source, sink, o, quiet_logger());
  poller.start();
  {
    std::unique_lock lock(sink.mutex);
    ASSERT_TRUE(
        sink.cv.wait_for(lock, std::chrono::seconds(10), [&] { return sink.ids.size() == 3; }));
  }
  poller.webhook(4);
  std::unique_lock lock(sink.mutex);
  ASSERT_TRUE(
      sink.cv.wait_for(lock, std::chrono::seconds(10), [&] { return sink.ids.size() == 4; }));
  EXPECT_EQ(sink.ids.back(), 4);
  EXPECT_EQ(poller.webhook_ids_unseen(), 0);
}

TEST(Poller, AWebhookForAnEventThatNeverAppearsCostsAFewReadsAndInventsNothing) {
  WebhookRig rig;
  Poller& poller = *rig.poller;
  Collector& sink = rig.sink;
  ASSERT_TRUE(rig.settled());
  const std::int64_t before = poller.polls();
  poller.webhook(99);
  ASSERT_TRUE(eventually([&] { return poller.webhook_ids_unseen() == 1; }));
  EXPECT_EQ(poller.polls() - before, 1 + Poller::kChaseReads);
  std::lock_guard lock(sink.mutex);
  EXPECT_EQ(sink.ids, (std::vector<std::int64_t>{1}));
}

TEST(Poller, AdaptiveLeavesTheReadAfterEventsToItsSchedule) {
  FakeEventLog log(Clock::real());
  for (int id = 1; id <= 3; ++id) log.add(id);
  Collector sink;
  EventSource source(log, Clock::real(), SourceOptions{}, 0);
  PollerOptions o;
  o.fetch_interval = milliseconds(60'000);
  o.adaptive = true;
  Poller poller(source, sink, o, quiet_logger());
  poller.start();
  ASSERT_TRUE(eventually([&] { return poller.planned_pause().count() > 0; }));
  // A fresh start has saved no credit: the quick read after events (min_interval, 6 s) must
  // wait for the next one, a fetch_interval on, and nothing is read at once.
  EXPECT_GT(poller.planned_pause(), milliseconds(50'000));  // less the read's time
  EXPECT_LE(poller.planned_pause(), milliseconds(60'000));
  EXPECT_EQ(poller.polls(), 1) << "no read at once after a page that was not full";
}

// A sink that wants nothing more until told.
class SlowSink final : public FeedSink {
 public:
  void deliver(FeedBatch batch) override {
    std::lock_guard lock(mutex);
    for (auto& e : batch.events) ids.push_back(e.id);
  }
  bool wait_for_demand(milliseconds max_wait) override {
    std::this_thread::sleep_for(std::min(max_wait, milliseconds(5)));
    return hungry.load();
  }
  std::atomic<bool> hungry{false};
  std::mutex mutex;
  std::vector<std::int64_t> ids;
};

TEST(Poller, AdaptiveReadsNoMoreWhileTheConsumersWantNoMore) {
  FakeEventLog log(Clock::real());
  log.add(1);
  log.add(2, std::chrono::system_clock::now() + milliseconds(50));
  SlowSink sink;
  EventSource source(log, Clock::real(), SourceOptions{}, 0);
  PollerOptions o;
  o.fetch_interval = milliseconds(20);  // quick reads 2 ms apart, if it read
  o.adaptive = true;
  Poller poller(source, sink, o, quiet_logger());
  poller.start();
  ASSERT_TRUE(eventually([&] { return poller.polls() >= 1; }));
  std::this_thread::sleep_for(milliseconds(300));  // event 2 is readable meanwhile
  EXPECT_EQ(poller.polls(), 1) << "read again while the consumers were full";
  sink.hungry = true;
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(sink.mutex);
    return sink.ids.size() == 2;
  }));
}

TEST(Poller, WebhooksDoNotCutAFailureBackoffShort) {
  FakeEventLog log(Clock::real());
  log.add(1);
  log.fail_next(1000);
  Collector sink;
  EventSource source(log, Clock::real(), SourceOptions{}, 0);
  PollerOptions o;
  o.first_retry = milliseconds(3000);
  o.jitter = 0;
  Poller poller(source, sink, o, quiet_logger());
  poller.start();
  ASSERT_TRUE(eventually([&] { return poller.failures() == 1; }));
  for (int i = 0; i < 100; ++i) {  // a second of webhooks while the site fails
    poller.webhook(1);
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(poller.failures(), 1) << "the 3 s backoff was cut short";
  EXPECT_EQ(poller.polls(), 1);
}

}  // namespace
}  // namespace sgeventd::source
