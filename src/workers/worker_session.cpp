#include "workers/worker_session.h"

#include <signal.h>

#include <type_traits>
#include <utility>

namespace sgeventd::workers {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string seq_text(std::uint64_t seq) { return std::to_string(seq); }

}  // namespace

WorkerSession::WorkerSession(SessionOptions options, SessionListener& listener, Clock& clock)
    : options_(std::move(options)), listener_(listener), clock_(clock) {
  if (options_.window == 0) options_.window = 1;
}

WorkerSession::~WorkerSession() = default;  // ~WorkerProcess kills a process still running

::sgeventd::Expected<std::unique_ptr<WorkerSession>, WorkerError> WorkerSession::start(
    const SpawnSpec& spec, SessionOptions options, SessionListener& listener, Clock& clock) {
  std::unique_ptr<WorkerSession> session(new WorkerSession(std::move(options), listener, clock));
  WorkerSession* self = session.get();
  WorkerProcess::Sink sink;
  sink.on_line = [self](std::string_view line) { self->on_line(line); };
  sink.on_stderr = [self](std::string_view line) { self->listener_.on_stderr(*self, line); };
  auto process = WorkerProcess::spawn(spec, std::move(sink));
  if (!process) return tl::unexpected(process.error());
  session->process_ = std::move(*process);
  session->process_->send(encode_hello(session->options_.hello));
  session->deadline_ = clock.now() + session->options_.hello_timeout;
  return session;
}

::sgeventd::Expected<std::uint64_t, std::string> WorkerSession::send_event(
    std::string_view event_json, const std::vector<CallbackRef>& callbacks, bool late) {
  if (!ready()) return tl::unexpected(std::string("the worker is not ready"));
  if (in_flight_.size() >= options_.window) {
    return tl::unexpected(std::string("the pipeline window is full"));
  }
  const std::uint64_t seq = queue_in_flight(InFlight::Kind::kEvent, callbacks.size());
  process_->compose([&](std::string& out) { append_event(out, seq, late, event_json, callbacks); });
  return seq;
}

::sgeventd::Expected<std::uint64_t, std::string> WorkerSession::ping() {
  if (!ready()) return tl::unexpected(std::string("the worker is not ready"));
  if (in_flight_.size() >= options_.window) {
    return tl::unexpected(std::string("the pipeline window is full"));
  }
  const std::uint64_t seq = queue_in_flight(InFlight::Kind::kPing, 0);
  process_->send(encode_ping(seq));
  return seq;
}

std::uint64_t WorkerSession::queue_in_flight(InFlight::Kind kind, std::size_t callbacks) {
  const auto now = clock_.now();
  InFlight f{next_seq_++, kind, callbacks, now, now};
  // Behind other messages it starts only when the one before is answered (pop_in_flight).
  in_flight_.push_back(f);
  return f.seq;
}

void WorkerSession::pop_in_flight() {
  in_flight_.pop_front();
  if (!in_flight_.empty()) {
    const auto now = clock_.now();
    InFlight& next = in_flight_.front();
    next.started_at = next.sent_at > now ? next.sent_at : now;
  }
}

void WorkerSession::shutdown(std::chrono::milliseconds grace) {
  if (state_ == State::kClosed || state_ == State::kStopping) return;
  state_ = State::kStopping;
  process_->send(encode_shutdown(grace.count()));
  deadline_ = clock_.now() + grace;
}

void WorkerSession::abort(WorkerError error) {
  if (state_ == State::kClosed) return;
  if (!error_) error_ = std::move(error);
  if (state_ != State::kStopping) state_ = State::kStopping;
  deadline_.reset();
  process_->terminate(clock_.now() + options_.kill_grace);
}

void WorkerSession::fail(WorkerError::Kind kind, std::string message) {
  abort(WorkerError{kind, std::move(message), std::nullopt});
}

