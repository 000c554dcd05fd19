// The real api3 client (sgeventd::sg::Client) against a running sandbox over loopback HTTP:
// every method, every filter operator, paging, faults for bad input.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "sandbox/sandbox_test_support.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox::testing {
namespace {

using sg::ErrorKind;

std::set<std::string> codes(const List& rows, const char* field = "code") {
  std::set<std::string> out;
  for (const Value& r : rows) out.insert(r[field].as_string());
  return out;
}

DateTime days_from_now(int days) {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return DateTime{now + std::chrono::days(days), 0};
}

// Two projects, a sequence, three shots and two assets with every data type set.
class SandboxClientMethods : public ::testing::Test {
 protected:
  void SetUp() override {
    alpha = id_of(SB_OK(sg.create("Project", Dict{{"name", "Alpha"}})));
    beta = id_of(SB_OK(sg.create("Project", Dict{{"name", "Beta"}})));
    seq = id_of(
        SB_OK(sg.create("Sequence", Dict{{"code", "SQ01"}, {"project", ref("Project", alpha)}})));
    chair = id_of(SB_OK(sg.create(
        "Asset",
        Dict{{"code", "chair"}, {"sg_asset_type", "Prop"}, {"project", ref("Project", alpha)}})));
    tree = id_of(
        SB_OK(sg.create("Asset", Dict{{"code", "tree"}, {"project", ref("Project", alpha)}})));
    sh010 = id_of(
        SB_OK(sg.create("Shot", Dict{{"code", "sh010"},
                                     {"project", ref("Project", alpha)},
                                     {"sg_sequence", ref("Sequence", seq)},
                                     {"sg_cut_in", 1001},
                                     {"sg_frame_rate", 24.0},
                                     {"sg_status_list", "ip"},
                                     {"sg_due_date", "2024-05-06"},
                                     {"sg_last_review", days_from_now(-2)},
                                     {"description", "Fog and mist"},
                                     {"tags", List{"hero"}},
                                     {"sg_percent_complete", 50},
                                     {"sg_cut_duration", 120},
                                     {"sg_shot_type", "VFX"},
                                     {"assets", List{ref("Asset", chair), ref("Asset", tree)}}})));
    sh020 = id_of(SB_OK(sg.create("Shot", Dict{{"code", "sh020"},
                                               {"project", ref("Project", alpha)},
                                               {"sg_cut_in", 1010},
                                               {"sg_frame_rate", 25.0},
                                               {"sg_status_list", "fin"},
                                               {"sg_omit", true},
                                               {"sg_due_date", "2024-06-01"},
                                               {"sg_last_review", days_from_now(3)},
                                               {"sg_percent_complete", 100},
                                               {"assets", List{ref("Asset", tree)}}})));
    sh030 = id_of(SB_OK(sg.create("Shot", Dict{{"code", "SH030"},
                                               {"project", ref("Project", beta)},
                                               {"sg_frame_rate", 23.976},
                                               {"description", "Rain"},
                                               {"sg_shot_type", "Regular"}})));
  }

  static std::int64_t id_of(const Value& v) { return *v["id"].if_int(); }

  std::set<std::string> find_codes(const List& filters, const std::string& op = "all") {
    sg::FindOptions o;
    o.fields = {"code"};
    o.filter_operator = op;
    return codes(SB_OK(sg.find("Shot", Value(filters), o)));
  }

