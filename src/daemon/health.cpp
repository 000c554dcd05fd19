#include "daemon/health.h"

namespace sgeventd::daemon {
namespace {

std::int64_t integer(const Value& v, std::int64_t otherwise = 0) {
  return v.if_int().value_or(otherwise);
}

std::string text(const Value& v) {
  const std::string* s = v.if_string();
  return s ? *s : std::string();
}

}  // namespace

std::vector<std::string> health_problems(const Value& status, const HealthThresholds& limits) {
  std::vector<std::string> out;
  if (!status.is_dict()) {
    out.emplace_back("starting: no status yet");
    return out;
  }
  if (const auto failures = integer(status["poll_failures"]); failures >= limits.poll_failures) {
    out.push_back("the site: " + std::to_string(failures) +
                  " failed reads of the event log in a row");
  }
  if (const auto waited = integer(status["site_read_s"]); waited > 0) {
    out.push_back("the site: a read of the event log has taken " + std::to_string(waited) +
                  " s so far");
  }
  if (status["state_writable"].is_bool() && !status["state_writable"].as_bool()) {
    out.emplace_back("the state cannot be written (cursors are held until it can)");
  }
  if (const List* plugins = status["plugins"].if_list()) {
    for (const Value& p : *plugins) {
      const std::string name = text(p["name"]);
      const std::string state = text(p["state"]);
      const std::string reason = text(p["reason"]);
      // "not loaded" with a reason: its load failed (without one it is still loading).
      if (state == "deactivated" || state == "waiting" ||
          (state == "not loaded" && !reason.empty())) {
        out.push_back("plugin " + name + " is " + state + (reason.empty() ? "" : ": " + reason));
      }
      if (text(p["worker"]) == "quarantined") {
        const std::string why = text(p["worker_failure"]);
        out.push_back("plugin " + name + ": its worker is quarantined" +
                      (why.empty() ? "" : " (" + why + ")"));
      }
      if (const auto lag = integer(p["lag"]); lag > limits.max_lag) {
        out.push_back("plugin " + name + " trails the feed by " + std::to_string(lag) +
                      " event ids (health_max_lag " + std::to_string(limits.max_lag) + ")");
      }
    }
  }
  return out;
}

}  // namespace sgeventd::daemon
