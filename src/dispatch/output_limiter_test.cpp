#include "dispatch/output_limiter.h"

#include <gtest/gtest.h>

namespace sgeventd::dispatch {
namespace {

using std::chrono::milliseconds;

Clock::time_point at(int ms) { return Clock::time_point{} + milliseconds(ms); }

int admitted(OutputLimiter& l, int lines, std::size_t bytes, int at_ms) {
  int n = 0;
  for (int i = 0; i < lines; ++i) n += l.admit(bytes, at(at_ms)) ? 1 : 0;
  return n;
}

TEST(OutputLimiter, LinesPerSecondWithABurstOfOneSecond) {
  OutputLimiter l({10, 0});
  EXPECT_EQ(admitted(l, 100, 10, 0), 10);
  auto dropped = l.take_dropped();
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->lines, 90u);
  EXPECT_EQ(dropped->bytes, 900u);
  EXPECT_FALSE(l.take_dropped()) << "counted once";
  EXPECT_EQ(admitted(l, 100, 10, 500), 5) << "half a second refills half";
  EXPECT_EQ(admitted(l, 100, 10, 60'000), 10) << "never more than one second's worth";
}

TEST(OutputLimiter, BytesPerMinute) {
  OutputLimiter l({0, 6000});
  EXPECT_EQ(admitted(l, 100, 1000, 0), 6);
  EXPECT_EQ(admitted(l, 100, 1000, 1000), 0) << "100 bytes a second: not a whole line yet";
  EXPECT_EQ(admitted(l, 100, 1000, 10'000), 1);
  EXPECT_TRUE(l.admit(0, at(10'000))) << "an empty line costs a line, no bytes";
  EXPECT_EQ(l.take_dropped()->lines, 94u + 100u + 99u);
}

TEST(OutputLimiter, BothLimitsAndNone) {
  OutputLimiter both({5, 1000});
  EXPECT_EQ(admitted(both, 10, 300, 0), 3) << "the bytes bind first";
  OutputLimiter none({0, 0});
  EXPECT_EQ(admitted(none, 100000, 1 << 20, 0), 100000);
  EXPECT_FALSE(none.dropping());
}

TEST(OutputLimiter, ATimeGoingBackwardsGivesNothing) {
  OutputLimiter l({10, 0});
  EXPECT_EQ(admitted(l, 10, 1, 5000), 10);
  EXPECT_EQ(admitted(l, 10, 1, 1000), 0);
  EXPECT_EQ(admitted(l, 10, 1, 5100), 1);
}

}  // namespace
}  // namespace sgeventd::dispatch