  TestSite site;
  sg::Client sg = site.client();
  std::int64_t alpha = 0, beta = 0, seq = 0, chair = 0, tree = 0, sh010 = 0, sh020 = 0, sh030 = 0;
};

using Codes = std::set<std::string>;

TEST_F(SandboxClientMethods, InfoReportsAModernVersionAndThePageSize) {
  auto info = SB_OK(sg.info());
  EXPECT_EQ(info.get("version"), Value(List{8, 50, 0}));
  EXPECT_EQ(info.get("api_max_entities_per_page"), Value(500));
  auto caps = SB_OK(sg.server_caps());
  EXPECT_TRUE(caps->at_least(7, 4, 0));  // so find() sends return_paging_info_without_counts
}

TEST_F(SandboxClientMethods, TextOperators) {
  EXPECT_EQ(find_codes(List{List{"code", "is", "SH010"}}), Codes({"sh010"}));  // case-insensitive
  EXPECT_EQ(find_codes(List{List{"code", "is_not", "sh010"}}), Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"description", "contains", "MIST"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"description", "not_contains", "mist"}}),
            Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"code", "starts_with", "sh0"}}),
            Codes({"sh010", "sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"code", "ends_with", "20"}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"code", "in", List{"sh010", "sh030"}}}),
            Codes({"sh010", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"code", "not_in", "sh010", "sh030"}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"description", "is", Value()}}), Codes({"sh020"}));
}

TEST_F(SandboxClientMethods, NumberFloatPercentDurationOperators) {
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "is", 1001}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "is_not", 1001}}), Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "less_than", 1005}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "greater_than", 1005}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "between", 1000, 1010}}), Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "not_between", 1000, 1005}}),
            Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "in", 1010, 7}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "not_in", 1010}}), Codes({"sh010", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_in", "is", Value()}}), Codes({"SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_frame_rate", "greater_than", 24.5}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_frame_rate", "less_than", 24}}), Codes({"SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_percent_complete", "is", 100}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_cut_duration", "between", 100, 200}}), Codes({"sh010"}));
}

TEST_F(SandboxClientMethods, DateAndDateTimeOperators) {
  EXPECT_EQ(find_codes(List{List{"sg_due_date", "is", "2024-05-06"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_due_date", "greater_than", "2024-05-10"}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_due_date", "less_than", "2024-05-10"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_due_date", "between", "2024-01-01", "2024-12-31"}}),
            Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_last_review", "in_last", 7, "DAY"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_last_review", "not_in_last", 7, "DAY"}}),
            Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_last_review", "in_next", 1, "WEEK"}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_last_review", "not_in_next", 1, "WEEK"}}),
            Codes({"sh010", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_last_review", "in_calendar_day", -2}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_last_review", "in_calendar_day", 3}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_last_review", "greater_than", days_from_now(0)}}),
            Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_due_date", "in_calendar_year", 0}}).size(), 0u);  // 2024
  EXPECT_EQ(find_codes(List{List{"created_at", "in_calendar_month", 0}}),
            Codes({"sh010", "sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"created_at", "in_calendar_week", 0}}).size(), 3u);
  EXPECT_EQ(find_codes(List{List{"created_at", "in_calendar_week", -1}}).size(), 0u);
}

TEST_F(SandboxClientMethods, CheckboxListAndStatusOperators) {
  EXPECT_EQ(find_codes(List{List{"sg_omit", "is", true}}), Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_omit", "is_not", true}}), Codes({"sh010", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_status_list", "is", "ip"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_status_list", "in", "ip", "wtg"}}), Codes({"sh010", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_status_list", "not_in", List{"ip", "wtg"}}}),
            Codes({"sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_status_list", "is_not", "fin"}}), Codes({"sh010", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_shot_type", "is", "VFX"}}), Codes({"sh010"}));
  auto bad = sg.find("Shot", Value(List{List{"sg_omit", "is", Value()}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().error_code, 103);
}

TEST_F(SandboxClientMethods, EntityAndMultiEntityOperators) {
  const Value a = ref("Project", alpha);
  EXPECT_EQ(find_codes(List{List{"project", "is", a}}), Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"project", "is_not", a}}), Codes({"SH030"}));
  EXPECT_EQ(find_codes(List{List{"project", "in", List{ref("Project", beta), ref("Project", 99)}}}),
            Codes({"SH030"}));
  EXPECT_EQ(find_codes(List{List{"project", "not_in", List{ref("Project", beta)}}}),
            Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_sequence", "is", Value()}}), Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"sg_sequence", "type_is", "Sequence"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"sg_sequence", "type_is_not", "Sequence"}}),
            Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"project", "name_contains", "lph"}}), Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"project", "name_not_contains", "lph"}}), Codes({"SH030"}));
  EXPECT_EQ(find_codes(List{List{"project", "name_is", "beta"}}), Codes({"SH030"}));
  EXPECT_EQ(find_codes(List{List{"project", "name_starts_with", "Al"}}), Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"project", "name_ends_with", "ta"}}), Codes({"SH030"}));
  // multi_entity: "is" means contains; null means empty.
  EXPECT_EQ(find_codes(List{List{"assets", "is", ref("Asset", chair)}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"assets", "is_not", ref("Asset", chair)}}),
            Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"assets", "is", Value()}}), Codes({"SH030"}));
  EXPECT_EQ(find_codes(List{List{"assets", "in", List{ref("Asset", tree)}}}),
            Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"assets", "not_in", List{ref("Asset", chair)}}}),
            Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"assets", "type_is", "Asset"}}), Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"assets", "name_contains", "CHA"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"assets", "name_not_contains", "cha"}}),
            Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"tags", "is", "hero"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"tags", "name_contains", "er"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"tags", "name_not_contains", "er"}}), Codes({"sh020", "SH030"}));
  EXPECT_EQ(find_codes(List{List{"image", "is", Value()}}).size(), 3u);
  EXPECT_EQ(find_codes(List{List{"id", "is", sh020}}), Codes({"sh020"}));
}

