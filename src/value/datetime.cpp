// Dates and datetimes with the protocol's rules (sg-protocol.md section 8).

#include <ctime>
#include <mutex>

#include "sgeventd/value.h"

namespace sgeventd {
namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

bool valid_time(int hour, int minute, int second) {
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;
}

std::optional<sys_seconds> wall_clock(int year, int month, int day, int hour, int minute,
                                      int second) {
  const Date date{year, month, day};
  if (!date.valid() || !valid_time(hour, minute, second)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  return sys_seconds{sys_days{ymd}} + seconds{hour * 3600 + minute * 60 + second};
}

// Writes a non-negative number with a fixed number of digits.
void put_digits(std::string& out, long long value, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 20);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(buf[--n]);
}

void put_calendar(std::string& out, sys_seconds t, char date_time_separator) {
  const sys_days day = std::chrono::floor<days>(t);
  const std::chrono::year_month_day ymd{day};
  const long long secs = (t - sys_seconds{day}).count();
  const int year = static_cast<int>(ymd.year());
  if (year < 0) out.push_back('-');
  put_digits(out, year < 0 ? -year : year, 4);
  out.push_back('-');
  put_digits(out, static_cast<unsigned>(ymd.month()), 2);
  out.push_back('-');
  put_digits(out, static_cast<unsigned>(ymd.day()), 2);
  out.push_back(date_time_separator);
  put_digits(out, secs / 3600, 2);
  out.push_back(':');
  put_digits(out, secs / 60 % 60, 2);
  out.push_back(':');
  put_digits(out, secs % 60, 2);
}

bool digits(std::string_view s, std::size_t pos, std::size_t count, int& out) {
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// mktime/localtime and the tzname globals are process-wide; serialise our use of them.
std::mutex& tz_mutex() {
  static std::mutex m;
  return m;
}

// The zone's standard and daylight offsets (seconds east of UTC) as Python's time module
// computes them at import: from January 1 and July 1 of the current year, the larger one
// being daylight time (so southern-hemisphere zones work too).
struct ZoneOffsets {
  std::int32_t standard = 0;
  std::int32_t daylight = 0;
};

ZoneOffsets current_zone_offsets() {
  const std::time_t now = std::time(nullptr);
  std::tm today{};
  localtime_r(&now, &today);
  const auto gmtoff_at = [&](int month) {
    std::tm probe{};
    probe.tm_year = today.tm_year;
    probe.tm_mon = month;
    probe.tm_mday = 1;
    probe.tm_isdst = -1;
    const std::time_t t = std::mktime(&probe);
    std::tm local{};
    localtime_r(&t, &local);
    return static_cast<std::int32_t>(local.tm_gmtoff);
  };
  const std::int32_t january = gmtoff_at(0);
  const std::int32_t july = gmtoff_at(6);
  return january <= july ? ZoneOffsets{january, july} : ZoneOffsets{july, january};
}

}  // namespace

bool Date::valid() const {
  if (month < 1 || month > 12 || day < 1) return false;
  const std::chrono::year_month_day_last last{
      std::chrono::year{year},
      std::chrono::month_day_last{std::chrono::month{static_cast<unsigned>(month)}}};
  return static_cast<unsigned>(day) <= static_cast<unsigned>(last.day());
}

std::string Date::to_string() const {
  std::string out;
  out.reserve(10);
  if (year < 0) out.push_back('-');
  put_digits(out, year < 0 ? -year : year, 4);
  out.push_back('-');
  put_digits(out, month, 2);
  out.push_back('-');
  put_digits(out, day, 2);
  return out;
}

std::optional<DateTime> DateTime::from_utc(int year, int month, int day, int hour, int minute,
                                           int second) {
  return from_offset(year, month, day, hour, minute, second, 0);
}

std::optional<DateTime> DateTime::from_offset(int year, int month, int day, int hour, int minute,
                                              int second, std::int32_t utc_offset) {
  auto wall = wall_clock(year, month, day, hour, minute, second);
  if (!wall) return std::nullopt;
  return DateTime{*wall - seconds{utc_offset}, utc_offset};
}

std::optional<DateTime> DateTime::from_local(int year, int month, int day, int hour, int minute,
                                             int second) {
  auto wall = wall_clock(year, month, day, hour, minute, second);
  if (!wall) return std::nullopt;
  // shotgun_api3 asks mktime/localtime whether the wall clock falls in daylight time, then
  // applies the zone's current standard or daylight offset (its LocalTimezone). Do the same so
  // naive values convert to the same UTC instant.
  std::int32_t offset = 0;
  {
    std::lock_guard lock(tz_mutex());
    tzset();
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    const std::time_t stamp = std::mktime(&tm);
    std::tm local{};
    const bool dst =
        stamp != static_cast<std::time_t>(-1) && localtime_r(&stamp, &local) && local.tm_isdst > 0;
    const ZoneOffsets zone = current_zone_offsets();
    offset = dst ? zone.daylight : zone.standard;
  }
  return DateTime{*wall - seconds{offset}, offset};
}

std::optional<DateTime> DateTime::parse_wire(std::string_view s) {
  // Python's strptime matches the format's letters case-insensitively, so "t" and "z" pass.
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':' || (s[19] != 'Z' && s[19] != 'z')) {
    return std::nullopt;
  }
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || !digits(s, 5, 2, month) || !digits(s, 8, 2, day) ||
      !digits(s, 11, 2, hour) || !digits(s, 14, 2, minute) || !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  // Year 0 does not exist for Python's datetime (MINYEAR is 1).
  if (year < 1) return std::nullopt;
  return from_utc(year, month, day, hour, minute, second);
}

std::string DateTime::to_wire(bool convert_to_utc) const {
  std::string out;
  out.reserve(20);
  put_calendar(out, convert_to_utc ? utc : utc + seconds{utc_offset}, 'T');
  out.push_back('Z');
  return out;
}

std::string DateTime::to_iso() const {
  std::string out;
  out.reserve(25);
  put_calendar(out, utc + seconds{utc_offset}, 'T');
  const std::int32_t abs_offset = utc_offset < 0 ? -utc_offset : utc_offset;
  out.push_back(utc_offset < 0 ? '-' : '+');
  put_digits(out, abs_offset / 3600, 2);
  out.push_back(':');
  put_digits(out, abs_offset / 60 % 60, 2);
  return out;
}

}  // namespace sgeventd
