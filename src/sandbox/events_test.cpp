// The EventLogEntry stream the sandbox writes, compared field by field with the examples of
// sg-protocol.md section 11, read back through the real client.

#include <gtest/gtest.h>

#include "sandbox/sandbox_test_support.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox::testing {
namespace {

const std::vector<std::string> kPollerFields{
    "id",   "event_type", "attribute_name", "meta",       "entity",
    "user", "project",    "session_uuid",   "created_at", "description"};

class SandboxEvents : public ::testing::Test {
 protected:
  // Events after `after`, id ascending: exactly the shotgunEvents poll (section 12).
  List since(std::int64_t after) {
    sg::FindOptions o;
    o.fields = kPollerFields;
    o.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
    return SB_OK(sg.find("EventLogEntry", Value(List{List{"id", "greater_than", after}}), o));
  }
  std::int64_t head() { return site.sandbox().last_event_id(); }

  TestSite site;
  sg::Client sg = [this] {
    sg::ConnectionSettings s;
    s.session_uuid = "e8b61250-f31b-11e8-bb75-0242ac110004";
    return site.client(s);
  }();
  std::int64_t project =
      *SB_OK(sg.create("Project", Dict{{"name", "Testing Sandbox"}}))["id"].if_int();
  Value project_ref = Dict{{"type", "Project"}, {"id", project}, {"name", "Testing Sandbox"}};
  Value script_user = Dict{{"type", "ApiUser"}, {"id", 1}, {"name", "daemon"}};
};

TEST_F(SandboxEvents, CreateWritesNewThenOneInCreateChangePerField) {
  const auto start = head();
  auto task = SB_OK(sg.create("Task", Dict{{"content", "something"},
                                           {"project", Dict{{"type", "Project"}, {"id", project}}},
                                           {"color", "pipeline_step"}}));
  const std::int64_t id = *task["id"].if_int();
  const List ev = since(start);
  ASSERT_EQ(ev.size(), 5u);  // New, content, project, color, sg_status_list (default)
  // (e) new_entity
  const Value task_ref = Dict{{"type", "Task"}, {"id", id}, {"name", "something"}};
  EXPECT_EQ(ev[0]["event_type"], Value("Shotgun_Task_New"));
  EXPECT_EQ(ev[0]["attribute_name"], Value());
  EXPECT_EQ(ev[0]["entity"], task_ref);
  EXPECT_EQ(ev[0]["project"], project_ref);
  EXPECT_EQ(ev[0]["user"], script_user);
  EXPECT_EQ(ev[0]["session_uuid"], Value("e8b61250-f31b-11e8-bb75-0242ac110004"));
  EXPECT_TRUE(ev[0]["created_at"].is_datetime());
  EXPECT_EQ(ev[0]["meta"],
            Value(Dict{{"type", "new_entity"}, {"entity_type", "Task"}, {"entity_id", id}}));
  EXPECT_EQ(ev[0]["description"], Value("daemon created new Task something"));
  // (a) attribute_change in_create, for color
  const Value* color = nullptr;
  for (const Value& e : ev) {
    if (e["attribute_name"] == Value("color")) color = &e;
  }
  ASSERT_NE(color, nullptr);
  EXPECT_EQ((*color)["event_type"], Value("Shotgun_Task_Change"));
  EXPECT_EQ((*color)["entity"], task_ref);
  EXPECT_EQ((*color)["meta"], Value(Dict{{"type", "attribute_change"},
                                         {"attribute_name", "color"},
                                         {"entity_type", "Task"},
                                         {"entity_id", id},
                                         {"field_data_type", "color"},
                                         {"in_create", true},
                                         {"old_value", Value()},
                                         {"new_value", "pipeline_step"}}));
  for (std::size_t i = 1; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i]["meta"]["in_create"], Value(true));
    EXPECT_EQ(ev[i]["id"].as_int(), ev[i - 1]["id"].as_int() + 1);
  }
}

