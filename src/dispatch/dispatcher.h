// The dispatcher (DESIGN.md section 4): one thread that owns every worker, queue, cursor and
// gap, so none of them needs a lock. Each pass it
//
//   1. takes what arrived: feed batches from the poller, catch-up pages, control requests;
//   2. hands each event to every plugin whose matchEvents accept it (per worker: a bounded
//      queue; a worker over `queue_size` leaves the feed and catches up on its own reads);
//   3. supervises the workers (start, restart, timeouts, memory, reload) and sends them events
//      up to their pipeline window;
//   4. applies the failure policy to results (retry, deactivate, dead letter);
//   5. commits every cursor advance, gap and dead letter of the pass in one transaction, and
//      checkpoints (fsync) every checkpoint_interval.
//
// It is also the poller's FeedSink: the poll waits for demand from the fastest worker only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dispatch/control.h"
#include "dispatch/failure_policy.h"
#include "dispatch/loop_prevention.h"
#include "dispatch/worker_slot.h"
#include "log/logging.h"
#include "sgeventd/state/state_store.h"
#include "source/catch_up_reader.h"
#include "source/poller.h"
#include "workers/worker.h"

namespace sgeventd::dispatch {

using source::CatchUpReader;
using source::CatchUpRequest;
using source::CatchUpResult;

struct DispatcherOptions {
  std::size_t queue_size = 1000;
  int batch_size = 500;  // catch-up pages
  std::chrono::milliseconds backlog_timeout{300'000};
  RetrySettings retry;
  std::chrono::milliseconds reactivation{0};  // 0: a deactivated plugin waits for an edit
  std::chrono::milliseconds checkpoint_interval{1000};
  std::chrono::milliseconds shutdown_grace{10'000};
  LoopPrevention loop_prevention = LoopPrevention::kOff;
  // The daemon's own script first ([shotgun] name: what callbacks without a script of their
  // own act as), then any other (kDaemon withholds the events of all, and the callbacks').
  std::vector<std::string> own_script_names;
  std::size_t window = 128;  // pipeline_window
  // Where each plugin's completion file lives (workers/completion_log.h); empty: none.
  std::string completions_dir;
  workers::SupervisorOptions supervisor;
  OutputLimits plugin_output;  // per plugin: its stderr and log messages
  workers::HelloInfo hello;    // worker_id and per are filled per worker
  // Asked before events go to a worker; false holds them queued. A leader whose lease may have
  // run out (docs/high-availability.md) sends nothing more. Empty: always.
  std::function<bool()> may_dispatch;
};

class Dispatcher final : public source::FeedSink, private workers::SessionListener {
 public:
  // `catch_up_reader` reads for workers off the feed (its results come back through the
  // dispatcher's inbox). `feed_head`: where the shared feed starts.
  // `host` starts the workers and runs their I/O (workers::ProcessWorkerHost in the daemon);
  // `clock` is the one every timeout, retry and checkpoint reads.
  Dispatcher(DispatcherOptions options, state::StateStore& store, log::Logging& logging,
             std::int64_t feed_head, workers::WorkerHost& host, Clock& clock = Clock::real());
  ~Dispatcher() override;

  // Before run(): the workers and where their plugins start.
  void add_worker(WorkerDefinition def, const std::map<std::string, PluginStart>& starts);
  void set_catch_up_reader(source::CatchUpService* reader) { catch_up_ = reader; }
  // Delivers a catch-up page (called from the reader's thread).
  void deliver_catch_up(CatchUpResult result);

  // The dispatcher thread's body: returns after request_stop() once the workers are drained
  // and stopped (or the grace period is over) and the state is committed.
  void run();
  // What run() does, one pass at a time (for tests that drive the dispatcher themselves):
  // false once a stop was requested (then call drain_and_stop()).
  bool step();
  void drain_and_stop();
  void request_stop();
  // True once every worker has answered its first loads (or could not start): the engine
  // starts polling then, so nothing read is skipped for a plugin still loading.
  bool wait_initial_loads(std::chrono::milliseconds timeout);
  // Some worker is ready (thread-safe): the engine stops waiting for the slow ones soon after.
  bool some_worker_ready() const { return some_ready_.load(); }
  // When its loop last went round (steady clock, noted at each supervision tick, every 10 ms
  // under load): the watchdog's question, is it stuck? A pass waits at most half a second, so
  // an older time means something holds the thread.
  std::chrono::steady_clock::time_point last_step() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_step_.load()));
  }
  // Restart every worker (SIGHUP): plugins are loaded again from disk.
  void request_reload();
  // A warm standby taking over (docs/high-availability.md): every plugin starts again from the
  // state as it is now (the leader moved the cursors meanwhile) with `feed_head` the newest
  // event, its worker kept as loaded. Only for a dispatcher that has sent nothing yet. The
  // starts it found, by worker and plugin, or an error (the state unreadable: the caller
  // stands by again). Any thread; waits for the dispatcher thread to do it.
  struct Rebased {
    std::map<std::string, std::map<std::string, PluginStart>> starts;
    std::string error;  // empty: done
  };
  // `reader`: the catch-up reader from now on (a standby has none: it reads nothing).
  std::future<Rebased> rebase(std::int64_t feed_head, source::CatchUpService* reader);
  // The plugins found on disk now (thread-safe): workers for new plugin files are added (a
  // new plugin starts after the newest event read, as in shotgunEvents), workers whose files
  // are gone are stopped.
  void update_plugins(std::vector<WorkerDefinition> found);

