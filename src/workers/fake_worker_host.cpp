#include "workers/fake_worker_host.h"

#include <algorithm>
#include <deque>

#include "sgeventd/json.h"

namespace sgeventd::workers {

using std::chrono::milliseconds;

class FakeWorkerHost::FakeWorker final : public Worker {
 public:
  FakeWorker(FakeWorkerHost& host, SessionOptions options, SessionListener& listener, int pid)
      : host_(host), options_(std::move(options)), listener_(listener), pid_(pid) {
    hello_ = WorkerHello{1, "fake-worker", "", {}};
    due_ = host_.clock_.now();  // the handshake answers at once
  }

  bool ready() const override { return state_ == State::kReady; }
  bool closed() const override { return state_ == State::kClosed; }
  bool can_send() const override { return ready() && in_flight_.size() < options_.window; }
  const std::deque<InFlight>& in_flight() const override { return in_flight_; }
  const std::optional<WorkerHello>& worker_hello() const override { return hello_; }
  int pid() const override { return pid_; }
  std::optional<std::uint64_t> rss_bytes() const override { return 10u << 20; }

  ::sgeventd::Expected<std::uint64_t, std::string> send_event(
      std::string_view event_json, const std::vector<CallbackRef>& callbacks, bool late) override {
    if (!can_send()) return tl::unexpected(std::string("not ready or window full"));
    auto event = parse_json(event_json);
    const auto id = event ? (*event)["id"].if_int() : std::nullopt;
    if (!id) return tl::unexpected(std::string("an event without an id"));
    const auto now = host_.clock_.now();
    InFlight f;
    f.seq = next_seq_++;
    f.callbacks = callbacks.size();
    f.sent_at = f.started_at = now;
    in_flight_.push_back(f);
    events_.push_back({*id, late, callbacks});
    host_.sent_.push_back({options_.hello.worker_id, *id, late, callbacks});
    if (in_flight_.size() == 1) begin_front(now);
    return f.seq;
  }

  void shutdown(milliseconds grace) override {
    if (closed() || stopping_) return;
    stopping_ = true;
    kill_at_ = host_.clock_.now() + grace;
  }

  void abort(WorkerError error) override {
    if (closed() || abort_) return;
    abort_ = std::move(error);
  }

  // When something is due (nullopt: nothing until the test or the daemon acts; the earliest
  // time there is: due at once, whenever it is asked, also on a clock that moves by itself).
  std::optional<Clock::time_point> next_due() const {
    if (closed()) return std::nullopt;
    if (abort_ || (stopping_ && in_flight_.empty())) return Clock::time_point::min();
    std::optional<Clock::time_point> next = due_;
    if (kill_at_) next = next ? std::min(*next, *kill_at_) : *kill_at_;
    return next;
  }

  // Reports everything due at `now`.
  void fire(Clock::time_point now) {
    if (closed()) return;
    if (abort_) return close(std::move(abort_));
    if (state_ == State::kStarting) {
      due_.reset();
      listener_.on_hello(*this, *hello_);
      for (const PluginRef& ref : options_.plugins) {
        const FakePlugin& p = host_.plugin(ref.name);
        if (p.load_error) {
          listener_.on_load_failed(*this, LoadFailed{ref.name, *p.load_error, ""});
        } else {
          listener_.on_loaded(*this, Loaded{ref.name, true, p.callbacks});
        }
      }
      state_ = State::kReady;
      listener_.on_ready(*this);
      return;
    }
    while (due_ && *due_ <= now && !in_flight_.empty() && !closed()) answer_front(now);
    if (closed()) return;
    if (stopping_ && in_flight_.empty()) return close(std::nullopt);
    if (kill_at_ && *kill_at_ <= now) {
      return close(WorkerError{WorkerError::Kind::kTimeout, "did not stop in time", std::nullopt});
    }
  }

 private:
  enum class State { kStarting, kReady, kClosed };
  struct Event {
    std::int64_t id;
    bool late;
    std::vector<CallbackRef> callbacks;
  };

  // The front event starts now: what each of its plugins does, and when the answer is due.
  void begin_front(Clock::time_point now) {
    in_flight_.front().started_at = now;
    const Event& e = events_.front();
    runs_.clear();
    milliseconds total{0};
    bool hangs = false;
    for (const CallbackRef& c : e.callbacks) {
      if (runs_.count(c.plugin)) continue;
      const FakePlugin& p = host_.plugin(c.plugin);
      FakeRun r = p.run ? p.run(e.id, e.late) : FakeRun::ok();
      hangs = hangs || r.kind == FakeRun::Kind::kHang;
      total += r.takes;
      runs_[c.plugin] = std::move(r);
    }
    due_ = hangs ? std::nullopt : std::optional(now + total);
  }

