#include "sg/filters.h"

#include <gtest/gtest.h>

#include "sgeventd/json.h"

namespace sgeventd::sg {
namespace {

Value wire(const List& filters, const std::string& op = "", bool optimize = true) {
  auto r = translate_filters(filters, op, optimize);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : Value();
}

TEST(Filters, ValuesAreAlwaysAList) {
  EXPECT_EQ(
      to_json(wire(List{List{"x", "is", nullptr}})),
      R"({"logical_operator": "and", "conditions": [{"path": "x", "relation": "is", "values": [null]}]})");
  EXPECT_EQ(wire(List{List{"id", "in", List{1, 2}}}), wire(List{List{"id", "in", 1, 2}}));
  EXPECT_EQ(wire(List{})["conditions"], Value(List{}));
}

TEST(Filters, OperatorsMapToLogicalOperators) {
  EXPECT_EQ(wire(List{}, "all")["logical_operator"], Value("and"));
  EXPECT_EQ(wire(List{}, "and")["logical_operator"], Value("and"));
  EXPECT_EQ(wire(List{}, "any")["logical_operator"], Value("or"));
  EXPECT_EQ(wire(List{}, "or")["logical_operator"], Value("or"));
  auto bad = translate_filters(List{}, "xor", true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kShotgunError);
}

TEST(Filters, MalformedFiltersAreErrorsNotCrashes) {
  for (const List& bad : {List{5}, List{List{"only-path"}}, List{Dict{{"filter_operator", "and"}}},
                          List{Dict{{"filters", List{}}}}, List{List{"project", "is"}}}) {
    EXPECT_FALSE(translate_filters(bad, "", true)) << to_json(Value(bad));
  }
}

TEST(Filters, EntityTrimmingCanBeTurnedOff) {
  const Value entity = Dict{{"type", "Project"}, {"id", 1}, {"extra", 2}};
  EXPECT_EQ(
      wire(List{List{"project", "is", entity}}, "", true)["conditions"].as_list()[0]["values"],
      Value(List{Dict{{"type", "Project"}, {"id", 1}}}));
  EXPECT_EQ(
      wire(List{List{"project", "is", entity}}, "", false)["conditions"].as_list()[0]["values"],
      Value(List{entity}));
}

TEST(OptimizeEntity, OneLevelOfLists) {
  const Value nested = List{List{Dict{{"type", "A"}, {"id", 1}, {"x", 1}}}};
  EXPECT_EQ(optimize_entity(nested), nested);  // lists inside lists are left alone
  EXPECT_EQ(optimize_entity(Value("s")), Value("s"));
}

}  // namespace
}  // namespace sgeventd::sg
