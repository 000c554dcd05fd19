#include "source/catch_up_reader.h"

#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "fake_transport.h"
#include "source/fake_event_log.h"

namespace sgeventd::source {
namespace {

using std::chrono::milliseconds;

// Collects answers; waits are recorded and return at once (no sleeping in unit tests).
struct Recorder {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<CatchUpResult> results;
  std::vector<milliseconds> pauses;

  bool wait_for_results(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return results.size() >= n; });
  }
};

PollerOptions backoff() {
  PollerOptions o;
  o.first_retry = milliseconds(250);
  o.max_retry = milliseconds(2000);
  o.jitter = 0;
  return o;
}

std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

TEST(CatchUpReader, AFailingReadIsRetriedWithThePollsBackoffUntilItAnswers) {
  testing::FakeClock clock;
  FakeEventLog log(clock);
  for (std::int64_t id = 1; id <= 20; ++id) log.add(id);
  log.fail_next(5);
  Recorder rec;
  CatchUpReader reader(
      log,
      [&rec](CatchUpResult r) {
        std::lock_guard lock(rec.mutex);
        rec.results.push_back(std::move(r));
        rec.cv.notify_all();
      },
      backoff(), quiet(), nullptr,
      [&rec](milliseconds pause) {
        std::lock_guard lock(rec.mutex);
        rec.pauses.push_back(pause);
        return true;
      });
  reader.request(CatchUpRequest{3, 7, 5, 15, 100});
  ASSERT_TRUE(rec.wait_for_results(1));
  std::lock_guard lock(rec.mutex);
  ASSERT_EQ(rec.results.size(), 1u) << "failures are not delivered";
  EXPECT_EQ(rec.results[0].request.worker, 3u);
  EXPECT_EQ(rec.results[0].request.generation, 7u);
  ASSERT_EQ(rec.results[0].events.size(), 10u);
  EXPECT_EQ(rec.results[0].events.front()["id"], Value(6));
  EXPECT_EQ(rec.pauses,
            (std::vector<milliseconds>{milliseconds(250), milliseconds(500), milliseconds(1000),
                                       milliseconds(2000), milliseconds(2000)}));
  EXPECT_EQ(reader.failures(), 5);
  EXPECT_EQ(reader.requests(), 6);
}

TEST(CatchUpReader, StopEndsABackoffAndDeliversNothing) {
  testing::FakeClock clock;
  FakeEventLog log(clock);
  log.fail_next(1000);
  Recorder rec;
  std::mutex paused_mutex;
  std::condition_variable paused_cv;
  bool paused = false;
  {
    CatchUpReader reader(
        log,
        [&rec](CatchUpResult r) {
          std::lock_guard lock(rec.mutex);
          rec.results.push_back(std::move(r));
        },
        backoff(), quiet(), nullptr,
        [&](milliseconds) {
          std::lock_guard lock(paused_mutex);
          paused = true;
          paused_cv.notify_all();
          return false;  // as if stop() came during the pause
        });
    reader.request(CatchUpRequest{0, 1, 0, 10, 100});
    std::unique_lock lock(paused_mutex);
    ASSERT_TRUE(paused_cv.wait_for(lock, std::chrono::seconds(10), [&] { return paused; }));
  }
  EXPECT_TRUE(rec.results.empty());
}

TEST(CatchUpReader, TheRealPauseIsCutShortByStop) {
  testing::FakeClock clock;
  FakeEventLog log(clock);
  log.fail_next(1000);
  PollerOptions slow = backoff();
  slow.first_retry = slow.max_retry = milliseconds(60'000);
  auto reader = std::make_unique<CatchUpReader>(
      log, [](CatchUpResult) {}, slow, quiet());
  reader->request(CatchUpRequest{0, 1, 0, 10, 100});
  while (reader->failures() == 0) std::this_thread::yield();
  const auto started = std::chrono::steady_clock::now();
  reader.reset();  // stop() inside a 60 s pause
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace sgeventd::source
