#include "daemon/webhook.h"

#include <gtest/gtest.h>

namespace sgeventd::daemon {
namespace {

TEST(ReadWebhook, OneDeliveryNamesItsEvent) {
  const WebhookNews news = read_webhook(
      R"({"data":{"id":"11777.3065.0","event_log_entry_id":545175,"event_type":"Shotgun_Shot_Change",)"
      R"("operation":"update","meta":{"type":"attribute_change"}},"timestamp":"2022-02-01T20:53:09Z"})");
  EXPECT_TRUE(news.readable);
  EXPECT_EQ(news.deliveries, 1);
  EXPECT_EQ(news.newest_id, 545175);
}

TEST(ReadWebhook, ABatchNamesItsNewestEventWrappedOrNot) {
  const WebhookNews news =
      read_webhook(R"({"timestamp":"2021-02-22T18:04:40.140Z","data":{"deliveries":[)"
                   R"({"event_log_entry_id":12},{"event_log_entry_id":40},)"
                   R"({"data":{"event_log_entry_id":31}},{"no":"id"}]}})");
  EXPECT_TRUE(news.readable);
  EXPECT_EQ(news.deliveries, 4);
  EXPECT_EQ(news.newest_id, 40);
}

TEST(ReadWebhook, AnythingElseIsUnreadableAndNamesNothing) {
  for (const char* body :
       {"", "not json", "[]", R"({"data":[]})", R"({"data":{}})",
        R"({"data":{"event_log_entry_id":"12"}})", R"({"data":{"event_log_entry_id":true}})",
        R"({"data":{"event_log_entry_id":-4}})"}) {
    const WebhookNews news = read_webhook(body);
    EXPECT_FALSE(news.readable) << body;
    EXPECT_EQ(news.newest_id, 0) << body;
  }
}

}  // namespace
}  // namespace sgeventd::daemon
