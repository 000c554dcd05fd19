#include "log/format.h"

#include <cstdlib>
#include <ctime>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "log/log_test_support.h"

#include "log/records.h"

namespace sgeventd::log {
namespace {

using testing::local;

using std::chrono::microseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

std::string local_offset(system_clock::time_point t) {
  std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  off = off < 0 ? -off : off;
  return fmt::format("{}{:02}:{:02}", sign, off / 3600, (off % 3600) / 60);
}

// Values checked against Python 3: the original's _prettyTimeDeltaFormat.
TEST(PrettyTimedelta, MatchesThePythonHelper) {
  EXPECT_EQ(pretty_timedelta(microseconds(1500000)), "00:00:00:01.500000");
  EXPECT_EQ(pretty_timedelta(microseconds(((86400LL + 3661) * 1000000) + 1)), "01:01:01:01.000001");
  EXPECT_EQ(pretty_timedelta(microseconds(123LL * 86400 * 1000000 + 7)), "123:00:00:00.000007");
  EXPECT_EQ(pretty_timedelta(microseconds(0)), "00:00:00:00.000000");
}

TEST(PrettyTimedelta, NegativeDurationsFloorLikePython) {
  EXPECT_EQ(pretty_timedelta(microseconds(-500000)), "-1:23:59:59.500000");
  EXPECT_EQ(pretty_timedelta(microseconds(-3725250000LL)), "-1:22:57:54.750000");
}

TEST(TimeFormats, AsctimeIsPythonLoggingsDefault) {
  EXPECT_EQ(python_asctime(local(2024, 1, 2, 3, 4, 5, 123456)), "2024-01-02 03:04:05,123");
}

TEST(TimeFormats, IsoLocalOmitsAZeroFractionAsPythonDoes) {
  auto t = local(2024, 1, 2, 3, 4, 5);
  EXPECT_EQ(iso_local(t), "2024-01-02T03:04:05" + local_offset(t));
  EXPECT_EQ(iso_local(t + microseconds(42)), "2024-01-02T03:04:05.000042" + local_offset(t));
}

TEST(TimeFormats, IsoUtcForJson) {
  auto t = system_clock::from_time_t(1704164645) + microseconds(7);  // 2024-01-02T03:04:05Z
  EXPECT_EQ(iso_utc(t), "2024-01-02T03:04:05.000007Z");
}

TEST(TimingLine, OriginalFormat) {
  TimingRecord r;
  r.event_id = 1234;
  r.created_at = local(2024, 5, 6, 10, 0, 0);
  r.callback = "plugin.notify.onStatusChange";
  r.start = local(2024, 5, 6, 10, 0, 2, 250000);
  r.end = r.start + microseconds(1500000);
  r.error = false;
  std::string off = local_offset(r.created_at);
  EXPECT_EQ(format_timing_message(r),
            "event_id=1234 created_at=2024-05-06T10:00:00" + off +
                " callback=notify.onStatusChange start=2024-05-06T10:00:02.250000" + off +
                " end=2024-05-06T10:00:03.750000" + off +
                " duration=00:00:00:01.500000 error=False delay=00:00:00:02.250000");
  r.error = true;
  EXPECT_NE(format_timing_message(r).find(" error=True "), std::string::npos);
}

TEST(Records, UnixSecondsToTheMicrosecond) {
  auto t = time_from_unix_seconds(1732690000.123);
  EXPECT_EQ(std::chrono::duration_cast<microseconds>(t.time_since_epoch()).count(),
            1732690000123000LL);
}

TEST(LineFormats, FileAndConsoleLayouts) {
  spdlog::details::log_msg msg(local(2024, 1, 2, 3, 4, 5, 6000), {}, "plugin.x.cb",
                               spdlog::level::warn, "hello");
  EXPECT_EQ(format_file_line(msg, "hello"),
            "2024-01-02 03:04:05,006 - plugin.x.cb - WARNING - hello\n");
  EXPECT_EQ(format_console_line(msg, "hi"), "WARNING:plugin.x.cb:hi\n");
}

}  // namespace
}  // namespace sgeventd::log
