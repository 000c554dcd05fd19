#include "source/catch_up_reader.h"

#include <algorithm>

namespace sgeventd::source {

CatchUpReader::CatchUpReader(EventLogReader& reader, Deliver deliver, PollerOptions backoff,
                             std::shared_ptr<spdlog::logger> log,
                             std::shared_ptr<std::atomic<bool>> cancel, Pause pause)
    : reader_(reader),
      deliver_(std::move(deliver)),
      backoff_(backoff),
      log_(std::move(log)),
      cancel_(std::move(cancel)),
      pause_(std::move(pause)) {
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

bool CatchUpReader::wait(std::chrono::milliseconds pause) {
  if (pause_) return pause_(pause);
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, pause, [this] { return stopping_; });
}

sg::Result<CatchUpResult> CatchUpReader::read(const CatchUpRequest& r) {
  CatchUpResult out{r, {}, {}, r.upto};
  std::vector<std::int64_t> ids;
  if (reader_.filtered()) {
    // As the feed does (EventSource): which ids exist first, then the events shown up to the
    // last of them, so that hidden ids are not taken for holes.
    auto all = reader_.ids_between(r.after, r.upto, r.limit);
    if (!all) return tl::unexpected(all.error());
    ids = std::move(*all);
    if (static_cast<int>(ids.size()) >= r.limit) out.covered = ids.back();
  }
  auto page = reader_.read_between(r.after, out.covered, r.limit);
  if (!page) return tl::unexpected(page.error());
  if (static_cast<int>(page->size()) >= r.limit) {
    if (auto last = (*page).back()["id"].if_int()) out.covered = *last;
  }
  out.hidden = hidden_ids(ids, *page, out.covered);
  out.events = std::move(*page);
  return out;
}

void CatchUpReader::run() {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int failing = 0;  // consecutive failures, across requests: the site is down for all of them
  for (;;) {
    CatchUpRequest r;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      r = queue_.front();
      queue_.pop_front();
    }
    for (;;) {
      ++requests_;
      auto events = read(r);
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      if (events) {
        if (failing > 0 && log_) {
          log_->info("Catch-up reads work again after {} failure(s)", failing);
        }
        failing = 0;
        deliver_(std::move(*events));
        break;
      }
      ++failing;
      ++failures_;
      if (log_) {
        if (failing % std::max(1, backoff_.max_conn_retries) == 0) {
          log_->error("Catch-up read for worker {} failed {} times in a row: {}", r.worker, failing,
                      events.error().message);
        } else {
          log_->warn("Catch-up read for worker {} failed, retrying: {}", r.worker,
                     events.error().message);
        }
      }
      if (!wait(retry_pause(backoff_, failing, uniform(random_)))) return;
    }
  }
}

}  // namespace sgeventd::source