TEST_F(SandboxClientMethods, DottedPathsNestingAndOr) {
  EXPECT_EQ(find_codes(List{List{"project.Project.name", "is", "Alpha"}}),
            Codes({"sh010", "sh020"}));
  EXPECT_EQ(find_codes(List{List{"sg_sequence.Sequence.code", "starts_with", "SQ"}}),
            Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"assets.Asset.sg_asset_type", "is", "Prop"}}), Codes({"sh010"}));
  EXPECT_EQ(find_codes(List{List{"code", "is", "sh010"}, List{"code", "is", "sh020"}}, "any"),
            Codes({"sh010", "sh020"}));
  const Value nested = List{List{"project", "is", ref("Project", alpha)},
                            Dict{{"filter_operator", "any"},
                                 {"filters", List{List{"sg_status_list", "is", "fin"},
                                                  List{"sg_cut_in", "less_than", 1005}}}}};
  sg::FindOptions o;
  o.fields = {"code"};
  EXPECT_EQ(codes(SB_OK(sg.find("Shot", nested, o))), Codes({"sh010", "sh020"}));
}

TEST_F(SandboxClientMethods, ReturnFieldsSortsAndPaging) {
  sg::FindOptions o;
  o.fields = {"code",   "project",     "project.Project.name", "sg_sequence.Sequence.code",
              "assets", "sg_due_date", "sg_last_review",       "no_such_field"};
  o.order = List{Dict{{"field_name", "code"}, {"direction", "desc"}}};
  auto rows = SB_OK(sg.find("Shot", Value(List{}), o));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["code"], Value("SH030"));
  EXPECT_EQ(rows[2]["code"], Value("sh010"));
  const Value& r = rows[2];
  EXPECT_EQ(r["type"], Value("Shot"));
  EXPECT_EQ(r["project"], Value(Dict{{"type", "Project"}, {"id", alpha}, {"name", "Alpha"}}));
  EXPECT_EQ(r["project.Project.name"], Value("Alpha"));
  EXPECT_EQ(r["sg_sequence.Sequence.code"], Value("SQ01"));
  EXPECT_EQ(rows[1]["sg_sequence.Sequence.code"], Value());
  EXPECT_EQ(r["assets"].as_list().size(), 2u);
  EXPECT_EQ(r["sg_due_date"], Value("2024-05-06"));  // dates stay strings in the client
  EXPECT_TRUE(r["sg_last_review"].is_datetime());
  EXPECT_FALSE(r.as_dict().contains("no_such_field"));

  o.fields = {"code"};
  o.order = List{Dict{{"field_name", "project"}, {"direction", "desc"}},
                 Dict{{"field_name", "sg_cut_in"}, {"direction", "asc"}}};
  rows = SB_OK(sg.find("Shot", Value(List{}), o));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["code"], Value("SH030"));  // Beta first, then Alpha by cut_in
  EXPECT_EQ(rows[1]["code"], Value("sh010"));

  // limit and explicit pages
  o.order = List{};
  o.limit = 2;
  EXPECT_EQ(SB_OK(sg.find("Shot", Value(List{}), o)).size(), 2u);
  o.limit = 2;
  o.page = 2;
  rows = SB_OK(sg.find("Shot", Value(List{}), o));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["code"], Value("SH030"));
  auto one = SB_OK(sg.find_one("Shot", Value(List{List{"code", "is", "sh020"}}), o));
  EXPECT_EQ(one["id"], Value(sh020));
}

