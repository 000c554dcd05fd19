#include "daemon/activity.h"

#include <chrono>

#include "sgeventd/sg/client.h"

namespace sgeventd::daemon {

Activity::Activity(std::string url, std::string script, std::string key, int per_second,
                   std::shared_ptr<spdlog::logger> log)
    : log_(std::move(log)) {
  thread_ = std::thread([this, url = std::move(url), script = std::move(script),
                         key = std::move(key), per_second] { run(url, script, key, per_second); });
}

Activity::~Activity() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cancel_->store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Activity::run(std::string url, std::string script, std::string key, int per_second) {
  sg::ConnectionSettings s;
  s.base_url = std::move(url);
  s.script_name = std::move(script);
  s.script_key = std::move(key);
  s.cancel = cancel_;
  auto client = sg::Client::create(std::move(s));
  if (!client) return;
  auto project = client->create("Project", Dict{{"name", "Demo"}});
  auto shot = client->create(
      "Shot", Dict{{"code", "sh010"},
                   {"project", project ? Value(Dict{{"type", "Project"}, {"id", (*project)["id"]}})
                                       : Value(nullptr)}});
  if (!shot) {
    log_->warn("Demo activity: cannot create a Shot: {}", shot.error().message);
    return;
  }
  const long long id = (*shot)["id"].as_int();
  log_->info("Demo activity: editing Shot {} {} time(s) a second", id, per_second);
  static const char* const statuses[] = {"wtg", "ip", "hld", "ip", "rev", "fin"};
  const auto period = std::chrono::microseconds(1'000'000 / std::max(1, per_second));
  for (long n = 1;; ++n) {
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, period, [this] { return stop_; })) return;
    }
    Dict change{{"description", "take " + std::to_string(n)}};
    if (n % 5 == 0) change["sg_status_list"] = statuses[(n / 5) % 6];
    if (auto r = client->update("Shot", id, change); !r) {
      log_->warn("Demo activity: update failed: {}", r.error().message);
    }
  }
}

}  // namespace sgeventd::daemon
