// The webhook delivery format (sg-protocol.md section 11 item (l)) and the store's commit
// listener that feeds it, without sockets or threads.

#include "sandbox/webhook_payload.h"

#include <gtest/gtest.h>

#include "sandbox/api.h"
#include "sandbox/store.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

// The site's example: Shot 1246's description changed by HumanUser 88 in Project 122.
EventRecord site_example(StringPool& pool) {
  EventRecord r;
  r.id = 545175;
  r.created_at =
      std::chrono::sys_seconds(sys_days(std::chrono::year(2022) / 2 / 1) + 20h + 53min + 8s)
          .time_since_epoch()
          .count();
  r.event_type = pool.intern("Shotgun_Shot_Change");
  r.attribute_name = pool.intern("description");
  r.session_uuid = pool.intern("dd6a1d6a-8a9b-11ec-a1f4-0242ac110004");
  r.user_type = pool.intern("HumanUser");
  r.user_id = 88;
  r.entity_type = pool.intern("Shot");
  r.entity_id = 1246;
  r.project_id = 122;
  r.meta = R"({"type":"attribute_change","entity_type":"Shot","entity_id":1246,)"
           R"("attribute_name":"description","field_data_type":"text",)"
           R"("old_value":"*Add fog and mist.","new_value":"*Add fog and mist with depth"})";
  return r;
}

const auto kSendTime = std::chrono::system_clock::time_point(
    sys_days(std::chrono::year(2022) / 2 / 1) + 20h + 53min + 9s + 140ms);

TEST(WebhookPayload, SingleDeliveryIsTheSitesExampleByteForByte) {
  StringPool pool;
  const std::string body = single_delivery_body(
      delivery_data(make_pending_delivery(site_example(pool), pool, 11777)), kSendTime);
  EXPECT_EQ(body,
            R"({"data":{"id":"11777.545175.0","event_log_entry_id":545175,)"
            R"("event_type":"Shotgun_Shot_Change","operation":"update",)"
            R"("attribute_name":"description","created_at":"2022-02-01 20:53:08.000000",)"
            R"("session_uuid":"dd6a1d6a-8a9b-11ec-a1f4-0242ac110004",)"
            R"("user":{"id":88,"type":"HumanUser"},"entity":{"id":1246,"type":"Shot"},)"
            R"("project":{"id":122,"type":"Project"},)"
            R"("meta":{"type":"attribute_change","entity_type":"Shot","entity_id":1246,)"
            R"("attribute_name":"description","field_data_type":"text",)"
            R"("old_value":"*Add fog and mist.","new_value":"*Add fog and mist with depth"}},)"
            R"("timestamp":"2022-02-01T20:53:09Z"})");
}

TEST(WebhookPayload, MissingLinksAndTextAreNull) {
  StringPool pool;
  EventRecord r;
  r.id = 7;
  r.event_type = pool.intern("Shotgun_Asset_New");
  r.entity_type = pool.intern("Asset");
  r.entity_id = 3;
  const Value data = delivery_data(make_pending_delivery(r, pool, 1));
  EXPECT_EQ(data["operation"], Value("create"));
  EXPECT_EQ(data["created_at"], Value("1970-01-01 00:00:00.000000"));
  for (const char* key : {"attribute_name", "session_uuid", "user", "project", "meta"}) {
    ASSERT_TRUE(data.as_dict().contains(key)) << key;
    EXPECT_TRUE(data[key].is_null()) << key;
  }
}

TEST(WebhookPayload, OperationFollowsTheEventTypeAndCustomEventsHaveNone) {
  EXPECT_EQ(webhook_operation("Shotgun_Task_New"), "create");
  EXPECT_EQ(webhook_operation("Shotgun_Task_Change"), "update");
  EXPECT_EQ(webhook_operation("Shotgun_Task_Retirement"), "delete");
  EXPECT_EQ(webhook_operation("Shotgun_Task_Revival"), "revive");
  EXPECT_EQ(webhook_operation("Toolkit_Folders_Create"), "");
  StringPool pool;
  EventRecord r;
  r.id = 9;
  r.event_type = pool.intern("Toolkit_Folders_Create");
  const Value data = delivery_data(make_pending_delivery(r, pool, 1));
  EXPECT_FALSE(data.as_dict().contains("operation"));
  EXPECT_EQ(data["event_type"], Value("Toolkit_Folders_Create"));
}

