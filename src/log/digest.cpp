#include "log/digest.h"

#include <fmt/format.h>

#include "log/format.h"

namespace sgeventd::log {

namespace {

std::string key_of(const Recipients& to) {
  std::string key;
  for (const auto& address : to) key += address + '\n';
  return key;
}

std::string window_text(std::chrono::steady_clock::duration window) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(window).count();
  if (seconds % 60 == 0) return fmt::format("{} minute{}", seconds / 60, seconds == 60 ? "" : "s");
  return fmt::format("{} seconds", seconds);
}

}  // namespace

std::string alert_body(const Alert& alert) {
  std::string body =
      fmt::format("Time: {}\nLogger: {}\n", python_asctime(alert.time), alert.logger);
  if (!alert.path.empty()) body += fmt::format("Path: {}\n", alert.path);
  if (!alert.function.empty()) body += fmt::format("Function: {}\n", alert.function);
  if (alert.line > 0) body += fmt::format("Line: {}\n", alert.line);
  body += '\n';
  body += alert.message;
  return body;
}

std::string alert_subject(const std::string& subject_prefix, spdlog::level::level_enum level) {
  std::string_view what =
      level >= spdlog::level::critical ? "CRITICAL - SG event daemon." : "ERROR - SG event daemon.";
  if (subject_prefix.empty()) return std::string(what);
  return fmt::format("{} {}", subject_prefix, what);
}

DigestBatcher::DigestBatcher(DigestPolicy policy, std::string subject_prefix)
    : policy_(policy), subject_prefix_(std::move(subject_prefix)) {}

std::optional<OutgoingMail> DigestBatcher::add(const Recipients& to, Alert alert, Time now) {
  if (to.empty()) return std::nullopt;
  std::string key = key_of(to);
  auto found = storms_.find(key);
  if (found == storms_.end()) {
    // Quiet until now: mail at once, and open a window.
    Storm& storm = storms_[key];
    storm.to = to;
    storm.window_end = now + policy_.window;
    storm.total = 1;
    storm.began = alert.time;
    return OutgoingMail{to, alert_subject(subject_prefix_, alert.level), alert_body(alert), 1};
  }
  Storm& storm = found->second;
  ++storm.total;
  ++storm.pending;
  if (alert.level >= spdlog::level::critical) ++storm.pending_critical;
  if (auto counted = storm.by_logger.find(alert.logger); counted != storm.by_logger.end()) {
    ++counted->second;
  } else if (storm.by_logger.size() < policy_.max_loggers) {
    storm.by_logger.emplace(alert.logger, 1);
  } else {
    ++storm.other_loggers;
  }
  if (storm.samples.size() < policy_.samples) storm.samples.push_back(std::move(alert));
  return std::nullopt;
}

std::vector<OutgoingMail> DigestBatcher::due(Time now) {
  std::vector<OutgoingMail> mails;
  for (auto it = storms_.begin(); it != storms_.end();) {
    Storm& storm = it->second;
    if (now < storm.window_end) {
      ++it;
    } else if (storm.pending == 0) {
      it = storms_.erase(it);  // the storm is over
    } else {
      mails.push_back(digest(storm));
      storm.window_end = now + policy_.window;
      ++it;
    }
  }
  return mails;
}

std::vector<OutgoingMail> DigestBatcher::drain() {
  std::vector<OutgoingMail> mails;
  for (auto& [key, storm] : storms_) {
    if (storm.pending > 0) mails.push_back(digest(storm));
  }
  storms_.clear();
  return mails;
}

std::optional<DigestBatcher::Time> DigestBatcher::next_deadline() const {
  std::optional<Time> next;
  for (const auto& [key, storm] : storms_) {
    if (!next || storm.window_end < *next) next = storm.window_end;
  }
  return next;
}

OutgoingMail DigestBatcher::digest(Storm& storm) {
  std::size_t pending = storm.pending;
  std::size_t critical = storm.pending_critical;
  std::string body = fmt::format(
      "{} more ERROR or CRITICAL record{} since the last mail ({} since {}).\n"
      "Mails to these recipients are limited to one per {}; the records in between are "
      "summarised here.\n\n",
      pending, pending == 1 ? "" : "s", storm.total, python_asctime(storm.began),
      window_text(policy_.window));
  body +=
      fmt::format("By level: ERROR {}, CRITICAL {}\nBy logger:\n", pending - critical, critical);
  for (const auto& [logger, count] : storm.by_logger)
    body += fmt::format("  {}: {}\n", logger, count);
  if (storm.other_loggers > 0) body += fmt::format("  (other loggers): {}\n", storm.other_loggers);
  body += fmt::format("\nThe first {} record{}:\n", storm.samples.size(),
                      storm.samples.size() == 1 ? "" : "s");
  for (const Alert& alert : storm.samples) body += "\n----\n" + alert_body(alert) + "\n";
  if (pending > storm.samples.size()) {
    body += fmt::format("\n----\n{} more not shown here; the log files have every one.\n",
                        pending - storm.samples.size());
  }
  std::string subject =
      alert_subject(subject_prefix_, critical > 0 ? spdlog::level::critical : spdlog::level::err);
  subject += fmt::format(" (digest of {})", pending);

  OutgoingMail mail{storm.to, std::move(subject), std::move(body), pending};
  storm.pending = 0;
  storm.pending_critical = 0;
  storm.by_logger.clear();
  storm.other_loggers = 0;
  storm.samples.clear();
  return mail;
}

}  // namespace sgeventd::log
