// What the daemon hands to the logging layer besides ordinary logger calls: a record that came
// from a worker (its logger name, level and time kept), and one timing-log entry.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "log/context.h"
#include "log/levels.h"

namespace sgeventd::log {

struct LogRecord {
  std::string logger;   // Python's logger name: "plugin.notify.onStatusChange", "engine", ...
  int level = kPyInfo;  // Python's number (the worker protocol's `level`)
  std::string message;
  // The record's own time (the protocol's `time`); now when empty.
  std::optional<std::chrono::system_clock::time_point> time;
  // Whose sinks, level and recipients apply. Empty: taken from a "plugin.<name>[.<callback>]"
  // logger name (pass it explicitly for plugin names containing dots), else the engine's.
  std::string plugin;
  std::string path;  // source location, when the sender knows it
  std::string function;
  int line = 0;
  std::vector<LogField> fields;  // extra JSON fields, e.g. {"event_id", 123}
};

// The protocol's float seconds since the epoch, to the microsecond.
std::chrono::system_clock::time_point time_from_unix_seconds(double seconds);

struct TimingRecord {
  std::int64_t event_id = 0;
  std::chrono::system_clock::time_point created_at;  // the event's
  // "<plugin>.<callback>"; a leading "plugin." (a callback logger's name) is removed.
  std::string callback;
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point end;
  bool error = false;
};

// "event_id=%d created_at=%s callback=%s start=%s end=%s duration=%s error=%s delay=%s" with
// the original's values: isoformat() local times, DD:HH:MM:SS.micro durations, True/False,
// delay = start - created_at.
std::string format_timing_message(const TimingRecord& record);

}  // namespace sgeventd::log
