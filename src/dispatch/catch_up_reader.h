// Reads for workers that left the shared feed (DESIGN.md section 4): a worker that fell more
// than its queue behind, or whose plugin came back after being deactivated, catches up with
// its own reads of the event log, at its own pace, on this thread, so the poll that feeds the
// others never waits for it. Reads are bounded above by what the feed has already passed, so
// a worker's reads and the feed never deliver the same event twice.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "source/event_log_reader.h"

namespace sgeventd::dispatch {

struct CatchUpRequest {
  std::size_t worker = 0;        // the dispatcher's index
  std::uint64_t generation = 0;  // answers to an older request are ignored
  std::int64_t after = 0;        // ids > after ...
  std::int64_t upto = 0;         // ... and <= upto
  int limit = 500;
};

struct CatchUpResult {
  CatchUpRequest request;
  sg::Result<List> events;
};

class CatchUpReader {
 public:
  using Deliver = std::function<void(CatchUpResult)>;

  // `reader` (with its own connection) is used only from this reader's thread.
  CatchUpReader(source::EventLogReader& reader, Deliver deliver,
                std::shared_ptr<std::atomic<bool>> cancel = nullptr);
  ~CatchUpReader();  // stops and joins
  CatchUpReader(const CatchUpReader&) = delete;
  CatchUpReader& operator=(const CatchUpReader&) = delete;

  void request(CatchUpRequest r);
  void stop();
  std::int64_t requests() const { return requests_.load(); }

 private:
  void run();

  source::EventLogReader& reader_;
  Deliver deliver_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<CatchUpRequest> queue_;
  bool stopping_ = false;
  std::atomic<std::int64_t> requests_{0};
  std::thread thread_;
};

}  // namespace sgeventd::dispatch
