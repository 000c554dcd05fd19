// The original daemon's text layouts, reproduced byte for byte where tools may parse them:
// file lines "asctime - name - LEVELNAME - message", foreground lines "LEVELNAME:name:message",
// the timing log's durations, plus sgeventd's JSON lines.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <spdlog/details/log_msg.h>

namespace sgeventd::log {

using WallTime = std::chrono::system_clock::time_point;

// Python logging's asctime in local time: "2024-01-02 03:04:05,123".
std::string python_asctime(WallTime time);

// Python's datetime.isoformat() of an aware local datetime: "2024-01-02T03:04:05.123456+01:00",
// the fraction left out when it is zero (as Python does).
std::string iso_local(WallTime time);

// UTC with microseconds, for JSON lines: "2024-01-02T03:04:05.123456Z".
std::string iso_utc(WallTime time);

// The local calendar date, "YYYY-MM-DD" (rotated files' suffix).
std::string local_date(WallTime time);

// The original's _prettyTimeDeltaFormat: "DD:HH:MM:SS.micro" from a floor division of the
// duration, so a negative half second is "-1:23:59:59.500000" exactly as Python prints it.
std::string pretty_timedelta(std::chrono::microseconds duration);

// One line per record, each ending in "\n". `payload` replaces msg.payload (already redacted
// or not: the caller decides).
std::string format_file_line(const spdlog::details::log_msg& msg, std::string_view payload);
std::string format_console_line(const spdlog::details::log_msg& msg, std::string_view payload);
// {"time", "level", "levelno", "logger", "plugin", "message", [file, line, function],
// ...fields of the thread's ScopedLogFields}. The plugin is the thread's ScopedLogPlugin (null
// when none).
std::string format_json_line(const spdlog::details::log_msg& msg, std::string_view payload);

}  // namespace sgeventd::log
