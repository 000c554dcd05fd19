#include "dispatch/catch_up_reader.h"

namespace sgeventd::dispatch {

CatchUpReader::CatchUpReader(source::EventLogReader& reader, Deliver deliver,
                             std::shared_ptr<std::atomic<bool>> cancel)
    : reader_(reader), deliver_(std::move(deliver)), cancel_(std::move(cancel)) {
  thread_ = std::thread([this] { run(); });
}

CatchUpReader::~CatchUpReader() { stop(); }

void CatchUpReader::request(CatchUpRequest r) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(r);
  }
  cv_.notify_one();
}

void CatchUpReader::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (cancel_) cancel_->store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CatchUpReader::run() {
  for (;;) {
    CatchUpRequest r;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      r = queue_.front();
      queue_.pop_front();
    }
    ++requests_;
    auto events = reader_.read_between(r.after, r.upto, r.limit);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    deliver_(CatchUpResult{r, std::move(events)});
  }
}

}  // namespace sgeventd::dispatch
