// The daemon's logging, set up from the config as the original sets up Python's logging:
//
//   logMode 0: every record in the main log file <logPath>/<logFile>;
//   logMode 1: the engine's records there, each plugin's in <logPath>/plugin.<name>;
//   foreground: also "LEVEL:name:message" on stdout; log_json: JSON lines on stdout instead;
//   timing_log: <logFile>.timing, one line per callback run;
//   emails: ERROR and above mailed (per-plugin recipients, digests under a storm).
//
// Files rotate at local midnight, 10 kept. Registered secrets never reach any output.
// Thread-safe: any thread may log; sinks write synchronously except mail (email_alerts.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "log/console_sink.h"
#include "log/email_alerts.h"
#include "log/midnight_file_sink.h"
#include "log/records.h"
#include "log/redactor.h"

namespace sgeventd::log {

struct LoggingOptions {
  int mode = 1;                    // logMode
  std::filesystem::path log_path;  // empty: log_file as given
  std::string log_file = "shotgunEventDaemon";
  // false: no log file at all (main, plugins, timing), only the console and mail: a read-only
  // container logs to stdout ([daemon] log_files = off).
  bool files = true;
  int level = kPyInfo;  // Python's number, for the engine and every plugin
  bool timing_log = false;
  bool console = false;              // foreground: records on stdout too
  bool json = false;                 // stdout gets JSON lines (implies stdout output)
  EmailOptions email;                // email.enabled false: no mail
  std::vector<std::string> secrets;  // redacted from every output
  int backup_count = 10;
  std::chrono::milliseconds flush_interval{1000};  // for the buffered timing log

  // Test seams.
  NowFunction now;               // decides midnight for rotation
  ConsoleWriter console_writer;  // instead of stdout
  MailSender mail_sender;        // instead of SMTP
};

// reg.setEmails(...): True = the config's `to`, False = nobody, or these addresses.
struct PluginEmails {
  enum class Kind { kDefault, kNone, kList };
  Kind kind = Kind::kDefault;
  Recipients addresses;

  static PluginEmails defaults() { return {}; }
  static PluginEmails none() { return {Kind::kNone, {}}; }
  static PluginEmails to(Recipients addresses) { return {Kind::kList, std::move(addresses)}; }
};

class Logging {
 public:
  // Creates logPath if missing and opens the main (and timing) log. Fails with a message
  // naming the file when it cannot.
  static ::sgeventd::Expected<std::unique_ptr<Logging>, std::string> open(LoggingOptions options);
  ~Logging();  // shutdown(0): mail still queued is dropped
  Logging(const Logging&) = delete;
  Logging& operator=(const Logging&) = delete;

  // The engine's logger ("engine"): the daemon's own records. Errors mail the config's `to`.
  std::shared_ptr<spdlog::logger> engine() const;

  // The logger "plugin.<name>", made on first use with the plugin's file (logMode 1), level
  // and recipients. Opening a plugin file that fails falls back to the main log (and says so).
  std::shared_ptr<spdlog::logger> plugin(const std::string& name);

  // A record from anywhere with its own logger name, level, time and fields: the worker
  // protocol's `log` message. Filtered by its plugin's level (or the engine's), routed to that
  // plugin's sinks.
  void log(const LogRecord& record);

  // The same without the level check, for records already filtered where they were made: a
  // worker's `log` messages, whose Python logger levels decide (a plugin may change its own
  // with reg.logger.setLevel). Only the sinks' levels apply (mail: ERROR and above).
  void forward(const LogRecord& record);

  // Levels, as Python numbers. A plugin's override outlives its logger (reloads keep it).
  void set_level(int python_level);  // the engine's, and every plugin without an override
  void set_plugin_level(const std::string& plugin, int python_level);
  void set_plugin_emails(const std::string& plugin, PluginEmails emails);

  // One timing-log line (nothing when timing_log is off). Written whatever the level.
  void timing(const TimingRecord& record);
  bool timing_enabled() const { return timing_logger_ != nullptr; }

  // Secrets (script keys, passwords, session tokens) to mask in everything written from now on.
  void add_secret(std::string_view secret);
  const Redactor& redactor() const { return *redactor_; }

  void flush();
  // Every log file closed and opened again at its path (SIGUSR1, after logrotate moved them);
  // how many could not be opened.
  std::size_t reopen_files();
  // Flushes, then gives queued and digested mails up to `email_grace` to go out. Logging still
  // works afterwards (no more mail). Idempotent.
  void shutdown(std::chrono::milliseconds email_grace = std::chrono::seconds(5));

  // Where things are written (absolute).
  std::filesystem::path main_log_file() const;
  std::filesystem::path plugin_log_file(const std::string& plugin) const;
  std::filesystem::path timing_log_file() const;

  // Alert mails sent and dropped so far (for status and tests).
  std::size_t mails_sent() const;
  std::size_t mails_dropped() const;

  class RoutedLogger;

 private:
  explicit Logging(LoggingOptions options);
  ::sgeventd::Expected<void, std::string> start();
  struct PluginEntry;
  PluginEntry& plugin_entry_locked(const std::string& name);
  Recipients recipients_for(const PluginEmails& emails) const;
  void route(const LogRecord& record, bool check_level);
  std::filesystem::path file_in_log_path(const std::string& name) const;
  void flusher();

  LoggingOptions options_;
  std::shared_ptr<Redactor> redactor_;
  std::shared_ptr<MidnightFileSink> main_sink_;
  std::shared_ptr<ConsoleSink> console_sink_;
  std::shared_ptr<MidnightFileSink> timing_sink_;
  std::shared_ptr<spdlog::logger> timing_logger_;
  std::shared_ptr<EmailAlerts> alerts_;
  std::shared_ptr<RoutedLogger> engine_;

  mutable std::mutex mutex_;  // the maps below
  std::map<std::string, std::unique_ptr<PluginEntry>> plugins_;
  std::map<std::string, int> level_overrides_;
  std::map<std::string, PluginEmails> email_choices_;
  int level_;

  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool flusher_stop_ = false;
  std::thread flusher_;
  bool shut_down_ = false;
};

}  // namespace sgeventd::log
