#include "source/poller.h"

#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>

#include <condition_variable>
#include <mutex>

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

}  // namespace
}  // namespace sgeventd::source
