// Keeps this daemon's leader lease (docs/high-availability.md): takes it when free (standby),
// renews it every third of its length (leader), and says whether events may be dispatched.
//
// The lease is counted on this host's monotonic clock from the moment before each request was
// sent, less a margin, so the daemon stops dispatching before the database can consider the
// lease expired, however long a renewal hangs and whatever the wall clocks say. A daemon that
// was paused (SIGSTOP, a VM freeze) finds its deadline passed the moment it runs again, before
// it dispatches anything: may_dispatch() is checked before every send.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sgeventd/clock.h"
#include "sgeventd/state/leader_lease.h"

namespace spdlog {
class logger;
}

namespace sgeventd::daemon {

class LeaseKeeper {
 public:
  LeaseKeeper(state::LeaderLease& lease, std::chrono::milliseconds length, Clock& clock,
              std::shared_ptr<spdlog::logger> log);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // One attempt to take the lease (a standby calls it every poll_every()). True when held.
  bool try_take();
  // How often a standby tries: a third of the lease, at most 1 s (a takeover comes within a
  // second of the expiry).
  std::chrono::milliseconds poll_every() const;

  // Renews from a thread of its own until stop() or the lease is lost.
  void start_renewing();
  void stop_renewing();
  // One renewal (the thread's step; tests call it on a manual clock).
  void renew_once();
  // Gives the lease up (a clean stop), after stop_renewing().
  void release();

  // Held and within its deadline: events may go to workers.
  bool may_dispatch() const;
  // Another daemon took the lease, or its deadline passed unrenewed: the leader must stop
  // and stand by again.
  bool lost() const;
  // Why lost() (for the log), empty while held.
  std::string lost_reason() const;

  struct Snapshot {
    std::string role;  // "leader", "standby"
    std::int64_t epoch = 0;
    std::string holder;                          // this daemon
    std::chrono::milliseconds since_renewal{0};  // leader: age of the last renewal
    std::chrono::milliseconds remaining{0};      // leader: until its deadline
  };
  Snapshot snapshot() const;

 private:
  // The deadline for a grant asked for at `asked`.
  Clock::time_point deadline_for(Clock::time_point asked, const state::LeaseGrant& grant) const;
  void lose(const std::string& why);

  state::LeaderLease& lease_;
  const std::chrono::milliseconds length_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;

  mutable std::mutex mutex_;
  std::int64_t epoch_ = 0;  // 0: not held
  Clock::time_point deadline_{};
  Clock::time_point renewed_at_{};
  Clock::time_point next_renewal_{};
  std::string lost_reason_;
  bool failing_ = false;       // renewals failing (logged once)
  bool asking_fails_ = false;  // try_take failing (logged once)

  std::thread thread_;
  std::condition_variable wake_;
  bool stop_ = false;
};

}  // namespace sgeventd::daemon