TEST(SandboxPaging, PagesOnHasNextPageAndLegacyEntityCount) {
  SandboxOptions options = TestSite::default_options();
  options.api_max_entities_per_page = 3;
  TestSite site(options);
  auto sg = site.client();
  for (int i = 0; i < 7; ++i) SB_OK(sg.create("Asset", Dict{{"code", "a" + std::to_string(i)}}));
  EXPECT_EQ(SB_OK(sg.find("Asset", Value(List{}))).size(), 7u);
  sg::FindOptions o;
  o.limit = 5;
  EXPECT_EQ(SB_OK(sg.find("Asset", Value(List{}), o)).size(), 5u);
  // The legacy paging key gets entity_count.
  auto legacy =
      SB_OK(sg.call("read", Dict{{"type", "Asset"},
                                 {"return_fields", List{"code"}},
                                 {"paging", Dict{{"entities_per_page", 3}, {"current_page", 3}}},
                                 {"return_paging_info", true}}));
  EXPECT_EQ(legacy["paging_info"]["entity_count"], Value(7));
  EXPECT_EQ(legacy["paging_info"]["has_next_page"], Value(false));
  EXPECT_EQ(legacy["entities"].as_list().size(), 1u);
}

TEST_F(SandboxClientMethods, CreateReturnsTheFieldsSetAndReturnFields) {
  auto task = SB_OK(sg.create("Task", Dict{{"content", "anim"}, {"entity", ref("Shot", sh010)}},
                              {"sg_status_list", "entity.Shot.code"}));
  EXPECT_EQ(task["type"], Value("Task"));
  EXPECT_TRUE(task["id"].is_int());
  EXPECT_EQ(task["content"], Value("anim"));
  EXPECT_EQ(task["entity"], Value(Dict{{"type", "Shot"}, {"id", sh010}, {"name", "sh010"}}));
  EXPECT_EQ(task["sg_status_list"], Value("wtg"));  // the server default
  EXPECT_EQ(task["entity.Shot.code"], Value("sh010"));
  // The other side of the link follows.
  auto shot =
      SB_OK(sg.find_one("Shot", Value(List{List{"id", "is", sh010}}), {.fields = {"tasks"}}));
  ASSERT_EQ(shot["tasks"].as_list().size(), 1u);
  EXPECT_EQ(shot["tasks"].as_list()[0]["name"], Value("anim"));
}

