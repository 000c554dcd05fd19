// Demo activity on the embedded sandbox ([sandbox] activity_rate): a thread that edits a Shot
// through the api3 client a few times a second (its description, and now and then its status),
// so a new user sees events flow through the plugins at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/logger.h>

namespace sgeventd::daemon {

class Activity {
 public:
  Activity(std::string url, std::string script, std::string key, int per_second,
           std::shared_ptr<spdlog::logger> log);
  ~Activity();  // stops and joins
  Activity(const Activity&) = delete;
  Activity& operator=(const Activity&) = delete;

 private:
  void run(std::string url, std::string script, std::string key, int per_second);

  std::shared_ptr<spdlog::logger> log_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
};

}  // namespace sgeventd::daemon