TEST_F(SandboxEvents, ScalarUpdateWritesOldAndNewValue) {
  auto task = SB_OK(sg.create("Task", Dict{{"content", "Art"}, {"sg_status_list", "fin"}}));
  const std::int64_t id = *task["id"].if_int();
  const auto start = head();
  SB_OK(sg.update("Task", id,
                  Dict{{"sg_status_list", "wtg"}, {"content", "Art"}}));  // content unchanged
  const List ev = since(start);
  ASSERT_EQ(ev.size(), 1u);
  // (b)
  EXPECT_EQ(ev[0]["event_type"], Value("Shotgun_Task_Change"));
  EXPECT_EQ(ev[0]["attribute_name"], Value("sg_status_list"));
  EXPECT_EQ(ev[0]["meta"], Value(Dict{{"type", "attribute_change"},
                                      {"attribute_name", "sg_status_list"},
                                      {"entity_type", "Task"},
                                      {"entity_id", id},
                                      {"field_data_type", "status_list"},
                                      {"old_value", "fin"},
                                      {"new_value", "wtg"}}));
  EXPECT_EQ(ev[0]["description"],
            Value("daemon changed \"Status\" from \"fin\" to \"wtg\" on Task Art"));
}

TEST_F(SandboxEvents, MultiEntityUpdateWritesAddedAndRemoved) {
  auto user = SB_OK(sg.create("HumanUser", Dict{{"name", "Ford Escort"}, {"login", "ford"}}));
  const std::int64_t uid = *user["id"].if_int();
  auto task = SB_OK(sg.create(
      "Task",
      Dict{{"content", "t"}, {"task_assignees", List{Dict{{"type", "HumanUser"}, {"id", uid}}}}}));
  const auto start = head();
  SB_OK(sg.update("Task", *task["id"].if_int(), Dict{{"task_assignees", List{}}}));
  const List ev = since(start);
  ASSERT_EQ(ev.size(), 1u);
  // (c)
  EXPECT_EQ(ev[0]["meta"], Value(Dict{{"type", "attribute_change"},
                                      {"attribute_name", "task_assignees"},
                                      {"entity_type", "Task"},
                                      {"entity_id", task["id"]},
                                      {"field_data_type", "multi_entity"},
                                      {"added", List{}},
                                      {"removed", List{Dict{{"type", "HumanUser"},
                                                            {"id", uid},
                                                            {"name", "Ford Escort"},
                                                            {"status", "act"},
                                                            {"valid", "valid"}}}}}));
}

TEST_F(SandboxEvents, LinkChangeWritesTheBackReferenceOnTheOtherSide) {
  auto shot = SB_OK(sg.create(
      "Shot", Dict{{"code", "002_001"}, {"project", Dict{{"type", "Project"}, {"id", project}}}}));
  const std::int64_t shot_id = *shot["id"].if_int();
  const auto start = head();
  auto task = SB_OK(sg.create("Task", Dict{{"content", "newtask3"},
                                           {"entity", Dict{{"type", "Shot"}, {"id", shot_id}}},
                                           {"sg_status_list", "wtg"}}));
  const std::int64_t task_id = *task["id"].if_int();
  const List ev = since(start);
  const Value* link = nullptr;
  const Value* back = nullptr;
  for (const Value& e : ev) {
    if (e["attribute_name"] == Value("entity")) link = &e;
    if (e["attribute_name"] == Value("tasks")) back = &e;
  }
  ASSERT_NE(link, nullptr);
  ASSERT_NE(back, nullptr);
  // (d): on the Shot, describing the Task whose field changed.
  EXPECT_EQ((*back)["event_type"], Value("Shotgun_Shot_Change"));
  EXPECT_EQ((*back)["entity"], Value(Dict{{"type", "Shot"}, {"id", shot_id}, {"name", "002_001"}}));
  EXPECT_EQ((*back)["project"], project_ref);
  const Value& m = (*back)["meta"];
  EXPECT_EQ(m["type"], Value("attribute_change"));
  EXPECT_EQ(m["attribute_name"], Value("tasks"));
  EXPECT_EQ(m["actual_attribute_changed"], Value("Task.entity"));
  EXPECT_EQ(m["entity_type"], Value("Task"));
  EXPECT_EQ(m["entity_id"], Value(task_id));
  EXPECT_EQ(m["field_data_type"], Value("entity"));
  EXPECT_EQ(m["in_create"], Value(true));
  EXPECT_EQ(m["original_event_log_entry_id"], (*link)["id"]);
  EXPECT_EQ(m["removed"], Value(List{}));
  ASSERT_EQ(m["added"].as_list().size(), 1u);
  const Value& added = m["added"].as_list()[0];
  EXPECT_EQ(added["type"], Value("Task"));
  EXPECT_EQ(added["id"], Value(task_id));
  EXPECT_EQ(added["name"], Value("newtask3"));
  EXPECT_EQ(added["status"], Value("wtg"));
  EXPECT_EQ(added["valid"], Value("valid"));
  // Moving the task away writes a removal on the shot.
  auto other = SB_OK(sg.create("Shot", Dict{{"code", "002_002"}}));
  const auto before_move = head();
  SB_OK(sg.update("Task", task_id, Dict{{"entity", Dict{{"type", "Shot"}, {"id", other["id"]}}}}));
  const List moved = since(before_move);
  ASSERT_EQ(moved.size(), 3u);  // Task.entity, old Shot.tasks (removed), new Shot.tasks (added)
  EXPECT_EQ(moved[1]["entity"]["id"], Value(shot_id));
  EXPECT_EQ(moved[1]["meta"]["removed"].as_list().size(), 1u);
  EXPECT_EQ(moved[2]["meta"]["added"].as_list().size(), 1u);
}