void WorkerSession::on_line(std::string_view line) {
  if (error_ || state_ == State::kClosed) return;  // already failing: the rest is noise
  auto message = parse_worker_message(line);
  if (!message) {
    std::string shown(line.substr(0, 200));
    fail(WorkerError::Kind::kProtocol, message.error() + " in line: " + shown);
    return;
  }
  on_message(*message);
}

void WorkerSession::on_message(WorkerMessage& message) {
  auto unexpected = [this](const char* what) {
    fail(WorkerError::Kind::kProtocol, std::string("unexpected ") + what + " message");
  };
  std::visit(Overloaded{
                 // In kStopping, hello, loaded and load_failed answer what was sent before the
                 // shutdown (a reload cut the start short): expected, not a protocol error.
                 [&](WorkerHello& m) {
                   if (state_ == State::kStopping) return;
                   if (state_ != State::kHandshake) return unexpected("hello");
                   if (m.protocol != kProtocolVersion) {
                     return fail(WorkerError::Kind::kVersion,
                                 "the worker answered protocol " + std::to_string(m.protocol) +
                                     "; this daemon speaks " + std::to_string(kProtocolVersion));
                   }
                   worker_hello_ = m;
                   listener_.on_hello(*this, m);
                   state_ = State::kLoading;
                   send_next_load();
                 },
                 [&](Loaded& m) {
                   if (state_ == State::kStopping) return;
                   if (state_ != State::kLoading) return unexpected("loaded");
                   if (m.plugin != options_.plugins[next_plugin_].name) {
                     return fail(WorkerError::Kind::kProtocol,
                                 "loaded for \"" + m.plugin + "\", expected \"" +
                                     options_.plugins[next_plugin_].name + "\"");
                   }
                   listener_.on_loaded(*this, m);
                   ++next_plugin_;
                   send_next_load();
                 },
                 [&](LoadFailed& m) {
                   if (state_ == State::kStopping) return;
                   if (state_ != State::kLoading) return unexpected("load_failed");
                   if (m.plugin != options_.plugins[next_plugin_].name) {
                     return fail(WorkerError::Kind::kProtocol,
                                 "load_failed for \"" + m.plugin + "\", expected \"" +
                                     options_.plugins[next_plugin_].name + "\"");
                   }
                   listener_.on_load_failed(*this, m);
                   ++next_plugin_;
                   send_next_load();
                 },
                 [&](Result& m) {
                   if (in_flight_.empty() || in_flight_.front().kind != InFlight::Kind::kEvent ||
                       in_flight_.front().seq != m.seq) {
                     return fail(WorkerError::Kind::kProtocol,
                                 "result for seq " + seq_text(m.seq) + ", expected " +
                                     (in_flight_.empty() ? std::string("nothing")
                                                         : "an answer to seq " +
                                                               seq_text(in_flight_.front().seq)));
                   }
                   const InFlight answered = in_flight_.front();
                   pop_in_flight();
                   listener_.on_result(*this, answered, m);
                 },
                 [&](Pong& m) {
                   if (in_flight_.empty() || in_flight_.front().kind != InFlight::Kind::kPing ||
                       in_flight_.front().seq != m.seq) {
                     return fail(WorkerError::Kind::kProtocol,
                                 "pong for seq " + seq_text(m.seq) + ", expected " +
                                     (in_flight_.empty() ? std::string("nothing")
                                                         : "an answer to seq " +
                                                               seq_text(in_flight_.front().seq)));
                   }
                   const InFlight answered = in_flight_.front();
                   pop_in_flight();
                   listener_.on_pong(*this, answered);
                 },
                 [&](LogMessage& m) { listener_.on_log(*this, m); },
                 [&](Bye&) {
                   if (state_ != State::kStopping) return unexpected("bye");
                   said_bye_ = true;
                 },
                 [&](ErrorMessage& m) {
                   // During the handshake an error means "no common version" (the worker exits 3).
                   if (state_ == State::kHandshake) {
                     return fail(WorkerError::Kind::kVersion,
                                 "the worker refused the handshake: " + m.message);
                   }
                   listener_.on_worker_error(*this, m);
                 },
                 [&](UnknownMessage& m) { listener_.on_unknown(*this, m); },
             },
             message);
}

