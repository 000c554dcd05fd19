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
      cancel_(std::move(cancel)),
      schedule_(PollScheduleOptions{.adaptive = options.adaptive,
                                    .fetch_interval = options.fetch_interval,
                                    .min_interval = options.min_interval,
                                    .max_interval = options.max_interval}) {
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

void Poller::webhook(std::int64_t event_id) {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
    webhook_woken_ = true;
    if (event_id > expected_id_) {
      expected_id_ = event_id;
      new_expectation_ = true;
    }
  }
  wake_cv_.notify_all();
}

Poller::Woken Poller::pause(milliseconds d, std::chrono::steady_clock::time_point read_start) {
  std::unique_lock lock(mutex_);
  if (!wake_cv_.wait_for(lock, d, [this] { return stopping_ || woken_; })) return Woken::kTimeUp;
  if (stopping_) return Woken::kStopped;
  woken_ = false;
  if (!webhook_woken_) return Woken::kWoken;
  webhook_woken_ = false;
  // However many deliveries come, one read per kWebhookSpacing: the later ones are answered
  // by the read this one makes. Only a stop cuts this wait short.
  wake_cv_.wait_until(lock, read_start + kWebhookSpacing, [this] { return stopping_; });
  woken_ = false;
  webhook_woken_ = false;
  return stopping_ ? Woken::kStopped : Woken::kWebhook;
}

std::optional<milliseconds> Poller::chase_after_read() {
  std::lock_guard lock(mutex_);
  if (expected_id_ == 0) return std::nullopt;
  if (source_.cursor() >= expected_id_) {
    expected_id_ = 0;
    return std::nullopt;
  }
  const auto now = std::chrono::steady_clock::now();
  if (new_expectation_) {
    new_expectation_ = false;
    chase_left_ = kChaseReads;
    chase_delay_ = kWebhookSpacing;
    chase_next_ = now + chase_delay_;
  } else if (now >= chase_next_) {
    // The chase read that was due has been made (a read for another reason before it was
    // due does not count as one).
    if (--chase_left_ == 0) {
      ++webhook_ids_unseen_;
      log_->info(
          "A webhook named event {}, and the event log has not shown it after {} reads: "
          "the polls will deliver it if it appears",
          expected_id_, kChaseReads);
      expected_id_ = 0;
      return std::nullopt;
    }
    chase_delay_ *= 2;
    chase_next_ = now + chase_delay_;
  }
  return std::chrono::duration_cast<milliseconds>(chase_next_ - now) + milliseconds(1);
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
  // Whether the coming read is one the schedule timed (it spends a credit) rather than one a
  // full page, a webhook, a wake or a retry asked for.
  bool timed = true;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (before_each_) before_each_();
    const auto read_start = std::chrono::steady_clock::now();
    {
      // What asked for a read before this one starts is answered by it.
      std::lock_guard lock(mutex_);
      woken_ = false;
      webhook_woken_ = false;
    }
    if (timed) schedule_.timed_read(read_start);
    timed = false;
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
      // The whole backoff: webhooks keep coming while the site fails to answer, and must not
      // turn the backoff into a read every 100 ms (a wake(), an operator's, still cuts it).
      const auto retry_at = std::chrono::steady_clock::now() +
                            retry_pause(options_, failures_.load(), uniform(random_));
      Woken w = Woken::kWebhook;
      while (w == Woken::kWebhook && std::chrono::steady_clock::now() < retry_at) {
        w = pause(
            std::chrono::duration_cast<milliseconds>(retry_at - std::chrono::steady_clock::now()),
            read_start);
      }
      if (w == Woken::kStopped) return;
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
    const bool activity = !outcome->events.empty() || !outcome->hidden.empty();
    schedule_.result(read_start, activity);
    // The fixed poll reads again at once after events, as the original; the adaptive one has
    // its schedule for that (a quick read after activity, paid for by its budget).
    const bool more = outcome->page_full || (activity && !schedule_.adaptive());
    if (activity || !outcome->settled.empty()) {
      head_ = source_.cursor();
      sink_.deliver(FeedBatch{std::move(outcome->events), source_.cursor(),
                              std::move(outcome->hidden), std::move(outcome->settled)});
    }
    if (more || activity) {
      // Read no more until someone can take more: what is read waits in memory otherwise.
      while (!sink_.wait_for_demand(milliseconds(100))) {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      if (more) continue;  // again at once
    }
    milliseconds wait = schedule_.pause(std::chrono::steady_clock::now());
    planned_pause_ms_ = wait.count();
    const auto chase = chase_after_read();
    if (chase && *chase < wait) wait = *chase;
    switch (pause(wait, read_start)) {
      case Woken::kStopped:
        return;
      case Woken::kTimeUp:
        timed = !(chase && *chase == wait);
        break;
      case Woken::kWebhook:
        ++webhook_reads_;
        break;
      case Woken::kWoken:
        break;
    }
  }
}

}  // namespace sgeventd::source