TEST_F(SandboxEvents, DeleteWritesRetirementAndEntityReadsNullWhileRetired) {
  auto task =
      SB_OK(sg.create("Task", Dict{{"content", "another to delete"},
                                   {"project", Dict{{"type", "Project"}, {"id", project}}}}));
  const std::int64_t id = *task["id"].if_int();
  const auto start = head();
  ASSERT_EQ(SB_OK(sg.delete_entity("Task", id)), Value(true));
  List ev = since(start);
  ASSERT_EQ(ev.size(), 2u);
  // the retirement_date change, then (f)
  EXPECT_EQ(ev[0]["event_type"], Value("Shotgun_Task_Change"));
  EXPECT_EQ(ev[0]["attribute_name"], Value("retirement_date"));
  EXPECT_EQ(ev[0]["entity"], Value());
  const Value rd = ev[0]["meta"];
  EXPECT_EQ(rd["old_value"], Value());
  ASSERT_TRUE(rd["new_value"].is_string());
  EXPECT_EQ(rd["new_value"].as_string().size(), 23u);  // "2015-07-13 22:32:35 UTC"
  EXPECT_EQ(rd["new_value"].as_string().substr(19), " UTC");
  EXPECT_EQ(rd["field_data_type"], Value("date_time"));
  EXPECT_EQ(ev[1]["event_type"], Value("Shotgun_Task_Retirement"));
  EXPECT_EQ(ev[1]["attribute_name"], Value());
  EXPECT_EQ(ev[1]["entity"], Value());
  EXPECT_EQ(ev[1]["project"], project_ref);
  EXPECT_EQ(ev[1]["user"], script_user);
  EXPECT_EQ(ev[1]["meta"], Value(Dict{{"type", "entity_retirement"},
                                      {"entity_type", "Task"},
                                      {"entity_id", id},
                                      {"id", id},
                                      {"class_name", "Task"},
                                      {"display_name", "another to delete"},
                                      {"retirement_date", rd["new_value"]}}));
  // Even the old New event reads entity null now.
  const List all = since(0);
  for (const Value& e : all) {
    if (e["meta"]["entity_type"] == Value("Task") && e["meta"]["entity_id"] == Value(id)) {
      EXPECT_EQ(e["entity"], Value()) << to_json(e);
    }
  }
  // (g) revival: the retirement_date goes back to null, then Revival with entity_revival.
  const auto before_revive = head();
  ASSERT_EQ(SB_OK(sg.revive("Task", id)), Value(true));
  ev = since(before_revive);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["meta"]["old_value"], rd["new_value"]);
  EXPECT_EQ(ev[0]["meta"]["new_value"], Value());
  EXPECT_EQ(ev[1]["event_type"], Value("Shotgun_Task_Revival"));
  EXPECT_EQ(ev[1]["entity"],
            Value(Dict{{"type", "Task"}, {"id", id}, {"name", "another to delete"}}));
  EXPECT_EQ(ev[1]["meta"], Value(Dict{{"type", "entity_revival"},
                                      {"entity_type", "Task"},
                                      {"entity_id", id},
                                      {"id", id},
                                      {"class_name", "Task"},
                                      {"display_name", "another to delete"}}));
}

