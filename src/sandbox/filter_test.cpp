// The filter engine without sockets: compile wire filters against the schema, run them on
// rows of an in-memory store.

#include "sandbox/filter.h"

#include <gtest/gtest.h>

#include "sandbox/field_values.h"
#include "sandbox/store.h"

namespace sgeventd::sandbox {
namespace {

using namespace std::chrono;

class SandboxFilterEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    store.begin();
    Entity& p = store.insert("Project");
    p.fields.set("name", "Alpha");
    Entity& s = store.insert("Shot");
    s.fields.set("code", "sh010");
    s.fields.set("project", link_ref("Project", p.entity_id));
    s.fields.set("sg_cut_in", 1001);
    s.fields.set("sg_last_review", Value(DateTime{now - days(1), 0}));
    s.fields.set("assets", List{});
    ASSERT_TRUE(store.commit());
    shot = store.find("Shot", 1);
  }

  bool match(const Value& wire) {
    auto f = compile_filter(store.schema(), "Shot", wire);
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    return f && matches(*f, *shot, store, FilterContext{now});
  }
  Fault fail(const Value& wire) {
    auto f = compile_filter(store.schema(), "Shot", wire);
    EXPECT_FALSE(f);
    return f ? Fault{} : f.error();
  }
  static Value cond(const char* path, const char* relation, List values) {
    return Dict{
        {"logical_operator", "and"},
        {"conditions",
         List{Dict{{"path", path}, {"relation", relation}, {"values", std::move(values)}}}}};
  }

  sys_seconds now = floor<seconds>(system_clock::now());
  Store store{Schema::starter()};
  const Entity* shot = nullptr;
};

TEST_F(SandboxFilterEngine, MatchesAndRejects) {
  EXPECT_TRUE(match(cond("code", "is", {"SH010"})));
  EXPECT_FALSE(match(cond("code", "is_not", {"sh010"})));
  EXPECT_TRUE(match(cond("sg_cut_in", "between", {1000, 1001})));
  EXPECT_FALSE(match(cond("sg_cut_in", "greater_than", {1001})));
  EXPECT_TRUE(match(cond("project.Project.name", "starts_with", {"al"})));
  EXPECT_TRUE(match(cond("sg_last_review", "in_last", {2, "DAY"})));
  EXPECT_FALSE(match(cond("sg_last_review", "in_next", {2, "DAY"})));
  EXPECT_TRUE(match(cond("assets", "is", {Value()})));
  EXPECT_TRUE(match(Value()));  // no filter
  EXPECT_TRUE(match(Dict{{"logical_operator", "and"}, {"conditions", List{}}}));
  EXPECT_FALSE(
      match(Dict{{"logical_operator", "or"},
                 {"conditions", List{cond("code", "is", {"x"}), cond("sg_cut_in", "is", {1})}}}));
  // The legacy list form too.
  EXPECT_TRUE(match(List{List{"code", "ends_with", "010"}}));
}

TEST_F(SandboxFilterEngine, FaultsNameTheProblem) {
  EXPECT_NE(fail(cond("nope", "is", {1})).message.find("Shot.nope"), std::string::npos);
  EXPECT_NE(fail(cond("code", "less_than", {"a"})).message.find("less_than"), std::string::npos);
  EXPECT_NE(fail(cond("sg_data", "is", {1})).message.find("not filterable"), std::string::npos);
  EXPECT_EQ(fail(cond("code", "in_last", {1, "DECADE"})).error_code, kFaultValidation);
  EXPECT_EQ(fail(cond("sg_omit", "is", {Value()})).error_code, kFaultValidation);
  EXPECT_EQ(fail(Dict{{"logical_operator", "xor"}, {"conditions", List{}}}).error_code,
            kFaultValidation);
}

TEST_F(SandboxFilterEngine, IdRangeNarrowsTopLevelAndOnly) {
  auto f = compile_filter(
      store.schema(), "EventLogEntry",
      Dict{{"logical_operator", "and"},
           {"conditions",
            List{Dict{{"path", "id"}, {"relation", "greater_than"}, {"values", List{10}}},
                 Dict{{"path", "id"}, {"relation", "less_than"}, {"values", List{20}}}}}});
  ASSERT_TRUE(f);
  EXPECT_EQ(id_range(*f).low, 11);
  EXPECT_EQ(id_range(*f).high, 19);
  auto any = compile_filter(
      store.schema(), "EventLogEntry",
      Dict{{"logical_operator", "or"},
           {"conditions", List{Dict{{"path", "id"}, {"relation", "is"}, {"values", List{5}}},
                               Dict{{"path", "id"}, {"relation", "is"}, {"values", List{9}}}}}});
  ASSERT_TRUE(any);
  EXPECT_EQ(id_range(*any).low, std::numeric_limits<std::int64_t>::min());
}

TEST(SandboxCustomFieldNames, SnakeCaseWithThePrefix) {
  EXPECT_EQ(custom_field_name("Complexity Level"), "sg_complexity_level");
  EXPECT_EQ(custom_field_name("  Frame-Rate (fps) "), "sg_frame_rate_fps");
}

}  // namespace
}  // namespace sgeventd::sandbox