TEST_F(SandboxClientMethods, UpdateWithMultiEntityModes) {
  const Value c = ref("Asset", chair);
  const Value t = ref("Asset", tree);
  auto r = SB_OK(sg.update("Shot", sh020, Dict{{"assets", List{c}}}, Dict{{"assets", "add"}}));
  EXPECT_EQ(r["assets"].as_list().size(), 2u);
  r = SB_OK(sg.update("Shot", sh020, Dict{{"assets", List{t}}}, Dict{{"assets", "remove"}}));
  ASSERT_EQ(r["assets"].as_list().size(), 1u);
  EXPECT_EQ(r["assets"].as_list()[0]["id"], Value(chair));
  r = SB_OK(sg.update("Shot", sh020, Dict{{"assets", List{t}}, {"code", "sh020b"}}));
  EXPECT_EQ(r["assets"].as_list()[0]["id"], Value(tree));
  EXPECT_EQ(r["code"], Value("sh020b"));
  // Mirrored: tree.shots lists sh020 again, chair.shots only sh010.
  auto chair_row =
      SB_OK(sg.find_one("Asset", Value(List{List{"id", "is", chair}}), {.fields = {"shots"}}));
  EXPECT_EQ(chair_row["shots"].as_list().size(), 1u);
  auto bad = sg.update("Shot", sh020, Dict{{"sg_cut_in", "not a number"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kFault);
  EXPECT_EQ(bad.error().error_code, 103);
  auto unknown = sg.update("Shot", 9999, Dict{{"code", "x"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().error_code, 103);
}

TEST_F(SandboxClientMethods, DeleteAndReviveAnswerTrueFalseOrFault) {
  EXPECT_EQ(SB_OK(sg.delete_entity("Shot", sh030)), Value(true));
  EXPECT_EQ(SB_OK(sg.delete_entity("Shot", sh030)), Value(false));
  EXPECT_EQ(find_codes(List{}), Codes({"sh010", "sh020"}));
  sg::FindOptions retired;
  retired.fields = {"code"};
  retired.retired_only = true;
  EXPECT_EQ(codes(SB_OK(sg.find("Shot", Value(List{}), retired))), Codes({"SH030"}));
  EXPECT_EQ(SB_OK(sg.revive("Shot", sh030)), Value(true));
  EXPECT_EQ(SB_OK(sg.revive("Shot", sh030)), Value(false));
  EXPECT_EQ(find_codes(List{}).size(), 3u);
  auto never = sg.delete_entity("Shot", 424242);
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().kind, ErrorKind::kFault);
  EXPECT_FALSE(sg.revive("Shot", 424242));
}

TEST_F(SandboxClientMethods, BatchIsAllOrNothing) {
  auto head = [&] {
    return SB_OK(
        sg.find_one("EventLogEntry", Value(List{}),
                    {.fields = {"id"},
                     .order = List{Dict{{"field_name", "id"}, {"direction", "desc"}}}}))["id"];
  };
  const Value before = head();
  auto results = SB_OK(sg.batch(List{
      Dict{{"request_type", "create"}, {"entity_type", "Shot"}, {"data", Dict{{"code", "b1"}}}},
      Dict{{"request_type", "update"},
           {"entity_type", "Shot"},
           {"entity_id", sh010},
           {"data", Dict{{"code", "sh010b"}}}},
      Dict{{"request_type", "delete"}, {"entity_type", "Shot"}, {"entity_id", sh020}}}));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["code"], Value("b1"));
  EXPECT_EQ(results[1]["code"], Value("sh010b"));
  EXPECT_EQ(results[2], Value(true));
  const Value middle = head();
  EXPECT_GT(middle.as_int(), before.as_int());

  auto failed = sg.batch(List{
      Dict{{"request_type", "create"}, {"entity_type", "Shot"}, {"data", Dict{{"code", "b2"}}}},
      Dict{{"request_type", "update"},
           {"entity_type", "Shot"},
           {"entity_id", sh010},
           {"data", Dict{{"no_such_field", 1}}}}});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().error_code, 103);
  EXPECT_EQ(find_codes(List{List{"code", "is", "b2"}}).size(), 0u);
  EXPECT_EQ(head(), middle);  // no event of the failed batch is visible
}

TEST_F(SandboxClientMethods, SummarizeWithExactGrouping) {
  auto r = SB_OK(sg.summarize(
      "Shot", Value(List{}),
      List{Dict{{"field", "id"}, {"type", "record_count"}},
           Dict{{"field", "sg_cut_in"}, {"type", "sum"}},
           Dict{{"field", "sg_frame_rate"}, {"type", "maximum"}},
           Dict{{"field", "sg_percent_complete"}, {"type", "average"}},
           Dict{{"field", "description"}, {"type", "count"}},
           Dict{{"field", "sg_due_date"}, {"type", "minimum"}}},
      {.grouping = List{Dict{{"field", "project"}, {"type", "exact"}, {"direction", "asc"}}}}));
  const Value& s = r["summaries"];
  EXPECT_EQ(s["id"], Value(3));
  EXPECT_EQ(s["sg_cut_in"], Value(2011));
  EXPECT_EQ(s["sg_frame_rate"], Value(25.0));
  EXPECT_EQ(s["sg_percent_complete"], Value(75.0));
  EXPECT_EQ(s["description"], Value(2));
  EXPECT_EQ(s["sg_due_date"], Value("2024-05-06"));
  const List& groups = r["groups"].as_list();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["group_name"], Value("Alpha"));
  EXPECT_EQ(groups[0]["group_value"]["id"], Value(alpha));
  EXPECT_EQ(groups[0]["summaries"]["id"], Value(2));
  EXPECT_EQ(groups[1]["summaries"]["sg_cut_in"], Value(0));
}

