#include "daemon/health.h"

#include "daemon/status_fields.h"

namespace sgeventd::daemon {

std::vector<std::string> health_problems(const Value& status, const HealthThresholds& limits) {
  std::vector<std::string> out;
  if (!status.is_dict()) {
    out.emplace_back("starting: no status yet");
    return out;
  }
  if (const auto failures = field_integer(status["poll_failures"]);
      failures >= limits.poll_failures) {
    out.push_back("the site: " + std::to_string(failures) +
                  " failed reads of the event log in a row");
  }
  if (const auto waited = field_integer(status["site_read_s"]); waited > 0) {
    out.push_back("the site: a read of the event log has taken " + std::to_string(waited) +
                  " s so far");
  }
  if (status["state_writable"].is_bool() && !status["state_writable"].as_bool()) {
    out.emplace_back("the state cannot be written (cursors are held until it can)");
  }
  if (const List* plugins = status["plugins"].if_list()) {
    for (const Value& p : *plugins) {
      const std::string name = field_text(p["name"]);
      const std::string state = field_text(p["state"]);
      const std::string reason = field_text(p["reason"]);
      // "not loaded" with a reason: its load failed (without one it is still loading).
      if (state == "deactivated" || state == "waiting" ||
          (state == "not loaded" && !reason.empty())) {
        out.push_back("plugin " + name + " is " + state + (reason.empty() ? "" : ": " + reason));
      }
      if (field_text(p["worker"]) == "quarantined") {
        const std::string why = field_text(p["worker_failure"]);
        out.push_back("plugin " + name + ": its worker is quarantined" +
                      (why.empty() ? "" : " (" + why + ")"));
      }
      // A plugin an operator disabled is off on purpose: neither it nor its lag is a problem.
      if (state == "disabled") continue;
      if (const auto lag = field_integer(p["lag"]); lag > limits.max_lag) {
        out.push_back("plugin " + name + " trails the feed by " + std::to_string(lag) +
                      " event ids (health_max_lag " + std::to_string(limits.max_lag) + ")");
      }
    }
  }
  return out;
}

}  // namespace sgeventd::daemon
