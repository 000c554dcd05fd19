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

}  // namespace
}  // namespace sgeventd::sandbox