TEST(WebhookPayload, BatchedBodyWrapsDeliveriesWithAMillisecondTimestamp) {
  StringPool pool;
  EventRecord a = site_example(pool);
  EventRecord b = site_example(pool);
  b.id = a.id + 1;
  List deliveries{delivery_data(make_pending_delivery(a, pool, 5)),
                  delivery_data(make_pending_delivery(b, pool, 5))};
  const std::string body = batched_delivery_body(std::move(deliveries), kSendTime);
  EXPECT_EQ(body.rfind(R"({"timestamp":"2022-02-01T20:53:09.140Z","data":{"deliveries":[{)", 0), 0u)
      << body;
  auto parsed = parse_json(body);
  ASSERT_TRUE(parsed);
  const List& list = (*parsed)["data"]["deliveries"].as_list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], Value("5.545175.0"));
  EXPECT_EQ(list[1]["id"], Value("5.545176.0"));
  EXPECT_EQ(list[1]["meta"]["new_value"], Value("*Add fog and mist with depth"));
}

class CommitListener : public ::testing::Test {
 protected:
  CommitListener() : api(store, ApiConfig{{{"s", "k"}}, {}, 500, {}, {}}) {
    EXPECT_TRUE(api.bootstrap());
    store.set_commit_listener([this](const StringPool& pool, const std::vector<EventRecord>& e) {
      for (const auto& r : e) heard.push_back(delivery_data(make_pending_delivery(r, pool, 1)));
    });
  }

  // The wire form of a create of `type` with code = `code`.
  static Value create_args(const std::string& type, const Value& code) {
    return Dict{{"type", type}, {"fields", List{Dict{{"field_name", "code"}, {"value", code}}}}};
  }
  Value call(const std::string& method, const Value& args) {
    const Value body =
        Dict{{"method_name", method},
             {"params", List{Dict{{"script_name", "s"}, {"script_key", "k"}}, args}}};
    ApiReply reply = api.handle(to_json(body));
    EXPECT_EQ(reply.status, 200);
    auto parsed = parse_json(reply.body);
    return parsed ? *parsed : Value();
  }

  Store store{Schema::starter()};
  Api api;
  List heard;
};

TEST_F(CommitListener, HearsEveryEventOfACommitHeldOnesToo) {
  {
    std::unique_lock lock(store.mutex());
    store.events().hold_next(2);
  }
  ASSERT_TRUE(call("create", create_args("Shot", "sh010"))["results"]["id"].is_int());
  ASSERT_GE(heard.size(), 2u);  // New, then one Change per field set
  EXPECT_EQ(heard[0]["event_type"], Value("Shotgun_Shot_New"));
  EXPECT_EQ(heard[0]["entity"], Value(Dict{{"id", 1}, {"type", "Shot"}}));
  EXPECT_EQ(heard[0]["user"], Value(Dict{{"id", 1}, {"type", "ApiUser"}}));
  EXPECT_EQ(heard[1]["operation"], Value("update"));
  std::shared_lock lock(store.mutex());
  EXPECT_EQ(store.events().hidden_ids().size(), 2u);  // held, yet heard
  EXPECT_EQ(store.events().records().size(), heard.size() - 2);
}

TEST_F(CommitListener, HearsNothingOfAFailedBatch) {
  Value first = create_args("Shot", "sh010");
  first.as_dict().set("request_type", "create");
  Value second = create_args("Shot", 12);  // a number for a text field: refused
  second.as_dict().set("request_type", "create");
  EXPECT_EQ(call("batch", List{first, second})["exception"], Value(true));
  EXPECT_TRUE(heard.empty());
}

}  // namespace
}  // namespace sgeventd::sandbox
