// The poll thread (DESIGN.md section 3): runs the EventSource in a loop for all plugins and
// hands what it reads to the dispatcher.
//
//   - Poll again at once when events arrived or the page was full, but only when the
//     dispatcher wants more (it says so through FeedSink::wait_for_demand): a fast consumer
//     sets the pace, and memory stays bounded by a page or two.
//   - Otherwise sleep what the PollSchedule says (fetch_interval, or adaptive: poll_schedule.h);
//     wake() cuts the sleep short (reload, tests). An adaptive poll leaves the read after
//     events to its schedule too: only a full page is read again at once.
//   - webhook(id): a delivery from the site says event `id` exists. Read at once (but at most
//     one read per kWebhookSpacing, however many deliveries come), and while the feed has not
//     reached that id, read again kChaseReads times, 100 ms, 200 ms... apart: the site may
//     send the delivery before the entry is readable. Events still come only from the reads.
//   - Failures are retried forever with capped exponential backoff and jitter; an ERROR every
//     max_conn_retries failures (the original's cadence), one INFO line on recovery.
//   - stop() is honoured within ~100 ms, even in a backoff or inside a hung request (the
//     client's cancel flag aborts it).
//   - A read that takes long is reported while it lasts (check_slow_read, from another
//     thread, since the poll thread is inside the request): a WARN at slow_read_warn, an
//     ERROR with the elapsed time at slow_read_error, an INFO when it finally answers.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "source/event_source.h"
#include "source/poll_schedule.h"

namespace sgeventd::source {

// One poll's worth of news for the dispatcher.
struct FeedBatch {
  std::vector<SourcedEvent> events;  // late ones first, then new ones in id order
  std::int64_t head = 0;             // the source's cursor after this batch
  // Server-side filters: ids that exist but were hidden (not holes), ascending; gaps that
  // filled with a hidden event (see PollOutcome).
  std::vector<std::int64_t> hidden;
  std::vector<std::int64_t> settled;
};

class FeedSink {
 public:
  virtual ~FeedSink() = default;
  // Takes a batch (must not block for long).
  virtual void deliver(FeedBatch batch) = 0;
  // Waits up to `max_wait` for the consumers to want more events; true when they do.
  virtual bool wait_for_demand(std::chrono::milliseconds max_wait) = 0;
};

struct PollerOptions {
  std::chrono::milliseconds fetch_interval{5000};
  bool adaptive = false;                       // poll_schedule.h
  std::chrono::milliseconds min_interval{0};   // adaptive; 0: fetch_interval / 10
  std::chrono::milliseconds max_interval{0};   // adaptive; 0: fetch_interval * 2
  std::chrono::milliseconds first_retry{250};  // doubled per failure...
  std::chrono::milliseconds max_retry{60000};  // ...up to this (conn_retry_sleep)
  int max_conn_retries = 5;                    // failures between ERROR lines
  double jitter = 0.2;                         // each pause scaled by [1 - j, 1 + j]
  std::chrono::milliseconds slow_read_warn{15000};
  std::chrono::milliseconds slow_read_error{45000};
};

// What check_slow_read has to say of a read in progress for `elapsed`, given what it said of
// it already (0 nothing, 1 the warning, 2 the error): the level to say now, 0 for nothing.
int slow_read_level(const PollerOptions& options, std::chrono::milliseconds elapsed, int said);

// The backoff schedule alone, for unit tests: the pause after `failures` consecutive failures.
std::chrono::milliseconds retry_pause(const PollerOptions& options, int failures, double uniform01);

class Poller {
 public:
  // `source` and `sink` must outlive the poller. `cancel` is the flag the reader's client
  // watches (may be null when the reader cannot hang, as in tests).
  Poller(EventSource& source, FeedSink& sink, PollerOptions options,
         std::shared_ptr<spdlog::logger> log, std::shared_ptr<std::atomic<bool>> cancel = nullptr);
  ~Poller();  // stops and joins
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Runs `before_each` (on the poll thread, e.g. to update server-side filters) before every
  // poll. Call before start().
  void set_before_each(std::function<void()> f) { before_each_ = std::move(f); }

  void start();
  void stop();
  void wake();  // poll now rather than after the rest of fetch_interval
  // A verified webhook delivery named event `event_id` (0: none named). Any thread.
  void webhook(std::int64_t event_id);
  static constexpr std::chrono::milliseconds kWebhookSpacing{100};
  static constexpr int kChaseReads = 5;