TEST_F(SandboxClientMethods, SchemaMethodsAndFieldCreate) {
  auto all = SB_OK(sg.schema_read());
  for (const char* type : {"Project", "Sequence", "Shot", "Asset", "Task", "Step", "Version",
                           "PublishedFile", "Note", "Reply", "Playlist", "HumanUser", "ApiUser",
                           "Group", "CustomEntity01", "CustomEntity05", "EventLogEntry"}) {
    EXPECT_TRUE(all[type].is_dict()) << type;
  }
  auto field = SB_OK(sg.schema_field_read("Shot", "assets"));
  EXPECT_EQ(field["assets"]["data_type"]["value"], Value("multi_entity"));
  EXPECT_EQ(field["assets"]["properties"]["valid_types"]["value"], Value(List{"Asset"}));
  auto entities = SB_OK(sg.schema_entity_read());
  EXPECT_EQ(entities["Shot"]["name"]["value"], Value("Shot"));
  auto name = SB_OK(sg.call(
      "schema_field_create",
      Dict{{"type", "Shot"},
           {"data_type", "number"},
           {"properties", List{Dict{{"property_name", "name"}, {"value", "Complexity Level"}}}}}));
  EXPECT_EQ(name, Value("sg_complexity_level"));
  SB_OK(sg.update("Shot", sh010, Dict{{"sg_complexity_level", 3}}));
  EXPECT_EQ(find_codes(List{List{"sg_complexity_level", "greater_than", 2}}), Codes({"sh010"}));
  EXPECT_FALSE(sg.schema_field_read("Shot", "sg_nope"));
}

TEST_F(SandboxClientMethods, InvalidFieldTypeOrOperatorIsAValidationFault) {
  for (const Value& filters :
       {Value(List{List{"no_such_field", "is", 1}}), Value(List{List{"code", "greater_than", "a"}}),
        Value(List{List{"code", "frobnicate", "a"}}), Value(List{List{"sg_cut_in", "is", "x"}}),
        Value(List{List{"sg_data", "is", "x"}}), Value(List{List{"sg_cut_in", "between", 1}}),
        Value(List{List{"project.Nope.name", "is", "x"}})}) {
    auto r = sg.find("Shot", filters);
    ASSERT_FALSE(r) << to_json(filters);
    EXPECT_EQ(r.error().kind, ErrorKind::kFault) << to_json(filters);
    EXPECT_EQ(r.error().error_code, 103) << r.error().message;
  }
  auto bad_type = sg.find("NoSuchType", Value(List{}));
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().error_code, 103);
  auto meta = sg.find("EventLogEntry", Value(List{List{"meta", "is", "x"}}));
  ASSERT_FALSE(meta);  // meta is serializable: not filterable (sg-protocol.md section 7)
}

