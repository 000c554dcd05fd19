// The api3 endpoint without HTTP: envelopes, faults, batch rollback and id gaps.

#include "sandbox/api.h"

#include <gtest/gtest.h>

#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

class SandboxApi : public ::testing::Test {
 protected:
  SandboxApi() : api(store, ApiConfig{{{"s", "k"}}, {}, 2, {}, {}}) {
    EXPECT_TRUE(api.bootstrap());
  }

  Value call(const std::string& method, const Value& args) {
    const Value body =
        Dict{{"method_name", method},
             {"params", List{Dict{{"script_name", "s"}, {"script_key", "k"}}, args}}};
    ApiReply r = api.handle(to_json(body));
    EXPECT_EQ(r.status, 200);
    auto v = parse_json(r.body, {.datetimes = true});
    return v ? *v : Value();
  }

  Store store{Schema::starter()};
  Api api;
};

TEST_F(SandboxApi, EnvelopeInfoAndFaults) {
  EXPECT_EQ(api.handle("{").status, 400);
  EXPECT_EQ(api.handle("\"x\"").status, 400);
  EXPECT_EQ(api.handle(R"({"method_name": 3})").status, 400);
  auto info = parse_json(api.handle(R"({"method_name":"info","params":[]})").body);
  ASSERT_TRUE(info);
  EXPECT_EQ((*info)["api_max_entities_per_page"], Value(2));
  EXPECT_FALSE(info->as_dict().contains("results"));  // info comes unwrapped
  const Value unknown = call("frobnicate", Dict{});
  EXPECT_EQ(unknown["exception"], Value(true));
  EXPECT_EQ(unknown["error_code"], Value(kFaultUnknownMethod));
  const Value bad = call("read", Dict{{"type", "Nope"}});
  EXPECT_EQ(bad["error_code"], Value(kFaultValidation));
}

TEST_F(SandboxApi, FailedBatchRollsBackAndBurnsItsIds) {
  const Value ok =
      call("create",
           Dict{{"type", "Asset"}, {"fields", List{Dict{{"field_name", "code"}, {"value", "a"}}}}});
  ASSERT_TRUE(ok["results"]["id"].is_int());
  const std::int64_t last = store.events().last_id();
  const Value failed =
      call("batch", List{Dict{{"request_type", "create"},
                              {"type", "Asset"},
                              {"fields", List{Dict{{"field_name", "code"}, {"value", "b"}}}}},
                         Dict{{"request_type", "delete"}, {"type", "Asset"}, {"id", 999}}});
  EXPECT_EQ(failed["exception"], Value(true));
  EXPECT_EQ(store.events().last_id(), last);
  EXPECT_EQ(store.tables().find("Asset")->second.rows.size(), 1u);
  // The failed transaction's ids stay used: the next event leaves a gap, as on sites.
  call("create",
       Dict{{"type", "Asset"}, {"fields", List{Dict{{"field_name", "code"}, {"value", "c"}}}}});
  EXPECT_GT(store.events().records().back().id, last + 3);
  // Paging honours the configured maximum of 2.
  const Value page = call("read", Dict{{"type", "EventLogEntry"},
                                       {"paging", Dict{{"entities_per_page", 50}}},
                                       {"return_paging_info_without_counts", true}});
  EXPECT_EQ(page["results"]["entities"].as_list().size(), 2u);
  EXPECT_EQ(page["results"]["paging_info"]["has_next_page"], Value(true));
}

TEST_F(SandboxApi, ARecordingSeedsEntitiesUnderTheirIdsWithLinksInAnyOrder) {
  auto link = [](const char* type, int id) { return Dict{{"type", type}, {"id", id}}; };
  // As `sgeventd record --with-entities` writes them: the Task first, naming what comes after.
  const List recording{
      Dict{{"type", "Task"},
           {"id", 41},
           {"content", "anim"},
           {"entity", link("Shot", 7)},
           {"step", link("Step", 99)},  // not in the recording
           {"sg_status_list", "ip"},
           {"created_at", "2026-01-01T00:00:00Z"},  // server-written: left out
           {"sg_studio_only", "x"}},                // not in this schema
      Dict{{"type", "Shot"}, {"id", 7}, {"code", "sh010"}, {"project", link("Project", 3)}},
      Dict{{"type", "Project"}, {"id", 3}, {"name", "Demo"}}, Dict{{"type", "Nope"}, {"id", 1}}};
  auto notes = api.seed_snapshot(recording);
  ASSERT_TRUE(notes) << notes.error().message;
  const Value task =
      call("read", Dict{{"type", "Task"},
                        {"filters", Dict{{"logical_operator", "and"}, {"conditions", List{}}}},
                        {"return_fields", List{"content", "entity", "step", "sg_status_list"}}});
  const Value& found = task["results"]["entities"];
  ASSERT_TRUE(found.is_list());
  ASSERT_EQ(found.as_list().size(), 1u);
  const Value& t = found.as_list()[0];
  EXPECT_EQ(t["id"], Value(41));
  EXPECT_EQ(t["entity"]["id"], Value(7));
  EXPECT_EQ(t["entity"]["name"], Value("sh010"));
  EXPECT_TRUE(t["step"].is_null());
  EXPECT_EQ(t["sg_status_list"], Value("ip"));
  const std::string all = [&] {
    std::string out;
    for (const auto& n : *notes) out += n + "\n";
    return out;
  }();
  EXPECT_NE(all.find("Task.sg_studio_only"), std::string::npos) << all;
  EXPECT_NE(all.find("1 link(s) to entities not in the recording"), std::string::npos) << all;
  EXPECT_NE(all.find("Nope 1: the schema has no such type"), std::string::npos) << all;
  // Seeding again leaves what is there alone.
  auto again = api.seed_snapshot(List{recording[2]});
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_NE((*again)[0].find("Project 3 is already there"), std::string::npos);
}

}  // namespace
}  // namespace sgeventd::sandbox