  // For status: consecutive failures now, and polls and reads so far.
  int failures() const { return failures_.load(); }
  std::int64_t requests() const { return requests_.load(); }
  std::int64_t head() const { return head_.load(); }
  std::int64_t polls() const { return polls_.load(); }
  std::int64_t events_read() const { return events_read_.load(); }
  // Reads a webhook caused, and webhook ids the feed had not reached after the chase.
  std::int64_t webhook_reads() const { return webhook_reads_.load(); }
  std::int64_t webhook_ids_unseen() const { return webhook_ids_unseen_.load(); }
  // The pause planned after the last read (what the schedule chose), and whether adaptive.
  std::chrono::milliseconds planned_pause() const {
    return std::chrono::milliseconds(planned_pause_ms_.load());
  }
  bool adaptive() const { return options_.adaptive; }
  // The feed's open gaps after the last poll: missing ids it still waits for, and when the
  // longest-waiting one was first seen (nullopt without gaps).
  std::int64_t gap_ids() const { return gap_ids_.load(); }
  std::optional<WallTime> oldest_gap_seen() const;
  // Failed reads so far, by the client's error kind (sg::kind_name), the kinds seen only.
  std::vector<std::pair<std::string, std::int64_t>> errors_by_kind() const;
  // From one other thread, every second or so: logs a read in progress that is slow (see
  // the top of this file) and returns how long it has run once it is; nullopt otherwise.
  std::optional<std::chrono::milliseconds> check_slow_read();
  // How long the read in progress has run; nullopt between reads (the watchdog's question:
  // is the poll loop stuck?). Any thread.
  std::optional<std::chrono::milliseconds> read_in_progress() const;

 private:
  void run();
  enum class Woken { kStopped, kTimeUp, kWoken, kWebhook };
  // Sleeps up to `d` unless stopped or woken; a webhook's wake comes no sooner than
  // kWebhookSpacing after `read_start`.
  Woken pause(std::chrono::milliseconds d, std::chrono::steady_clock::time_point read_start);
  // After a read: the chase of a webhook's id (what to wait at most, nullopt: no chase).
  std::optional<std::chrono::milliseconds> chase_after_read();
  void on_failure(const sg::Error& error);
  void log_read_answered();  // the INFO that closes a slow read's WARN (last_read_ns_)

  EventSource& source_;
  FeedSink& sink_;
  PollerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::function<void()> before_each_;

  std::mutex mutex_;
  std::condition_variable wake_cv_;
  bool stopping_ = false;
  bool woken_ = false;
  bool webhook_woken_ = false;
  std::int64_t expected_id_ = 0;  // the highest id a webhook named that the feed has not read
  bool new_expectation_ = false;  // expected_id_ rose since the chase last looked
  std::thread thread_;

  std::atomic<int> failures_{0};
  std::atomic<std::int64_t> requests_{0};
  std::atomic<std::int64_t> head_{0};
  std::atomic<std::int64_t> polls_{0};
  std::atomic<std::int64_t> events_read_{0};
  std::atomic<std::int64_t> gap_ids_{0};
  std::atomic<std::int64_t> webhook_reads_{0};
  std::atomic<std::int64_t> webhook_ids_unseen_{0};
  std::atomic<std::int64_t> planned_pause_ms_{0};
  PollSchedule schedule_;
  // The chase's (under mutex_, with expected_id_): reads left, and the next one's delay.
  int chase_left_ = 0;
  std::chrono::milliseconds chase_delay_{0};
  std::chrono::steady_clock::time_point chase_next_{};  // when the next chase read is due
  std::atomic<std::int64_t> oldest_gap_ns_{0};          // system clock since the epoch; 0: none
  static constexpr std::size_t kErrorKinds = static_cast<std::size_t>(sg::ErrorKind::kTlsError) + 1;
  std::array<std::atomic<std::int64_t>, kErrorKinds> errors_{};
  // When the read in progress started (steady clock, ns); 0 between reads.
  std::atomic<std::int64_t> read_started_ns_{0};
  std::atomic<std::int64_t> last_read_ns_{0};  // how long the last read took (set before ^ is 0)
  // check_slow_read logged this read: the poll thread says when it answers.
  std::atomic<bool> slow_said_{false};
  // check_slow_read's own (its thread only): the read it last spoke of, and what it said.
  std::int64_t said_of_ = 0;
  int said_ = 0;
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace sgeventd::source