TEST(SandboxAuth, BadScriptKeyIsFault102AsSitesSendIt) {
  TestSite site;
  sg::ConnectionSettings s;
  s.script_name = "daemon";
  s.script_key = "wrong";
  auto sg = site.client(s);
  auto r = sg.find("Shot", Value(List{}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kAuthenticationFault);
  EXPECT_EQ(r.error().message, "Can't authenticate script 'daemon'");
  auto raw = site.post(
      "/api3/json",
      R"({"method_name":"read","params":[{"script_name":"x","script_key":"y"},{"type":"Shot"}]})");
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body,
            R"({"exception":true,"error_code":102,"message":"Can't authenticate script 'x'"})");
}

TEST(SandboxAuth, UserLoginSessionTokenAndSudo) {
  TestSite site;
  sg::ConnectionSettings user;
  user.login = "ada";
  user.password = "pw";
  auto as_user = site.client(user);
  auto token = SB_OK(as_user.get_session_token());
  sg::ConnectionSettings session;
  session.session_token = token;
  auto as_session = site.client(session);
  auto created = SB_OK(as_session.create("Asset", Dict{{"code", "x"}}, {"created_by"}));
  EXPECT_EQ(created["created_by"]["type"], Value("HumanUser"));
  EXPECT_EQ(created["created_by"]["name"], Value("Ada Lovelace"));
  sg::ConnectionSettings wrong;
  wrong.login = "ada";
  wrong.password = "nope";
  EXPECT_EQ(site.client(wrong).find("Shot", Value(List{})).error().kind,
            ErrorKind::kAuthenticationFault);
  sg::ConnectionSettings sudo;
  sudo.sudo_as_login = "nobody";
  EXPECT_FALSE(site.client(sudo).find("Shot", Value(List{})));
}

TEST(SandboxHttpErrors, BadBodiesAndUnknownMethods) {
  SandboxOptions options = TestSite::default_options();
  options.max_body_bytes = 1 << 16;
  TestSite site(options);
  EXPECT_EQ(site.post("/api3/json", "not json at all").status, 400);
  EXPECT_EQ(site.post("/api3/json", "[1, 2]").status, 400);
  EXPECT_EQ(site.post("/api3/json", R"({"params": []})").status, 400);
  EXPECT_EQ(site.post("/sub/path/api3/json", R"({"method_name":"info","params":[]})").status, 200);
  const auto big = site.post(
      "/api3/json", R"({"method_name":"info","pad":")" + std::string(1 << 17, 'x') + "\"}");
  EXPECT_EQ(big.status, 413);
  auto sg = site.client();
  auto unknown = sg.call("no_such_method", Dict{{"x", 1}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, ErrorKind::kFault);
  EXPECT_NE(unknown.error().message.find("no_such_method"), std::string::npos);
  // The site still answers after all that.
  EXPECT_TRUE(sg.find("Shot", Value(List{})));
}

TEST(SandboxConcurrency, ParallelWritersGetDistinctIdsAndEveryEvent) {
  TestSite site;
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto sg = site.client();
      for (int i = 0; i < kEach; ++i) {
        auto r =
            sg.create("Asset", Dict{{"code", "t" + std::to_string(t) + "_" + std::to_string(i)}});
        if (!r) ++failures;
        auto f = sg.find("EventLogEntry", Value(List{List{"id", "greater_than", 0}}), {.limit = 5});
        if (!f) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto sg = site.client();
  auto assets = SB_OK(sg.find("Asset", Value(List{}), {.fields = {"code"}}));
  EXPECT_EQ(assets.size(), static_cast<std::size_t>(kThreads * kEach));
  auto events = SB_OK(sg.find("EventLogEntry", Value(List{}), {.fields = {"id", "event_type"}}));
  // Each create writes New, then the code and the default status changes.
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * kEach * 3));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["id"], Value(static_cast<long long>(i + 1)));
  }
}

}  // namespace
}  // namespace sgeventd::sandbox::testing
