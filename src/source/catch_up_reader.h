// Reads for workers that left the shared feed (DESIGN.md section 4): a worker that fell more
// than its queue behind, or whose plugin came back after being deactivated, catches up with
// its own reads of the event log, at its own pace, on this thread, so the poll that feeds the
// others never waits for it. Reads are bounded above by what the feed has already passed, so
// a worker's reads and the feed never deliver the same event twice.
//
// A read that fails is retried here with the poll's backoff (retry_pause: capped, exponential,
// with jitter) until it succeeds or the reader stops: during an outage the catching-up workers
// wait as the poll does instead of asking the site again every second. Only answers are
// delivered; a stop drops what is pending.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <spdlog/logger.h>

#include "sgeventd/source/event_log_reader.h"
#include "source/poller.h"

namespace sgeventd::source {

struct CatchUpRequest {
  std::size_t worker = 0;        // the dispatcher's index
  std::uint64_t generation = 0;  // answers to an older request are ignored
  std::int64_t after = 0;        // ids > after ...
  std::int64_t upto = 0;         // ... and <= upto
  int limit = 500;
};

struct CatchUpResult {
  CatchUpRequest request;
  List events;
  // Server-side filters: ids in the range that exist but were hidden (not holes), ascending.
  std::vector<std::int64_t> hidden;
  // Every id up to here has been read (request.upto, or less when a page was full).
  std::int64_t covered = 0;
};

// Where the dispatcher asks for catch-up reads (a CatchUpReader; tests answer at once).
class CatchUpService {
 public:
  virtual ~CatchUpService() = default;
  // Reads the range on another thread; the answer comes back through the Deliver callback.
  virtual void request(CatchUpRequest r) = 0;
};

class CatchUpReader final : public CatchUpService {
 public:
  using Deliver = std::function<void(CatchUpResult)>;
  // Waits `pause` unless the reader stops first (then false). Tests replace it.
  using Pause = std::function<bool(std::chrono::milliseconds)>;

  // `reader` (with its own connection) is used only from this reader's thread. `backoff`:
  // the poll's retry settings (first_retry, max_retry, jitter, max_conn_retries).
  CatchUpReader(EventLogReader& reader, Deliver deliver, PollerOptions backoff,
                std::shared_ptr<spdlog::logger> log,
                std::shared_ptr<std::atomic<bool>> cancel = nullptr, Pause pause = nullptr);
  ~CatchUpReader();  // stops and joins
  CatchUpReader(const CatchUpReader&) = delete;
  CatchUpReader& operator=(const CatchUpReader&) = delete;

  void request(CatchUpRequest r) override;
  void stop();
  std::int64_t requests() const { return requests_.load(); }
  std::int64_t failures() const { return failures_.load(); }

 private:
  void run();
  bool wait(std::chrono::milliseconds pause);
  sg::Result<CatchUpResult> read(const CatchUpRequest& r);

  EventLogReader& reader_;
  Deliver deliver_;
  PollerOptions backoff_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Pause pause_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<CatchUpRequest> queue_;
  bool stopping_ = false;
  std::atomic<std::int64_t> requests_{0};
  std::atomic<std::int64_t> failures_{0};
  std::mt19937 random_{std::random_device{}()};
  std::thread thread_;
};

}  // namespace sgeventd::source