  void answer_front(Clock::time_point now) {
    const Event e = events_.front();
    for (const auto& [plugin, r] : runs_) {
      if (r.kind == FakeRun::Kind::kCrash) {
        return close(WorkerError{WorkerError::Kind::kExited, "the worker crashed", std::nullopt});
      }
    }
    Result result;
    result.seq = in_flight_.front().seq;
    for (const CallbackRef& c : e.callbacks) {
      const FakeRun& r = runs_[c.plugin];
      CallbackResult cr;
      cr.plugin = c.plugin;
      cr.index = c.index;
      cr.ok = r.kind == FakeRun::Kind::kOk;
      cr.duration_ms = static_cast<double>(r.takes.count());
      if (!cr.ok) cr.error = r.error;
      cr.skipped = r.kind == FakeRun::Kind::kSkipped;
      result.results.push_back(std::move(cr));
      if (r.kind == FakeRun::Kind::kOk) host_.ran_.emplace_back(c.plugin, e.id);
    }
    const InFlight answered = in_flight_.front();
    in_flight_.pop_front();
    events_.pop_front();
    due_.reset();
    if (!in_flight_.empty()) begin_front(now);
    listener_.on_result(*this, answered, result);
  }

  void close(std::optional<WorkerError> error) {
    state_ = State::kClosed;
    SessionEnd end;
    end.error = std::move(error);
    end.lost.assign(in_flight_.begin(), in_flight_.end());
    in_flight_.clear();
    events_.clear();
    due_.reset();
    listener_.on_closed(*this, end);
  }

  FakeWorkerHost& host_;
  SessionOptions options_;
  SessionListener& listener_;
  int pid_;
  State state_ = State::kStarting;
  std::optional<WorkerHello> hello_;
  std::deque<InFlight> in_flight_;
  std::deque<Event> events_;
  std::map<std::string, FakeRun> runs_;  // the front event's, per plugin
  std::optional<Clock::time_point> due_;
  std::uint64_t next_seq_ = 1;
  bool stopping_ = false;
  std::optional<Clock::time_point> kill_at_;
  std::optional<WorkerError> abort_;
};

FakeWorkerHost::FakeWorkerHost(Clock& clock, std::function<void(milliseconds)> advance)
    : clock_(clock), advance_(std::move(advance)) {
  CallbackInfo any;
  any.name = "callback";
  default_plugin_.callbacks.push_back(any);
}

FakeWorkerHost::~FakeWorkerHost() = default;

void FakeWorkerHost::set_plugin(const std::string& name, FakePlugin plugin) {
  plugins_[name] = std::move(plugin);
}

const FakePlugin& FakeWorkerHost::plugin(const std::string& name) const {
  auto it = plugins_.find(name);
  return it == plugins_.end() ? default_plugin_ : it->second;
}

std::vector<std::int64_t> FakeWorkerHost::ran_by(const std::string& plugin) const {
  std::vector<std::int64_t> ids;
  for (const auto& [p, id] : ran_) {
    if (p == plugin) ids.push_back(id);
  }
  return ids;
}

int FakeWorkerHost::starts(const std::string& id) const {
  auto it = starts_.find(id);
  return it == starts_.end() ? 0 : it->second;
}

std::size_t FakeWorkerHost::running() const {
  return static_cast<std::size_t>(
      std::count_if(workers_.begin(), workers_.end(), [](FakeWorker* w) { return !w->closed(); }));
}

::sgeventd::Expected<std::unique_ptr<Worker>, WorkerError> FakeWorkerHost::start(
    const SpawnSpec& /*spec*/, SessionOptions options, SessionListener& listener) {
  const std::string id = options.hello.worker_id;
  ++starts_[id];
  if (auto it = failing_starts_.find(id); it != failing_starts_.end() && it->second > 0) {
    --it->second;
    return tl::unexpected(
        WorkerError{WorkerError::Kind::kSpawnFailed, "no such program (fake)", std::nullopt});
  }
  auto worker = std::make_unique<FakeWorker>(*this, std::move(options), listener,
                                             1000 + static_cast<int>(workers_.size()));
  workers_.push_back(worker.get());
  return std::unique_ptr<Worker>(std::move(worker));
}

void FakeWorkerHost::remove(Worker& worker) {
  std::erase(workers_, static_cast<FakeWorker*>(&worker));
}

void FakeWorkerHost::run_once(milliseconds max_wait) {
  if (woken_.exchange(false)) max_wait = milliseconds(0);
  const auto now = clock_.now();
  std::optional<Clock::time_point> next;
  for (FakeWorker* w : workers_) {
    if (auto t = w->next_due()) next = next ? std::min(*next, *t) : *t;
  }
  const auto until = now + max_wait;
  if (!next || *next > until) {
    advance_(max_wait);
    return;
  }
  if (*next > now) advance_(std::chrono::ceil<milliseconds>(*next - now));
  const auto at = clock_.now();
  // A copy: a listener may start or remove workers while it is told.
  const std::vector<FakeWorker*> due = workers_;
  for (FakeWorker* w : due) {
    if (std::find(workers_.begin(), workers_.end(), w) == workers_.end()) continue;
    if (auto t = w->next_due(); t && *t <= at) w->fire(at);
  }
}

void FakeWorkerHost::wake() { woken_ = true; }

}  // namespace sgeventd::workers