void WorkerSession::send_next_load() {
  if (next_plugin_ < options_.plugins.size()) {
    PluginRef ref = options_.plugins[next_plugin_];
    // Only a worker that said it notes completions is told where (others would ignore it,
    // but the daemon must not count on notes nobody writes).
    if (!worker_hello_ || !worker_hello_->has_feature("completions")) ref.completions.clear();
    process_->send(encode_load(ref));
    deadline_ = clock_.now() + options_.load_timeout;
    return;
  }
  deadline_.reset();
  state_ = State::kReady;
  listener_.on_ready(*this);
}

void WorkerSession::handle(const pollfd* fds, std::size_t count) {
  if (state_ == State::kClosed) return;
  process_->handle(fds, count);
  check_process();
  tick();
}

void WorkerSession::check_process() {
  if (state_ == State::kClosed) return;
  if (const auto& io = process_->error(); io && !error_ && state_ != State::kStopping) {
    fail(io->kind, io->message);
  }
  if (process_->output_closed() && process_->running() && !eof_deadline_) {
    // Usually the exit follows at once; give it kill_grace to say how it ended.
    eof_deadline_ = clock_.now() + options_.kill_grace;
  }
  if (!process_->exit_status()) return;

  SessionEnd end;
  end.exit = *process_->exit_status();
  if (!error_ && !(state_ == State::kStopping && said_bye_ && end.exit.clean())) {
    std::string what;
    switch (state_) {
      case State::kHandshake:
        what = "exited during the handshake";
        break;
      case State::kLoading:
        what = "exited while loading plugins";
        break;
      case State::kStopping:
        what = said_bye_ ? "exited with an error after bye" : "exited without saying bye";
        break;
      default:
        what = "exited unexpectedly";
        break;
    }
    error_ = WorkerError{WorkerError::Kind::kExited, what, std::nullopt};
  }
  // A worker asked to stop that said bye and exited 0 ends cleanly even if it was killed
  // for lateness before; any other end carries its first error.
  if (state_ == State::kStopping && said_bye_ && end.exit.clean()) error_.reset();
  if (error_) {
    end.error = error_;
    end.error->exit = end.exit;
  }
  end.lost.assign(in_flight_.begin(), in_flight_.end());
  in_flight_.clear();
  state_ = State::kClosed;
  deadline_.reset();
  eof_deadline_.reset();
  listener_.on_closed(*this, end);
}

void WorkerSession::tick() {
  if (state_ == State::kClosed) return;
  const auto now = clock_.now();
  if (deadline_ && now >= *deadline_) {
    deadline_.reset();
    switch (state_) {
      case State::kHandshake:
        fail(WorkerError::Kind::kTimeout,
             "no hello within " + std::to_string(options_.hello_timeout.count()) + " ms");
        break;
      case State::kLoading:
        fail(WorkerError::Kind::kTimeout,
             "no answer to loading \"" + options_.plugins[next_plugin_].name + "\" within " +
                 std::to_string(options_.load_timeout.count()) + " ms");
        break;
      case State::kStopping:
        fail(WorkerError::Kind::kTimeout, "did not exit within the shutdown grace period");
        break;
      default:
        break;
    }
  }
  if (eof_deadline_ && now >= *eof_deadline_ && process_->running()) {
    eof_deadline_ = now + options_.kill_grace;  // once, then wait for the kill to land
    if (!error_) fail(WorkerError::Kind::kExited, "the worker closed its standard output");
  }
  process_->tick(now);
}

std::optional<Clock::time_point> WorkerSession::next_deadline() const {
  std::optional<Clock::time_point> next = deadline_;
  auto consider = [&](const std::optional<Clock::time_point>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  consider(eof_deadline_);
  consider(process_->kill_deadline());
  return next;
}

}  // namespace sgeventd::workers
