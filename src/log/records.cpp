#include "log/records.h"

#include <cmath>

#include <fmt/format.h>

#include "log/format.h"

namespace sgeventd::log {

std::chrono::system_clock::time_point time_from_unix_seconds(double seconds) {
  auto micros = static_cast<std::int64_t>(std::llround(seconds * 1e6));
  return std::chrono::system_clock::time_point(std::chrono::microseconds(micros));
}

std::string format_timing_message(const TimingRecord& record) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  std::string_view callback = record.callback;
  if (callback.substr(0, 7) == "plugin.") callback.remove_prefix(7);
  return fmt::format(
      "event_id={} created_at={} callback={} start={} end={} duration={} error={} delay={}",
      record.event_id, iso_local(record.created_at), callback, iso_local(record.start),
      iso_local(record.end),
      pretty_timedelta(duration_cast<microseconds>(record.end - record.start)),
      record.error ? "True" : "False",
      pretty_timedelta(duration_cast<microseconds>(record.start - record.created_at)));
}

}  // namespace sgeventd::log
