#include "log/format.h"

#include <ctime>

#include <fmt/format.h>

#include "log/context.h"
#include "log/levels.h"
#include "sgeventd/json.h"
#include "sgeventd/value.h"

namespace sgeventd::log {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::system_clock;

struct Split {
  std::tm tm{};
  std::int64_t micros = 0;  // 0..999999
};

Split split(WallTime time, bool local) {
  auto since = duration_cast<microseconds>(time.time_since_epoch()).count();
  std::int64_t seconds = since / 1000000;
  std::int64_t micros = since % 1000000;
  if (micros < 0) {  // floor, for times before 1970
    micros += 1000000;
    seconds -= 1;
  }
  Split out;
  out.micros = micros;
  auto t = static_cast<std::time_t>(seconds);
  if (local) {
    localtime_r(&t, &out.tm);
  } else {
    gmtime_r(&t, &out.tm);
  }
  return out;
}

std::string date_time(const std::tm& tm, char separator) {
  return fmt::format("{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, separator, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string_view view(spdlog::string_view_t text) { return {text.data(), text.size()}; }

}  // namespace

std::string python_asctime(WallTime time) {
  Split s = split(time, true);
  return fmt::format("{},{:03}", date_time(s.tm, ' '), s.micros / 1000);
}

std::string iso_local(WallTime time) {
  Split s = split(time, true);
  std::string out = date_time(s.tm, 'T');
  if (s.micros != 0) out += fmt::format(".{:06}", s.micros);
  long offset = s.tm.tm_gmtoff;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  out += fmt::format("{}{:02}:{:02}", sign, offset / 3600, (offset % 3600) / 60);
  if (offset % 60 != 0) out += fmt::format(":{:02}", offset % 60);
  return out;
}

std::string iso_utc(WallTime time) {
  Split s = split(time, false);
  return fmt::format("{}.{:06}Z", date_time(s.tm, 'T'), s.micros);
}

std::string local_date(WallTime time) {
  Split s = split(time, true);
  return fmt::format("{:04}-{:02}-{:02}", s.tm.tm_year + 1900, s.tm.tm_mon + 1, s.tm.tm_mday);
}

std::string pretty_timedelta(microseconds duration) {
  constexpr std::int64_t kSecond = 1000000;
  constexpr std::int64_t kDay = 86400 * kSecond;
  std::int64_t total = duration.count();
  std::int64_t days = total / kDay;
  if (total % kDay < 0) days -= 1;  // floor, like Python's divmod
  std::int64_t rest = total - days * kDay;
  std::int64_t hours = rest / (3600 * kSecond);
  rest %= 3600 * kSecond;
  std::int64_t minutes = rest / (60 * kSecond);
  rest %= 60 * kSecond;
  return fmt::format("{:02}:{:02}:{:02}:{:02}.{:06}", days, hours, minutes, rest / kSecond,
                     rest % kSecond);
}

std::string format_file_line(const spdlog::details::log_msg& msg, std::string_view payload) {
  return fmt::format("{} - {} - {} - {}\n", python_asctime(msg.time), view(msg.logger_name),
                     level_name(msg.level), payload);
}

std::string format_console_line(const spdlog::details::log_msg& msg, std::string_view payload) {
  return fmt::format("{}:{}:{}\n", level_name(msg.level), view(msg.logger_name), payload);
}

std::string format_json_line(const spdlog::details::log_msg& msg, std::string_view payload) {
  Dict object;
  object.append("time", iso_utc(msg.time));
  object.append("level", level_name(msg.level));
  object.append("levelno", python_level(msg.level));
  object.append("logger", view(msg.logger_name));
  std::string_view plugin = current_log_plugin();
  object.append("plugin", plugin.empty() ? Value() : Value(plugin));
  object.append("message", payload);
  if (!msg.source.empty() && msg.source.filename != nullptr) {
    object.append("file", msg.source.filename);
    object.append("line", msg.source.line);
    if (msg.source.funcname != nullptr) object.append("function", msg.source.funcname);
  }
  // Extra fields never replace the fixed ones: a pipeline can rely on those.
  for (const auto& [key, value] : current_log_fields()) {
    if (!object.contains(key)) object.append(key, value);
  }
  std::string line = to_json(Value(std::move(object)), {.style = JsonStyle::Compact});
  line += '\n';
  return line;
}

}  // namespace sgeventd::log