  // source::FeedSink (the poll thread).
  void deliver(source::FeedBatch batch) override;
  bool wait_for_demand(std::chrono::milliseconds max_wait) override;

  // The event types every plugin on the feed can accept (for server-side filters); nullopt
  // when one accepts any type or none is loaded yet.
  std::optional<std::vector<std::string>> feed_event_types() const;

  // Ids the source must look for again (the poll thread takes them before each poll): the
  // gaps of a plugin coming back from deactivation, whose late events the feed handed on
  // while it was away or that it skipped. Found again, they reach only plugins missing them.
  std::vector<source::GapRange> take_ids_to_look_for();

  // A JSON-ready snapshot for `sgeventd status` (refreshed each pass, at most twice a second).
  Value status() const;

  // An operator's request (thread-safe), carried out on the dispatcher thread at its next
  // pass; the future always gets an answer (kUnavailable once the dispatcher stops).
  std::future<ControlAnswer> control(ControlRequest request);

 private:
  struct Inbox {
    std::deque<source::FeedBatch> batches;
    std::deque<CatchUpResult> pages;
    bool stop = false;
    bool reload = false;
    std::optional<std::vector<WorkerDefinition>> found;
    std::vector<std::pair<ControlRequest, std::promise<ControlAnswer>>> controls;
    struct RebaseRequest {
      std::int64_t feed_head = 0;
      source::CatchUpService* reader = nullptr;
      std::promise<Rebased> answer;
    };
    std::optional<RebaseRequest> rebase;
  };

  // dispatcher.cpp: the loop.
  void take_inbox(Inbox& into);
  void pass(Inbox& inbox);
  std::chrono::milliseconds next_wait() const;
  void update_demand();
  void publish_status();
  void reconcile(std::vector<WorkerDefinition>& found);

