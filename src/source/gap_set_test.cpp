#include "source/gap_set.h"

#include <gtest/gtest.h>

namespace sgeventd::source {
namespace {

using namespace std::chrono_literals;
const WallTime t0 = WallTime(std::chrono::seconds(1700000000));

TEST(GapSet, AddFillSplitsRanges) {
  GapSet g;
  g.add(10, 20, t0);
  EXPECT_EQ(g.id_count(), 11);
  EXPECT_TRUE(g.fill(15));
  EXPECT_FALSE(g.fill(15));
  EXPECT_FALSE(g.fill(9));
  EXPECT_FALSE(g.fill(21));
  EXPECT_TRUE(g.fill(10));
  EXPECT_TRUE(g.fill(20));
  EXPECT_EQ(g.ranges(), (std::vector<GapRange>{{11, 14, t0}, {16, 19, t0}}));
  EXPECT_TRUE(g.contains(11));
  EXPECT_FALSE(g.contains(15));
}

TEST(GapSet, ReAddingKeepsTheFirstSighting) {
  GapSet g;
  g.add(5, 6, t0);
  g.add(3, 8, t0 + 10s);
  EXPECT_EQ(g.ranges(), (std::vector<GapRange>{{3, 4, t0 + 10s}, {5, 6, t0}, {7, 8, t0 + 10s}}));
  EXPECT_EQ(g.id_count(), 6);
}

TEST(GapSet, ExpiryIsFromFirstSight) {
  GapSet g;
  g.add(1, 1, t0);
  g.add(3, 3, t0 + 60s);
  EXPECT_TRUE(g.expire(t0 + 299s, 5min).empty());
  auto expired = g.expire(t0 + 300s, 5min);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].first, 1);
  EXPECT_EQ(g.id_count(), 1);
}

TEST(GapSet, BoundedRangesDropTheOldestAndSaySo) {
  GapSet g(3);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(g.add(i * 10, i * 10, t0 + std::chrono::seconds(i)).empty());
  auto dropped = g.add(100, 100, t0 + 10s);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].first, 0);
  EXPECT_EQ(g.range_count(), 3u);
}

TEST(GapSet, RecheckFiltersCoalesce) {
  GapSet g;
  g.add(3, 3, t0);
  g.add(7, 9, t0);
  g.add(12, 12, t0);
  const List f = g.recheck_filters();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], Value(List{"id", "between", 7, 9}));
  EXPECT_EQ(f[1], Value(List{"id", "in", List{3, 12}}));
  GapSet many;
  for (int i = 0; i < 500; i += 2) many.add(i, i, t0);
  EXPECT_LE(many.recheck_filters(10).size(), 10u);
}

TEST(GapSet, HugeJumpIsOneEntry) {
  GapSet g;
  g.add(1, 50'000'000, t0);
  EXPECT_EQ(g.range_count(), 1u);
  EXPECT_EQ(g.id_count(), 50'000'000);
}

TEST(GapSet, RemoveAboveCutsRanges) {
  GapSet g;
  g.add(3, 3, t0);
  g.add(7, 12, t0);
  g.add(20, 30, t0);
  g.remove_above(9);
  EXPECT_EQ(g.id_count(), 1 + 3);
  EXPECT_TRUE(g.contains(9));
  EXPECT_FALSE(g.contains(10));
  EXPECT_FALSE(g.contains(20));
  g.remove_above(0);
  EXPECT_TRUE(g.empty());
}

TEST(GapSet, RestampMakesEveryGapWaitFromThen) {
  GapSet g;
  g.add(3, 3, t0);
  g.add(7, 12, t0 + 10s);
  g.restamp(t0 + 1h);
  EXPECT_TRUE(g.expire(t0 + 1h + 4min, 5min).empty());
  EXPECT_EQ(g.expire(t0 + 1h + 5min, 5min).size(), 2u);
}

TEST(GapSet, OldestSeenIsTheLongestWaitNotTheLowestId) {
  GapSet g;
  EXPECT_FALSE(g.oldest_seen().has_value());
  g.add(20, 30, t0);
  g.add(3, 3, t0 + 10s);
  EXPECT_EQ(g.oldest_seen(), t0);
  for (std::int64_t id = 20; id <= 30; ++id) g.fill(id);
  EXPECT_EQ(g.oldest_seen(), t0 + 10s);
  g.fill(3);
  EXPECT_FALSE(g.oldest_seen().has_value());
}

}  // namespace
}  // namespace sgeventd::source
