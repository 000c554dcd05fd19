// --data FILE: a restarted sandbox keeps entities, custom fields, events and id counters.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sandbox/sandbox_test_support.h"

namespace sgeventd::sandbox::testing {
namespace {

std::string temp_path(const std::string& name) {
  static int counter = 0;
  return ::testing::TempDir() + "sandbox_" + std::to_string(getpid()) + "_" +
         std::to_string(++counter) + "_" + name;
}

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST(SandboxPersistence, RestartKeepsEntitiesFieldsEventsAndIds) {
  const std::string db = temp_path("site.db");
  remove_db(db);
  SandboxOptions o = TestSite::default_options();
  o.data_file = db;
  std::int64_t shot_id = 0;
  std::int64_t last_event = 0;
  {
    TestSite site(o);
    auto sg = site.client();
    auto p = SB_OK(sg.create("Project", Dict{{"name", "Kept"}}));
    SB_OK(sg.call(
        "schema_field_create",
        Dict{{"type", "Shot"},
             {"data_type", "date"},
             {"properties", List{Dict{{"property_name", "name"}, {"value", "Delivery"}}}}}));
    auto shot =
        SB_OK(sg.create("Shot", Dict{{"code", "sh010"},
                                     {"project", Dict{{"type", "Project"}, {"id", p["id"]}}},
                                     {"sg_delivery", "2025-01-31"}}));
    shot_id = *shot["id"].if_int();
    auto gone = SB_OK(sg.create("Shot", Dict{{"code", "gone"}}));
    SB_OK(sg.delete_entity("Shot", *gone["id"].if_int()));
    site.control("generate", Dict{{"count", 1000}});
    last_event = site.sandbox().last_event_id();
    ASSERT_GT(last_event, 1000);
  }
  TestSite site(o);
  auto sg = site.client();
  EXPECT_EQ(site.sandbox().last_event_id(), last_event);
  auto shot = SB_OK(sg.find_one("Shot", Value(List{List{"id", "is", shot_id}}),
                                {.fields = {"code", "project", "sg_delivery", "created_at"}}));
  EXPECT_EQ(shot["code"], Value("sh010"));
  EXPECT_EQ(shot["project"]["name"], Value("Kept"));
  EXPECT_EQ(shot["sg_delivery"], Value("2025-01-31"));
  EXPECT_TRUE(shot["created_at"].is_datetime());
  EXPECT_EQ(
      SB_OK(sg.find("Shot", Value(List{List{"sg_delivery", "greater_than", "2025-01-01"}}))).size(),
      1u);
  sg::FindOptions retired;
  retired.retired_only = true;
  EXPECT_EQ(SB_OK(sg.find("Shot", Value(List{}), retired)).size(), 1u);
  // Counters go on from where they were: no id is handed out twice.
  auto next = SB_OK(sg.create("Shot", Dict{{"code", "sh020"}}));
  EXPECT_EQ(*next["id"].if_int(), shot_id + 3);  // after "gone" and generate's own shot
  auto events = SB_OK(sg.find("EventLogEntry", Value(List{List{"id", "greater_than", last_event}}),
                              {.fields = {"event_type"}}));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["id"], Value(last_event + 1));
  EXPECT_EQ(events[0]["event_type"], Value("Shotgun_Shot_New"));
  // Old events read back byte-compatible.
  auto first = SB_OK(sg.find_one("EventLogEntry", Value(List{List{"id", "is", 1}}),
                                 {.fields = {"meta", "user", "entity"}}));
  EXPECT_EQ(first["meta"]["type"], Value("new_entity"));
  EXPECT_EQ(first["user"]["name"], Value("daemon"));
  site.sandbox().stop();
  remove_db(db);
}

TEST(SandboxPersistence, SeedFillsANewSiteOnce) {
  const std::string db = temp_path("seeded.db");
  const std::string seed = temp_path("seed.json");
  remove_db(db);
  {
    std::ofstream out(seed);
    out << R"({"fields": [{"type": "Asset", "data_type": "number", "name": "Poly Count"}],
              "entities": [{"type": "Project", "id": 70, "fields": {"name": "Demo"}},
                           {"type": "Asset", "fields": {"code": "chair", "sg_poly_count": 1200,
                            "project": {"type": "Project", "id": 70}}}]})";
  }
  SandboxOptions o = TestSite::default_options();
  o.data_file = db;
  o.seed_file = seed;
  std::int64_t events = 0;
  {
    TestSite site(o);
    auto sg = site.client();
    auto asset =
        SB_OK(sg.find_one("Asset", Value(List{}), {.fields = {"project", "sg_poly_count"}}));
    EXPECT_EQ(asset["project"]["id"], Value(70));
    EXPECT_EQ(asset["sg_poly_count"], Value(1200));
    events = site.sandbox().last_event_id();
    EXPECT_GT(events, 0);  // seeding writes events like any create
  }
  TestSite site(o);
  auto sg = site.client();
  EXPECT_EQ(SB_OK(sg.find("Asset", Value(List{}))).size(), 1u);  // not seeded twice
  EXPECT_EQ(site.sandbox().last_event_id(), events);
  site.sandbox().stop();
  remove_db(db);
  std::remove(seed.c_str());
}

TEST(SandboxPersistence, UnusableDataFileIsAStartError) {
  SandboxOptions o = TestSite::default_options();
  o.data_file = "/nonexistent-dir/x/site.db";
  Sandbox s;
  auto r = s.start(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("site.db"), std::string::npos);
}

}  // namespace
}  // namespace sgeventd::sandbox::testing
