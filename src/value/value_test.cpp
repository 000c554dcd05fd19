#include "sgeventd/value.h"

#include <gtest/gtest.h>

namespace sgeventd {
namespace {

TEST(Dict, KeepsInsertionOrderAndComparesUnordered) {
  Dict a{{"type", "Shot"}, {"id", 1}};
  Dict b{{"id", 1}, {"type", "Shot"}};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.begin()->first, "type");
  EXPECT_EQ(b.begin()->first, "id");
  b.set("id", 2);
  EXPECT_NE(a, b);
  EXPECT_EQ(b.size(), 2u);
}

TEST(Dict, DeduplicateKeepsFirstPositionLastValue) {
  Dict d;
  d.append("a", 1);
  d.append("b", 2);
  d.append("a", 3);
  d.deduplicate();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.begin()->first, "a");
  EXPECT_EQ(d.get("a"), Value(3));
}

TEST(Dict, EraseAndIndex) {
  Dict d{{"x", 1}};
  d["y"] = "z";
  EXPECT_EQ(d.get("y"), Value("z"));
  EXPECT_TRUE(d.erase("x"));
  EXPECT_FALSE(d.erase("x"));
  EXPECT_TRUE(d.get("missing").is_null());
}

TEST(Value, NumbersCompareAcrossIntAndFloatButNotBool) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_NE(Value(true), Value(1));
  EXPECT_NE(Value(0), Value(nullptr));
  EXPECT_NE(Value("1"), Value(1));
}

TEST(Value, TruthinessFollowsPython) {
  EXPECT_FALSE(Value().truthy());
  EXPECT_FALSE(Value(0).truthy());
  EXPECT_FALSE(Value(0.0).truthy());
  EXPECT_FALSE(Value("").truthy());
  EXPECT_FALSE(Value(List{}).truthy());
  EXPECT_FALSE(Value(Dict{}).truthy());
  EXPECT_TRUE(Value(List{Value()}).truthy());
  EXPECT_TRUE(Value("0").truthy());
  EXPECT_TRUE(Value(Date{2024, 1, 1}).truthy());
}

TEST(Value, EntityNeedsTypeAndId) {
  EXPECT_TRUE(Value(Dict{{"type", "Shot"}, {"id", 1}}).is_entity());
  EXPECT_FALSE(Value(Dict{{"type", "Shot"}}).is_entity());
  EXPECT_FALSE(Value("Shot").is_entity());
}

TEST(Value, MemberAccessOnNonDictIsNull) {
  EXPECT_TRUE(Value(3)["x"].is_null());
  Value v = Dict{{"a", Dict{{"b", 2}}}};
  EXPECT_EQ(v["a"]["b"], Value(2));
}

}  // namespace
}  // namespace sgeventd
