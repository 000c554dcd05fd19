// The sandbox server's connections, a thread each (cpp-httplib serves a keep-alive connection
// on one thread for its whole life). httplib's own pool has a fixed number of threads: once
// that many clients sit on their connections (idle keep-alives, or slow senders dribbling a
// header) every other request waits behind them. This pool makes a thread whenever every
// thread is busy, up to `max_threads`, and keeps the ones it made for the next connections.
// Only past max_threads do connections wait for a free thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace sgeventd::sandbox {

class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::size_t max_threads) : max_(max_threads ? max_threads : 1) {}
  ~ConnectionThreads() override { shutdown(); }
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then joins every thread.
  void shutdown() override;

 private:
  void serve();

  const std::size_t max_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace sgeventd::sandbox
