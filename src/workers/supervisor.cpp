#include "workers/supervisor.h"

#include <algorithm>
#include <utility>

namespace sgeventd::workers {

Supervisor::Supervisor(SupervisorOptions options, std::vector<std::string> watch_paths,
                       Clock& clock, FileWatch::StatFn stat, std::function<double()> uniform01)
    : options_(options),
      clock_(clock),
      watch_(std::move(watch_paths), std::move(stat)),
      restarts_(options.restart, clock, std::move(uniform01)),
      health_(options.health, clock) {
  restart_at_ = clock_.now();
  next_file_check_ = clock_.now() + options_.reload_check_interval;
}

Supervisor::Step Supervisor::poll(const Worker* session) {
  if (session == nullptr || session->closed()) return poll(nullptr, {});
  return poll(&session->in_flight(), [session] { return session->rss_bytes(); });
}

Supervisor::Step Supervisor::poll(const std::deque<InFlight>* in_flight,
                                  const HealthMonitor::RssReader& rss) {
  const auto now = clock_.now();
  bool files_changed = false;
  if (now >= next_file_check_) {
    next_file_check_ = now + options_.reload_check_interval;
    files_changed = watch_.changed();
  }
  Step step = decide(in_flight, rss, now, files_changed);
  step.files_changed = files_changed;
  return step;
}

Supervisor::Step Supervisor::decide(const std::deque<InFlight>* in_flight,
                                    const HealthMonitor::RssReader& rss, Clock::time_point now,
                                    bool files_changed) {
  if (files_changed) {
    // A new version gets a clean slate, as shotgunEvents reactivates a plugin whose file
    // changed: forget past failures and lift a quarantine.
    restarts_.reset();
    if (state_ == State::kRunning && in_flight) {
      restart_requested_ = true;
      return {Step::Action::kRestart, std::nullopt, "the plugin changed on disk"};
    }
    if (state_ == State::kQuarantined || state_ == State::kWaiting) {
      state_ = State::kStarting;
      restart_at_ = now;
    }
  }

  if (in_flight) {
    if (state_ != State::kRunning || restart_requested_) return {};
    if (auto error = health_.check(*in_flight, rss)) {
      return {Step::Action::kAbort, error, error->describe()};
    }
    return {};
  }
  if ((state_ == State::kStarting || state_ == State::kWaiting) && now >= restart_at_) {
    return {Step::Action::kStart, std::nullopt,
            restarts_.consecutive_failures() > 0 ? "restart after: " + last_failure_ : "start"};
  }
  return {};
}

void Supervisor::started() {
  state_ = State::kRunning;
  restart_requested_ = false;
  progressed_ = false;
  restarts_.started();
}

void Supervisor::reload() {
  restarts_.reset();
  if (state_ == State::kRunning) {
    restart_requested_ = true;
    return;
  }
  state_ = State::kStarting;
  restart_at_ = clock_.now();
}

void Supervisor::start_failed(const WorkerError& error) {
  restarts_.started();
  progressed_ = false;
  failed(error.describe());
}

void Supervisor::ended(const SessionEnd& end) {
  if (restart_requested_ || !end.error) {
    restart_requested_ = false;
    state_ = State::kStarting;
    restart_at_ = clock_.now();
    return;
  }
  WorkerError error = *end.error;
  if (!error.exit) error.exit = end.exit;
  failed(error.describe());
}

void Supervisor::failed(const std::string& why) {
  last_failure_ = why;
  const auto decision = restarts_.failed(std::exchange(progressed_, false));
  if (decision.quarantine) {
    state_ = State::kQuarantined;
    return;
  }
  state_ = State::kWaiting;
  restart_at_ = decision.restart_at;
}

Clock::time_point Supervisor::next_poll(const Worker* session) const {
  Clock::time_point next = next_file_check_;
  if (session && !session->closed()) {
    if (auto t = health_.next_check(session->in_flight())) next = std::min(next, *t);
  } else if (state_ == State::kStarting || state_ == State::kWaiting) {
    next = std::min(next, restart_at_);
  }
  return next;
}

}  // namespace sgeventd::workers