TEST_F(SandboxEvents, SudoShowsTheSudoUserAndTheActualScript) {
  SB_OK(sg.create("HumanUser", Dict{{"name", "Mike Boers"}, {"login", "mikeb"}}));
  sg::ConnectionSettings s;
  s.sudo_as_login = "mikeb";
  auto as_mike = site.client(s);
  const auto start = head();
  auto asset = SB_OK(as_mike.create("Asset", Dict{{"code", "prop"}}, {"created_by"}));
  EXPECT_EQ(asset["created_by"]["name"], Value("Mike Boers"));
  const List ev = since(start);
  ASSERT_FALSE(ev.empty());
  for (const Value& e : ev) {
    EXPECT_EQ(e["user"]["name"], Value("Mike Boers"));
    EXPECT_EQ(e["meta"]["sudo_actual_user"], script_user);
    EXPECT_EQ(e["session_uuid"], Value());
  }
}

TEST_F(SandboxEvents, ClientsCreateCustomEventsAndFilterTheLogLikeAnyEntity) {
  const auto start = head();
  auto custom = SB_OK(sg.create(
      "EventLogEntry",
      Dict{{"event_type", "Toolkit_Folders_Create"},
           {"description", "Toolkit HEAD: created folders"},
           {"project", Dict{{"type", "Project"}, {"id", project}}},
           {"meta", Dict{{"core_api_version", "HEAD"}, {"sg_folder_ids", List{123, 124, 125}}}}},
      {"meta", "user"}));
  EXPECT_EQ(custom["id"], Value(start + 1));
  EXPECT_EQ(custom["meta"]["sg_folder_ids"], Value(List{123, 124, 125}));
  EXPECT_EQ(custom["user"], script_user);
  SB_OK(sg.create("Shot", Dict{{"code", "x"}}));
  // tk-core's query: event_type in [...], id greater_than, project is.
  auto rows = SB_OK(sg.find(
      "EventLogEntry",
      Value(List{List{"event_type", "in", List{"Toolkit_Folders_Create", "Toolkit_Folders_Delete"}},
                 List{"id", "greater_than", start},
                 List{"project", "is", Dict{{"type", "Project"}, {"id", project}}}}),
      {.fields = {"meta"}}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["meta"]["core_api_version"], Value("HEAD"));
  auto shots =
      SB_OK(sg.find("EventLogEntry", Value(List{List{"event_type", "starts_with", "Shotgun_Shot"},
                                                List{"entity.Shot.code", "is", "x"}})));
  EXPECT_EQ(shots.size(), 3u);  // New, code, sg_status_list
  EXPECT_FALSE(sg.update("EventLogEntry", start + 1, Dict{{"description", "rewritten"}}));
  EXPECT_FALSE(sg.delete_entity("EventLogEntry", start + 1));
  EXPECT_FALSE(sg.create("EventLogEntry", Dict{{"description", "no type"}}));
}

TEST_F(SandboxEvents, AnEventIsVisibleAsSoonAsTheWriteReturns) {
  auto reader = site.client();
  for (int i = 0; i < 20; ++i) {
    const auto before = head();
    SB_OK(sg.create("Asset", Dict{{"code", "a" + std::to_string(i)}}));
    auto got = SB_OK(reader.find("EventLogEntry", Value(List{List{"id", "greater_than", before}}),
                                 {.fields = {"event_type"}, .limit = 1}));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]["event_type"], Value("Shotgun_Asset_New"));
  }
}

}  // namespace
}  // namespace sgeventd::sandbox::testing
