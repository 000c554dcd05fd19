// Rate limiting of error mails. Per recipient set: the first alert is mailed at once and opens
// a window; alerts arriving while it is open are counted and summarised in one digest mail
// when it closes, which opens the next window. A window that closes with nothing pending ends
// the storm, and the next alert is again mailed at once. So an error storm sends one mail,
// then at most one digest per window, whatever the number of records.
//
// Pure logic, driven by the caller's clock, so the policy is tested without waiting.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/common.h>

namespace sgeventd::log {

using Recipients = std::vector<std::string>;

struct Alert {
  std::chrono::system_clock::time_point time;
  spdlog::level::level_enum level = spdlog::level::err;
  std::string logger;
  std::string path;  // empty when unknown
  std::string function;
  int line = 0;
  std::string message;
};

struct DigestPolicy {
  std::chrono::steady_clock::duration window = std::chrono::minutes(5);
  std::size_t samples = 20;      // records quoted in full in a digest
  std::size_t max_loggers = 20;  // loggers counted by name; the rest as "others"
};

struct OutgoingMail {
  Recipients to;
  std::string subject;
  std::string body;
  std::size_t records = 0;  // alerts this mail reports
};

// The original's mail body for one record.
std::string alert_body(const Alert& alert);
// subject_prefix + " ERROR - SG event daemon." (or CRITICAL), as the original's handler.
std::string alert_subject(const std::string& subject_prefix, spdlog::level::level_enum level);

class DigestBatcher {
 public:
  using Time = std::chrono::steady_clock::time_point;

  DigestBatcher(DigestPolicy policy, std::string subject_prefix);

  // The mail to send now, or nothing when the alert joined a digest.
  std::optional<OutgoingMail> add(const Recipients& to, Alert alert, Time now);
  // Digests whose window has closed.
  std::vector<OutgoingMail> due(Time now);
  // Every pending digest, whatever its window (shutdown).
  std::vector<OutgoingMail> drain();
  // When due() next has something to do.
  std::optional<Time> next_deadline() const;

 private:
  struct Storm {
    Recipients to;
    Time window_end;
    std::size_t total = 0;  // records since the storm began, mailed or pending
    std::chrono::system_clock::time_point began;
    // Pending, for the next digest:
    std::size_t pending = 0;
    std::size_t pending_critical = 0;
    std::map<std::string, std::size_t> by_logger;
    std::size_t other_loggers = 0;
    std::vector<Alert> samples;
  };

  OutgoingMail digest(Storm& storm);

  DigestPolicy policy_;
  std::string subject_prefix_;
  std::map<std::string, Storm> storms_;  // by recipient set
};

}  // namespace sgeventd::log
