#include "sandbox/connection_threads.h"

#include <utility>

namespace sgeventd::sandbox {

void ConnectionThreads::enqueue(std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;  // the server is stopping: httplib closes what it accepted
  queue_.push_back(std::move(fn));
  // Every idle thread may already be claimed by a connection queued before this one.
  if (idle_ < queue_.size() && threads_.size() < max_) {
    threads_.emplace_back([this] { serve(); });
  } else {
    work_.notify_one();
  }
}

void ConnectionThreads::serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, nothing left
    auto fn = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    fn();
    lock.lock();
  }
}

void ConnectionThreads::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  work_.notify_all();
  for (auto& t : threads) t.join();
}

}  // namespace sgeventd::sandbox
