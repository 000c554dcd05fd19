#include "workers/child_registry.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <atomic>
#include <set>

namespace sgeventd::workers::child_registry {
namespace {

std::set<pid_t>& owned() {
  static std::set<pid_t> pids;
  return pids;
}

std::atomic<bool> subreaper{false};

}  // namespace

std::mutex& mutex() {
  static std::mutex m;
  return m;
}

void add(pid_t pid) { owned().insert(pid); }

void remove(pid_t pid) {
  std::lock_guard lock(mutex());
  owned().erase(pid);
}

bool become_subreaper() {
  if (subreaper) return true;
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return false;
  subreaper = true;
  return true;
}

int reap_orphans() {
  if (!subreaper) return 0;
  // A fork in progress holds the lock until its worker is registered (up to the server's
  // answer timeout): skip this sweep rather than stall the caller's loop.
  std::unique_lock lock(mutex(), std::try_to_lock);
  if (!lock.owns_lock()) return 0;
  int reaped = 0;
  // waitid shows one ended child at a time: an owned one stops the sweep (its owner reaps it
  // soon; the orphans behind it wait for the next sweep).
  for (int i = 0; i < 256; ++i) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) break;
    if (owned().count(info.si_pid)) break;
    siginfo_t gone{};
    if (::waitid(P_PID, static_cast<id_t>(info.si_pid), &gone, WEXITED | WNOHANG) != 0) break;
    ++reaped;
  }
  return reaped;
}

}  // namespace sgeventd::workers::child_registry