  // dispatcher_events.cpp: events into queues.
  void on_feed_batch(source::FeedBatch& batch);
  void on_catch_up_page(CatchUpResult& page);
  // An id the server-side filters hid, passed by the on-feed plugins of a worker.
  void pass_over(WorkerSlot& w, std::int64_t id);
  // Offers a regular (in-order) event to the on-feed plugins of a worker. `authors`: the
  // scripts that made it (loop prevention), found once per event.
  void offer_regular(std::size_t w, const Value& event, std::int64_t id,
                     const EventAuthors& authors, std::shared_ptr<const SharedEvent>& shared);
  void offer_late(std::size_t w, const Value& event, std::int64_t id, const EventAuthors& authors,
                  std::shared_ptr<const SharedEvent>& shared);
  QueuedEvent make_entry(const Value& event, std::int64_t id, bool late,
                         const EventAuthors& authors,
                         std::shared_ptr<const SharedEvent>& shared) const;
  EventAuthors authors_if_needed(const Value& event) const;
  // Loop prevention for one callback (dispatch/loop_prevention.h).
  bool withheld_from(const CallbackSlot& c, const EventAuthors& authors) const;
  // Some callback of the plugin matches the event and may have it.
  bool takes(const PluginSlot& p, const Value& event, const EventAuthors& authors) const;
  void start_catch_up(WorkerSlot& w, std::int64_t from);
  void shed_queue(WorkerSlot& w);
  void request_catch_up_reads(std::size_t w);
  void expire_gaps();
  // Wall time to the millisecond, as the ledger and the state keep it.
  state::WallTime wall_now() const;
  // Ids the source is to look for (the poll thread takes them).
  void look_for(std::vector<source::GapRange> ranges);
  // Reads the plugin's completion file before its first worker starts (see PluginSlot).
  void take_over_completions(PluginSlot& p, const PluginStart& start);
  // Of `lost` (sent to a worker that died), those its completion records say were finished:
  // resolved here, and taken out of `lost`.
  void resolve_recorded(WorkerSlot& w, std::vector<QueuedEvent>& lost);
  // A late event a plugin did not run (deactivated, skipped, not loaded): a gap of it again.
  void regap_late(PluginSlot& p, std::int64_t id);
  // A plugin back on the feed after an absence, resuming after `from` (PluginLedger::rejoin).
  void rejoin(WorkerSlot& w, PluginSlot& p, std::int64_t from);

