#include "dispatch/event_matcher.h"

#include <gtest/gtest.h>

#include "sgeventd/json.h"

namespace sgeventd::dispatch {
namespace {

EventMatcher matcher(const char* json) {
  auto v = parse_json(json);
  EXPECT_TRUE(v) << json;
  auto m = EventMatcher::from_value(*v);
  EXPECT_TRUE(m) << json << ": " << (m ? "" : m.error());
  return m ? *m : EventMatcher();
}

TEST(EventMatcher, NoneOrEmptyMatchesEverything) {
  EXPECT_TRUE(matcher("null").matches("Shotgun_Shot_New", Value()));
  EXPECT_TRUE(matcher("{}").matches("Anything", Value("x")));
  EXPECT_FALSE(matcher("{}").event_types().has_value());
}

TEST(EventMatcher, EventTypeAndAttributeList) {
  auto m = matcher(R"({"Shotgun_Task_Change": ["sg_status_list", "content"]})");
  EXPECT_TRUE(m.matches("Shotgun_Task_Change", Value("sg_status_list")));
  EXPECT_TRUE(m.matches("Shotgun_Task_Change", Value("content")));
  EXPECT_FALSE(m.matches("Shotgun_Task_Change", Value("sg_status")));  // list: exact elements
  EXPECT_FALSE(m.matches("Shotgun_Shot_Change", Value("sg_status_list")));
  EXPECT_FALSE(m.matches("Shotgun_Task_Change", Value()));
  EXPECT_FALSE(m.matches("Shotgun_Task_Change", Value("")));
  EXPECT_EQ(m.event_types(), (std::vector<std::string>{"Shotgun_Task_Change"}));
}

TEST(EventMatcher, NoneOrStarAttributesMatchAnyAttributeIncludingEmpty) {
  for (const char* json : {R"({"Shotgun_Shot_New": null})", R"({"Shotgun_Shot_New": ["*"]})",
                           R"({"Shotgun_Shot_New": "*"})", R"({"Shotgun_Shot_New": ["x", "*"]})"}) {
    auto m = matcher(json);
    EXPECT_TRUE(m.matches("Shotgun_Shot_New", Value())) << json;
    EXPECT_TRUE(m.matches("Shotgun_Shot_New", Value("code"))) << json;
    EXPECT_FALSE(m.matches("Shotgun_Shot_Change", Value("code"))) << json;
  }
}

TEST(EventMatcher, PlainStringMeansSubstringAsPythonIn) {
  // {'Shotgun_Task_Change': 'sg_status_list'} in the official examples.
  auto m = matcher(R"({"Shotgun_Task_Change": "sg_status_list"})");
  EXPECT_TRUE(m.matches("Shotgun_Task_Change", Value("sg_status_list")));
  EXPECT_TRUE(m.matches("Shotgun_Task_Change", Value("status")));  // a substring
  EXPECT_TRUE(m.matches("Shotgun_Task_Change", Value("s")));
  EXPECT_FALSE(m.matches("Shotgun_Task_Change", Value("content")));
  EXPECT_FALSE(m.matches("Shotgun_Task_Change", Value()));
}

TEST(EventMatcher, StarKeyWinsAndOnlyItsAttributesCount) {
  auto m = matcher(R"({"*": ["code"], "Shotgun_Task_Change": null})");
  EXPECT_TRUE(m.matches("Shotgun_Shot_Change", Value("code")));
  // The Task entry would accept anything, but "*" is chosen first.
  EXPECT_FALSE(m.matches("Shotgun_Task_Change", Value("content")));
  EXPECT_FALSE(m.event_types().has_value());
}

TEST(EventMatcher, DictAttributesMeanKeys) {
  auto m = matcher(R"({"Shotgun_Task_Change": {"content": 1}})");
  EXPECT_TRUE(m.matches("Shotgun_Task_Change", Value("content")));
  EXPECT_FALSE(m.matches("Shotgun_Task_Change", Value("cont")));
}

TEST(EventMatcher, RejectsWhatPythonCouldNotMatch) {
  EXPECT_FALSE(EventMatcher::from_value(Value(5)));
  EXPECT_FALSE(EventMatcher::from_value(Value(Dict{{"Shotgun_Task_Change", 5}})));
  EXPECT_FALSE(EventMatcher::from_value(Value(List{"Shotgun_Task_Change"})));
}

TEST(EventMatcher, WholeEvents) {
  auto m = matcher(R"({"Shotgun_Task_Change": ["sg_status_list"]})");
  auto event = parse_json(
      R"({"id": 1, "event_type": "Shotgun_Task_Change", "attribute_name": "sg_status_list"})");
  EXPECT_TRUE(m.matches(*event));
  EXPECT_FALSE(m.matches(Value(Dict{{"id", 2}})));
}

}  // namespace
}  // namespace sgeventd::dispatch
