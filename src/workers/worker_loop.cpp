#include "workers/worker_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace sgeventd::workers {

WorkerLoop::WorkerLoop(Clock& clock) : clock_(clock) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

WorkerLoop::~WorkerLoop() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void WorkerLoop::add(WorkerSession& session) {
  if (std::find(sessions_.begin(), sessions_.end(), &session) == sessions_.end()) {
    sessions_.push_back(&session);
  }
}

void WorkerLoop::remove(WorkerSession& session) {
  // Nulled, not erased: run_once may be iterating (a callback removed it). Compacted after.
  for (auto& s : sessions_) {
    if (s == &session) s = nullptr;
  }
}

void WorkerLoop::wake() {
  if (wake_fd_ < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

bool WorkerLoop::run_once(std::chrono::milliseconds max_wait) {
  fds_.clear();
  ranges_.clear();
  if (wake_fd_ >= 0) fds_.push_back({wake_fd_, POLLIN, 0});
  auto wait = max_wait;
  const auto now = clock_.now();
  for (WorkerSession* s : sessions_) {
    ranges_.push_back(fds_.size());
    if (!s) continue;
    s->flush();
    s->poll_fds(fds_);
    if (auto deadline = s->next_deadline()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now);
      wait = std::clamp(left, std::chrono::milliseconds(0), wait);
    }
  }
  ranges_.push_back(fds_.size());

  const int n = ::poll(fds_.data(), fds_.size(), static_cast<int>(wait.count()));
  if (n < 0 && errno != EINTR) return false;
  if (wake_fd_ >= 0 && fds_[0].revents) {
    std::uint64_t value = 0;
    [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &value, sizeof value);
  }
  // Sessions added by callbacks during this pass wait for the next (their fds were not
  // polled); sessions removed are null and skipped.
  const std::size_t count = ranges_.size() - 1;
  for (std::size_t i = 0; i < count; ++i) {
    WorkerSession* s = sessions_[i];
    if (!s) continue;
    s->handle(fds_.data() + ranges_[i], ranges_[i + 1] - ranges_[i]);
  }
  sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), nullptr), sessions_.end());
  return true;
}

bool WorkerLoop::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return done();
    if (!run_once(std::min(left, std::chrono::milliseconds(100)))) return done();
  }
  return true;
}

}  // namespace sgeventd::workers