  // dispatcher_workers.cpp: processes, sending, results, failures.
  void supervise(std::size_t w);
  // The plugin a worker's output line is counted against: the one named, else its first.
  static PluginSlot* output_owner(WorkerSlot& w, const std::string& plugin);
  // One line saying how much of the plugin's output was dropped, at most every
  // kDroppedOutputReportEvery (`now_or_never`: its worker ended, say it now).
  void report_dropped_output(PluginSlot& p, Clock::time_point now, bool now_or_never = false);
  static constexpr std::chrono::milliseconds kDroppedOutputReportEvery{10'000};
  void start_session(WorkerSlot& w);
  void pump(WorkerSlot& w);
  void finish_session(WorkerSlot& w);
  void handle_result(WorkerSlot& w, QueuedEvent& entry, workers::Result& result);
  void resolve(PluginSlot& p, const QueuedEvent& entry) {
    p.ledger.resolve(entry.id, entry.late, pending_);
  }
  void deactivate(WorkerSlot& w, PluginSlot& p, const std::string& reason);
  void reactivate(WorkerSlot& w, PluginSlot& p, const std::string& why);
  void park(PluginSlot& p, const QueuedEvent& entry, const CallbackSlot* callback,
            const workers::CallbackResult& r);
  WorkerSlot* slot_of(const workers::Worker& s);
  void check_initial_loads();
  void mask_plugin_secrets(const PluginSlot& p, const std::vector<std::string>& secrets);
  // Keeps `error` among the plugin's recent errors (status, the status page).
  void note_recent_error(PluginSlot& p, std::int64_t event_id, const std::string& error);

  // dispatcher_control.cpp: operators' requests, and the re-drives they queue.
  ControlAnswer carry_out(ControlRequest& request);
  // The plugin a request names (by name or path): its worker and slot, or an answer saying why
  // not (unknown or ambiguous; the known plugins listed).
  struct Named {
    WorkerSlot* worker = nullptr;
    PluginSlot* plugin = nullptr;
  };
  Expected<Named, ControlAnswer> find_plugin(const std::string& name);
  ControlAnswer reload_plugin(const std::string& name);
  ControlAnswer enable(const std::string& name);
  ControlAnswer disable(const std::string& name, const std::string& reason);
  ControlAnswer list_dead_letters(const ControlRequest& request);
  ControlAnswer show_dead_letter(std::int64_t id);
  ControlAnswer retry_dead_letter(std::int64_t id);
  ControlAnswer drop_dead_letter(std::int64_t id);
  ControlAnswer replay(const ControlRequest& request);
  // The result of a re-drive: logged; a retried letter goes on success, or records the retry.
  void finish_redrive(WorkerSlot& w, const QueuedEvent& entry, const workers::Result& result);
  // Answers every request still waiting (the dispatcher is stopping).
  void refuse_controls(Inbox& inbox);

  // dispatcher_state.cpp: persistence.
  void commit_state();
  Rebased carry_out_rebase(std::int64_t feed_head, source::CatchUpService* reader);
  void checkpoint_if_due();
  bool state_dirty() const;  // something to commit

  // workers::SessionListener
  void on_loaded(workers::Worker&, const workers::Loaded&) override;
  void on_load_failed(workers::Worker&, const workers::LoadFailed&) override;
  void on_ready(workers::Worker&) override;
  void on_result(workers::Worker&, const workers::InFlight&, workers::Result&) override;
  void on_log(workers::Worker&, const workers::LogMessage&) override;
  void on_stderr(workers::Worker&, std::string_view line) override;
  void on_worker_error(workers::Worker&, const workers::ErrorMessage&) override;
  void on_closed(workers::Worker&, const workers::SessionEnd&) override;

  DispatcherOptions options_;
  LedgerSettings ledger_;  // every plugin's
  state::StateStore& store_;
  log::Logging& logging_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  workers::WorkerHost& host_;
  source::CatchUpService* catch_up_ = nullptr;

  std::vector<std::unique_ptr<WorkerSlot>> workers_;
  std::int64_t feed_head_;
  std::chrono::system_clock::time_point feed_newest_at_{};  // created_at of the newest read
  std::set<std::string> script_names_;  // loop prevention: the daemon's and callbacks' scripts
  std::string daemon_script_;           // what a callback without a script acts as
  // Plugins found on disk whose state could not be read (worker id -> the error): they wait.
  std::map<std::string, std::string> start_errors_;

  state::StateBatch pending_;         // operations waiting to be committed
  DurationHistogram commit_seconds_;  // each commit's transaction (metrics)
  // Re-drives queued since status last found none: while 0, status need not look for them.
  std::int64_t redrives_queued_ = 0;
  std::atomic<std::chrono::steady_clock::rep> last_step_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
  bool state_failing_ = false;
  Clock::time_point next_checkpoint_{};
  Clock::time_point next_commit_{};
  Clock::time_point next_supervise_{};
  Clock::time_point next_supervisor_poll_{};    // the earliest any supervisor wants to run
  std::optional<Clock::time_point> dry_since_;  // the fastest worker on the feed has nothing
  bool starvation_wake_ = false;                // next_wait must wake at dry_since_ + 100 ms
  Clock::time_point next_gap_expiry_{};
  Clock::time_point next_status_{};
  bool stopping_ = false;

  mutable std::mutex inbox_mutex_;
  std::condition_variable demand_cv_;
  Inbox inbox_;
  Inbox taken_;  // the dispatcher thread's: what step() took from inbox_ (kept, not reallocated)
  bool demand_ = false;
  bool initial_loads_done_ = false;
  std::atomic<bool> some_ready_{false};
  std::condition_variable loads_cv_;

  mutable std::mutex status_mutex_;
  Value status_;
  std::optional<std::vector<std::string>> feed_types_;
  std::vector<source::GapRange> look_for_;  // under status_mutex_
};

}  // namespace sgeventd::dispatch
