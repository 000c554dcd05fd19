#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "sgeventd/value.h"

namespace sgeventd {
namespace {

// Sets TZ for the duration of a test (the vectors were recorded in America/Los_Angeles).
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    const char* old = std::getenv("TZ");
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTimeZone() {
    if (had_old_) {
      setenv("TZ", old_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  bool had_old_ = false;
  std::string old_;
};

TEST(Date, Validity) {
  EXPECT_TRUE((Date{2024, 2, 29}.valid()));
  EXPECT_FALSE((Date{2023, 2, 29}.valid()));
  EXPECT_FALSE((Date{2100, 2, 29}.valid()));  // not a leap year
  EXPECT_TRUE((Date{2000, 2, 29}.valid()));   // a leap year
  EXPECT_FALSE((Date{2024, 4, 31}.valid()));
  EXPECT_FALSE((Date{2024, 13, 1}.valid()));
  EXPECT_FALSE((Date{2024, 0, 1}.valid()));
  EXPECT_EQ((Date{2024, 5, 6}.to_string()), "2024-05-06");
  EXPECT_EQ((Date{7, 1, 2}.to_string()), "0007-01-02");
}

TEST(DateTime, WireRoundTripAtEdges) {
  for (const char* s : {"1970-01-01T00:00:00Z", "2100-12-31T23:59:59Z", "2024-02-29T12:00:00Z",
                        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z"}) {
    auto dt = DateTime::parse_wire(s);
    ASSERT_TRUE(dt) << s;
    EXPECT_EQ(dt->to_wire(), s);
  }
  EXPECT_EQ(DateTime::parse_wire("1970-01-01T00:00:00Z")->utc.time_since_epoch().count(), 0);
}

TEST(DateTime, ParseRejectsLookAlikes) {
  for (const char* s : {"2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2024-01-02 03:04:05Z",
                        "2024-01-02T24:00:00Z", "2024-01-02T23:60:00Z", "2024-01-02T23:59:60Z",
                        "2024/01/02T03:04:05Z", "2024-01-02T03:04:05", "2024-01-02T03:04:05+0",
                        "2024-01-32T03:04:05Z", "2024-00-02T03:04:05Z", "0000-01-01T00:00:00Z",
                        "2024-01-02T03:04:05.Z", " 2024-01-02T03:04:05Z", "2015-07-13 21:54:01 UTC",
                        "2024-01-02"}) {
    EXPECT_FALSE(DateTime::parse_wire(s)) << s;
  }
}

TEST(DateTime, LettersAreCaseInsensitiveLikeStrptime) {
  EXPECT_TRUE(DateTime::parse_wire("2024-01-02t03:04:05z"));
  EXPECT_TRUE(DateTime::parse_wire("2024-01-02T03:04:05z"));
}

TEST(DateTime, FromOffsetAndIso) {
  auto dt = DateTime::from_offset(2031, 3, 1, 8, 0, 0, 5 * 3600 + 30 * 60);
  ASSERT_TRUE(dt);
  EXPECT_EQ(dt->to_wire(), "2031-03-01T02:30:00Z");
  EXPECT_EQ(dt->to_wire(false), "2031-03-01T08:00:00Z");
  EXPECT_EQ(dt->to_iso(), "2031-03-01T08:00:00+05:30");
  auto neg = DateTime::from_offset(2024, 5, 6, 7, 8, 9, -3 * 3600);
  EXPECT_EQ(neg->to_wire(), "2024-05-06T10:08:09Z");
  EXPECT_EQ(neg->to_iso(), "2024-05-06T07:08:09-03:00");
  EXPECT_FALSE(DateTime::from_utc(2023, 2, 29));
}

TEST(DateTime, NaiveLocalFollowsTimeZoneRules) {
  ScopedTimeZone tz("America/Los_Angeles");
  // Winter: PST (UTC-8); summer: PDT (UTC-7).
  EXPECT_EQ(DateTime::from_local(2024, 1, 15, 10, 30)->to_wire(), "2024-01-15T18:30:00Z");
  EXPECT_EQ(DateTime::from_local(2024, 7, 4, 12, 0, 5)->to_wire(), "2024-07-04T19:00:05Z");
  // Leap day and the year 2100 (no leap day, still convertible).
  EXPECT_EQ(DateTime::from_local(2024, 2, 29, 23, 0)->to_wire(), "2024-03-01T07:00:00Z");
  EXPECT_EQ(DateTime::from_local(2100, 1, 1, 0, 0)->to_wire(), "2100-01-01T08:00:00Z");
  EXPECT_EQ(DateTime::from_local(1970, 1, 1, 0, 0)->to_wire(), "1970-01-01T08:00:00Z");
  // Without conversion the wall clock is sent with a Z, as shotgun_api3 does.
  EXPECT_EQ(DateTime::from_local(2024, 1, 15, 10, 30)->to_wire(false), "2024-01-15T10:30:00Z");
}

TEST(DateTime, NaiveLocalInUtcZone) {
  ScopedTimeZone tz("UTC");
  EXPECT_EQ(DateTime::from_local(2024, 7, 4, 12, 0)->to_wire(), "2024-07-04T12:00:00Z");
}

TEST(DateTime, EqualityIsByInstant) {
  EXPECT_EQ(*DateTime::from_offset(2024, 1, 1, 19, 4, 5, -8 * 3600),
            *DateTime::parse_wire("2024-01-02T03:04:05Z"));
}

}  // namespace
}  // namespace sgeventd
