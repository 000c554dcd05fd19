#include "daemon/health.h"

#include <gtest/gtest.h>

namespace sgeventd::daemon {
namespace {

Value status_with(List plugins, Dict extra = {}) {
  Dict d{{"poll_failures", 0}, {"state_writable", true}, {"plugins", std::move(plugins)}};
  for (auto& [k, v] : extra) d[k] = v;
  return Value(std::move(d));
}

Value plugin(const char* name, const char* state, long long lag = 0, Dict extra = {}) {
  Dict d{{"name", name}, {"state", state}, {"lag", lag}, {"worker", "running"}};
  for (auto& [k, v] : extra) d[k] = v;
  return Value(std::move(d));
}

TEST(Health, HealthyWhenNothingIsWrong) {
  EXPECT_TRUE(health_problems(status_with({plugin("a", "active", 5)}), {}).empty());
}

TEST(Health, StartingIsNotHealthyYet) { EXPECT_EQ(health_problems(Value(), {}).size(), 1u); }

TEST(Health, EachRuleSaysWhatIsWrong) {
  const HealthThresholds limits{100, 3};
  const auto problems = health_problems(
      status_with(
          {plugin("slow", "active", 101), plugin("off", "deactivated", 0, {{"reason", "boom"}}),
           plugin("jail", "active", 0, {{"worker", "quarantined"}}),
           plugin("broken", "not loaded", 0, {{"reason", "load failed: SyntaxError"}}),
           plugin("loading", "not loaded")},
          {{"poll_failures", 3}, {"state_writable", false}, {"site_read_s", 40}}),
      limits);
  ASSERT_EQ(problems.size(), 7u);
  EXPECT_EQ(problems[0], "the site: 3 failed reads of the event log in a row");
  EXPECT_NE(problems[1].find("has taken 40 s"), std::string::npos);
  EXPECT_NE(problems[2].find("state cannot be written"), std::string::npos);
  EXPECT_NE(problems[3].find("slow trails the feed by 101"), std::string::npos);
  EXPECT_EQ(problems[4], "plugin off is deactivated: boom");
  EXPECT_NE(problems[5].find("jail: its worker is quarantined"), std::string::npos);
  EXPECT_EQ(problems[6], "plugin broken is not loaded: load failed: SyntaxError");
}

TEST(Health, ThresholdsAreInclusiveWhereTheDocSaysSo) {
  const HealthThresholds limits{100, 3};
  EXPECT_TRUE(
      health_problems(status_with({plugin("a", "active", 100)}, {{"poll_failures", 2}}), limits)
          .empty());
}

}  // namespace
}  // namespace sgeventd::daemon
