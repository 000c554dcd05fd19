#include "source/poller.h"

#include <algorithm>
#include <cmath>

namespace sgeventd::source {

using std::chrono::milliseconds;

namespace {

// How long ago `started_ns` (the steady clock's, read_started_ns_) was.
milliseconds since(std::int64_t started_ns) {
  return std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now().time_since_epoch() - std::chrono::nanoseconds(started_ns));
}

}  // namespace

milliseconds retry_pause(const PollerOptions& options, int failures, double uniform01) {
  const double doublings = std::min(failures - 1, 30);
  const double base =
      std::min(static_cast<double>(options.first_retry.count()) * std::pow(2.0, doublings),
               static_cast<double>(options.max_retry.count()));
  const double factor = 1.0 - options.jitter + 2.0 * options.jitter * uniform01;
  return milliseconds(static_cast<std::int64_t>(std::max(1.0, base * factor)));
}

Poller::Poller(EventSource& source, FeedSink& sink, PollerOptions options,
               std::shared_ptr<spdlog::logger> log, std::shared_ptr<std::atomic<bool>> cancel)
    : source_(source),
      sink_(sink),
      options_(options),
      log_(std::move(log)),
      cancel_(std::move(cancel)) {
  head_ = source_.cursor();
}

Poller::~Poller() { stop(); }

void Poller::start() {
  thread_ = std::thread([this] { run(); });
}

void Poller::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (cancel_) cancel_->store(true);
  wake_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Poller::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

bool Poller::pause(milliseconds d) {
  std::unique_lock lock(mutex_);
  wake_cv_.wait_for(lock, d, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

std::vector<std::pair<std::string, std::int64_t>> Poller::errors_by_kind() const {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (std::size_t k = 0; k < kErrorKinds; ++k) {
    if (const auto n = errors_[k].load(); n > 0) {
      out.emplace_back(sg::kind_name(static_cast<sg::ErrorKind>(k)), n);
    }
  }
  return out;
}

void Poller::on_failure(const sg::Error& error) {
  if (const auto k = static_cast<std::size_t>(error.kind); k < kErrorKinds) ++errors_[k];
  const int n = ++failures_;
  if (n % std::max(1, options_.max_conn_retries) == 0) {
    log_->error("Cannot read the event log ({} failures in a row, still retrying): {}", n,
                error.message);
  } else {
    log_->warn("Reading the event log failed (attempt {}), retrying: {}", n, error.message);
  }
}

int slow_read_level(const PollerOptions& options, milliseconds elapsed, int said) {
  if (said < 2 && elapsed >= options.slow_read_error) return 2;
  if (said < 1 && elapsed >= options.slow_read_warn) return 1;
  return 0;
}

std::optional<milliseconds> Poller::check_slow_read() {
  const std::int64_t started = read_started_ns_.load();
  if (started == 0) return std::nullopt;
  const milliseconds elapsed = since(started);
  if (started != said_of_) {
    said_of_ = started;
    said_ = 0;
  }
  const int level = slow_read_level(options_, elapsed, said_);
  const double secs = static_cast<double>(elapsed.count()) / 1000.0;
  if (level == 2) {
    log_->error(
        "Reading the event log has taken {:.0f} s and it has not answered yet: no event "
        "is delivered meanwhile",
        secs);
  } else if (level == 1) {
    log_->warn("Reading the event log is slow: no answer after {:.0f} s", secs);
  }
  if (level > 0) {
    said_ = level;
    slow_said_ = true;
    // The read may have answered while this was logged, after the poll thread looked at
    // slow_said_: then the closing line is ours to write (the exchange lets one thread only).
    if (read_started_ns_.load() != started && slow_said_.exchange(false)) log_read_answered();
  }
  if (elapsed < options_.slow_read_warn) return std::nullopt;
  return elapsed;
}

void Poller::log_read_answered() {
  log_->info("The event log read answered after {:.1f} s",
             static_cast<double>(last_read_ns_.load()) / 1e9);
}

std::optional<std::chrono::milliseconds> Poller::read_in_progress() const {
  const std::int64_t started = read_started_ns_.load();
  if (started == 0) return std::nullopt;
  return since(started);
}

std::optional<WallTime> Poller::oldest_gap_seen() const {
  const std::int64_t ns = oldest_gap_ns_.load();
  if (ns == 0) return std::nullopt;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns)));
}

void Poller::run() {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (before_each_) before_each_();
    const auto read_start = std::chrono::steady_clock::now();
    read_started_ns_ = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::nanoseconds>(read_start.time_since_epoch())
               .count());
    auto outcome = source_.poll();
    ++polls_;
    last_read_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - read_start)
                        .count();
    read_started_ns_ = 0;
    if (slow_said_.exchange(false)) log_read_answered();
    if (!outcome) {
      ++requests_;
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;  // a request cut short by stop() is no failure
      }
      on_failure(outcome.error());
      if (!pause(retry_pause(options_, failures_.load(), uniform(random_)))) return;
      continue;
    }
    requests_ += outcome->requests;
    events_read_ += static_cast<std::int64_t>(outcome->events.size());
    gap_ids_ = source_.gaps().id_count();
    const auto oldest = source_.gaps().oldest_seen();
    oldest_gap_ns_ =
        oldest ? std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               oldest->time_since_epoch())
                                               .count())
               : 0;
    if (const int was = failures_.exchange(0); was > 0) {
      log_->info("The event log is readable again after {} failed attempt(s)", was);
    }
    for (const GapRange& g : outcome->expired) {
      log_->warn("Event ids {}-{} never appeared within backlog_timeout: given up", g.first,
                 g.last);
    }
    for (const GapRange& g : outcome->dropped) {
      log_->warn("Event ids {}-{} given up early: too many id gaps open at once", g.first, g.last);
    }
    const bool more = outcome->page_full || !outcome->events.empty() || !outcome->hidden.empty();
    if (!outcome->events.empty() || !outcome->hidden.empty() || !outcome->settled.empty()) {
      head_ = source_.cursor();
      sink_.deliver(FeedBatch{std::move(outcome->events), source_.cursor(),
                              std::move(outcome->hidden), std::move(outcome->settled)});
    }
    if (more) {
      // Poll again at once, as soon as someone can take more.
      while (!sink_.wait_for_demand(milliseconds(100))) {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
    } else if (!pause(options_.fetch_interval)) {
      return;
    }
  }
}

}  // namespace sgeventd::source
