#include "daemon/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sgeventd::daemon {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

LeaseKeeper::LeaseKeeper(state::LeaderLease& lease, milliseconds length, Clock& clock,
                         std::shared_ptr<spdlog::logger> log)
    : lease_(lease), length_(length), clock_(clock), log_(std::move(log)) {}

LeaseKeeper::~LeaseKeeper() { stop_renewing(); }

milliseconds LeaseKeeper::poll_every() const { return std::min(length_ / 3, milliseconds(1000)); }

Clock::time_point LeaseKeeper::deadline_for(Clock::time_point asked,
                                            const state::LeaseGrant& grant) const {
  // The database counts from when it ran the statement, later than `asked`: counting from
  // `asked` ends first. The margin covers the two clocks' rates differing.
  const milliseconds margin = std::max(length_ / 20, milliseconds(100));
  return asked + std::min(grant.valid_for, length_) - margin;
}

bool LeaseKeeper::try_take() {
  const auto asked = clock_.now();
  auto grant = lease_.try_acquire();
  if (!grant) {
    // Once per outage, not every second a standby asks.
    if (!asking_fails_) log_->warn("Cannot ask for the leader lease: {}", grant.error().describe());
    asking_fails_ = true;
    return false;
  }
  if (asking_fails_) log_->info("The leader lease can be asked for again");
  asking_fails_ = false;
  if (!*grant) return false;
  std::lock_guard lock(mutex_);
  epoch_ = (*grant)->epoch;
  deadline_ = deadline_for(asked, **grant);
  renewed_at_ = asked;
  next_renewal_ = asked + length_ / 3;
  lost_reason_.clear();
  failing_ = false;
  return true;
}

void LeaseKeeper::renew_once() {
  {
    std::lock_guard lock(mutex_);
    if (epoch_ == 0) return;
    if (clock_.now() < next_renewal_) return;
  }
  const auto asked = clock_.now();
  auto grant = lease_.renew();
  std::lock_guard lock(mutex_);
  if (epoch_ == 0) return;
  if (grant) {
    if (failing_) log_->warn("The leader lease is renewed again (epoch {})", epoch_);
    failing_ = false;
    deadline_ = deadline_for(asked, *grant);
    renewed_at_ = asked;
    next_renewal_ = asked + length_ / 3;
    return;
  }
  if (grant.error().kind == state::StateErrorKind::kFenced) {
    lost_reason_ = grant.error().message;
    epoch_ = 0;
    return;
  }
  // The database did not answer: try again soon; the deadline decides.
  if (!failing_) {
    log_->error("Cannot renew the leader lease (it runs for {} ms more): {}",
                duration_cast<milliseconds>(deadline_ - clock_.now()).count(),
                grant.error().describe());
  }
  failing_ = true;
  next_renewal_ = clock_.now() + std::clamp(length_ / 20, milliseconds(100), milliseconds(500));
}

void LeaseKeeper::start_renewing() {
  stop_renewing();
  {
    std::lock_guard lock(mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stop_ && epoch_ != 0 && clock_.now() < deadline_) {
      const auto wait = std::clamp(duration_cast<milliseconds>(next_renewal_ - clock_.now()),
                                   milliseconds(0), milliseconds(100));
      wake_.wait_for(lock, wait);
      if (stop_) break;
      lock.unlock();
      renew_once();
      lock.lock();
    }
  });
}

void LeaseKeeper::stop_renewing() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::release() {
  {
    std::lock_guard lock(mutex_);
    if (epoch_ == 0) return;
    epoch_ = 0;
  }
  if (auto r = lease_.release(); !r) {
    log_->warn("Could not give up the leader lease (a standby takes it when it expires): {}",
               r.error().describe());
  }
}

bool LeaseKeeper::may_dispatch() const {
  std::lock_guard lock(mutex_);
  return epoch_ != 0 && clock_.now() < deadline_;
}

bool LeaseKeeper::lost() const { return !may_dispatch(); }

std::string LeaseKeeper::lost_reason() const {
  std::lock_guard lock(mutex_);
  if (!lost_reason_.empty()) return lost_reason_;
  if (epoch_ != 0 && clock_.now() >= deadline_) {
    return "the lease ran out before it could be renewed (the database did not answer, or "
           "this daemon was paused)";
  }
  return epoch_ == 0 ? "the lease is not held" : "";
}

LeaseKeeper::Snapshot LeaseKeeper::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot s;
  s.holder = lease_.holder_id();
  const auto now = clock_.now();
  if (epoch_ != 0 && now < deadline_) {
    s.role = "leader";
    s.epoch = epoch_;
    s.since_renewal = duration_cast<milliseconds>(now - renewed_at_);
    s.remaining = duration_cast<milliseconds>(deadline_ - now);
  } else {
    s.role = "standby";
  }
  return s;
}

}  // namespace sgeventd::daemon
