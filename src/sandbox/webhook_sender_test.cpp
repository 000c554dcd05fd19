// The webhook sender alone, against a loopback receiver: headers and signatures, the queue
// bound, failures counted without retries, and a prompt stop() whatever the receiver does.

#include "sandbox/webhook_sender.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "base/webhook_signature.h"
#include "sandbox/webhook_test_receiver.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<EventRecord> shot_changes(StringPool& pool, std::int64_t first_id, int count) {
  std::vector<EventRecord> out;
  for (int i = 0; i < count; ++i) {
    EventRecord r;
    r.id = first_id + i;
    r.created_at = 1643748788;
    r.event_type = pool.intern("Shotgun_Shot_Change");
    r.attribute_name = pool.intern("description");
    r.entity_type = pool.intern("Shot");
    r.entity_id = 1246;
    r.meta = R"({"type":"attribute_change","new_value":)" + std::to_string(i) + "}";
    out.push_back(std::move(r));
  }
  return out;
}

std::unique_ptr<WebhookSender> make_sender(WebhookSenderOptions options) {
  auto sender = WebhookSender::create(std::move(options));
  EXPECT_TRUE(sender) << sender.error();
  return sender ? std::move(*sender) : nullptr;
}

// Waits until every one of `total` deliveries is accounted for.
WebhookStats settle(const WebhookSender& sender, std::uint64_t total) {
  const auto deadline = Clock::now() + 15s;
  WebhookStats s = sender.stats();
  while (s.sent + s.failed + s.dropped < total && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    s = sender.stats();
  }
  return s;
}

TEST(WebhookUrl, SplitsOriginAndPath) {
  auto t = parse_webhook_url("http://127.0.0.1:9000/hooks/sg?x=1#frag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->origin, "http://127.0.0.1:9000");
  EXPECT_EQ(t->path, "/hooks/sg?x=1");
  t = parse_webhook_url("https://example.com");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->origin, "https://example.com");
  EXPECT_EQ(t->path, "/");
  EXPECT_FALSE(parse_webhook_url("ftp://example.com/"));
  EXPECT_FALSE(parse_webhook_url("example.com/hook"));
  EXPECT_FALSE(parse_webhook_url("http:///hook"));
}

TEST(WebhookSender, SignsEachPostAndSendsTheSitesHeaders) {
  WebhookReceiver receiver;
  auto sender = make_sender({.url = receiver.url("/in?site=a"), .secret = "s3cret"});
  StringPool pool;
  sender->enqueue(pool, shot_changes(pool, 10, 3));
  sender->start("http://127.0.0.1:1234");
  const auto got = receiver.wait_for(3);
  ASSERT_EQ(got.size(), 3u);
  std::set<std::string> delivery_ids;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& w = got[i];
    EXPECT_EQ(w.path, "/in");
    EXPECT_EQ(w.header("Content-Type"), "application/json");
    EXPECT_TRUE(base::signature_matches("s3cret", w.body, w.header("X-SG-SIGNATURE")));
    EXPECT_FALSE(base::signature_matches("other", w.body, w.header("X-SG-SIGNATURE")));
    EXPECT_EQ(w.header("X-SG-WEBHOOK-ID"), got[0].header("X-SG-WEBHOOK-ID"));
    EXPECT_EQ(w.header("X-SG-WEBHOOK-SITE-URL"), "http://127.0.0.1:1234");
    EXPECT_EQ(w.header("X-SG-EVENT-BATCH-ID"), "");
    delivery_ids.insert(w.header("X-SG-DELIVERY-ID"));
    auto body = parse_json(w.body);
    ASSERT_TRUE(body);
    EXPECT_EQ((*body)["data"]["event_log_entry_id"], Value(static_cast<long long>(10 + i)));
    EXPECT_EQ((*body)["data"]["meta"]["new_value"], Value(static_cast<long long>(i)));
  }
  EXPECT_EQ(got[0].header("X-SG-WEBHOOK-ID").size(), 36u);
  EXPECT_EQ(delivery_ids.size(), 3u);
  const auto s = settle(*sender, 3);
  EXPECT_EQ(s.sent, 3u);
  EXPECT_EQ(s.failed + s.dropped, 0u);
}

TEST(WebhookSender, NoSecretNoSignature) {
  WebhookReceiver receiver;
  auto sender = make_sender({.url = receiver.url()});
  StringPool pool;
  sender->start("http://127.0.0.1:1");
  sender->enqueue(pool, shot_changes(pool, 1, 1));
  const auto got = receiver.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header("X-SG-SIGNATURE"), "");
}

TEST(WebhookSender, PastTheQueueLimitDeliveriesAreDroppedAndCounted) {
  WebhookReceiver receiver;
  auto sender = make_sender({.url = receiver.url(), .queue_limit = 5});
  StringPool pool;
  sender->enqueue(pool, shot_changes(pool, 1, 8));
  EXPECT_EQ(sender->stats().dropped, 3u);
  sender->start("http://127.0.0.1:1");
  const auto s = settle(*sender, 8);
  EXPECT_EQ(s.sent, 5u);
  EXPECT_EQ(receiver.received().size(), 5u);
}

TEST(WebhookSender, ErrorStatusesAndAClosedPortCountAsFailedWithoutRetry) {
  WebhookReceiver receiver;
  receiver.set_mode(WebhookReceiver::Mode::kFail);
  auto failing = make_sender({.url = receiver.url()});
  auto dead =
      make_sender({.url = "http://127.0.0.1:" + std::to_string(closed_loopback_port()) + "/hook"});
  StringPool pool;
  failing->enqueue(pool, shot_changes(pool, 1, 4));
  dead->enqueue(pool, shot_changes(pool, 1, 4));
  failing->start("http://127.0.0.1:1");
  dead->start("http://127.0.0.1:1");
  EXPECT_EQ(settle(*failing, 4).failed, 4u);
  EXPECT_EQ(settle(*dead, 4).failed, 4u);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(receiver.received().size(), 4u);  // one attempt each
}

TEST(WebhookSender, StopCutsARequestTheReceiverHangsOn) {
  WebhookReceiver receiver;
  receiver.set_mode(WebhookReceiver::Mode::kHang);
  auto sender = make_sender({.url = receiver.url(), .stop_grace = 300ms});
  StringPool pool;
  sender->start("http://127.0.0.1:1");
  sender->enqueue(pool, shot_changes(pool, 1, 50));
  ASSERT_EQ(receiver.wait_for(1).size(), 1u);  // in flight now
  const auto start = Clock::now();
  sender->stop();
  EXPECT_LT(Clock::now() - start, 1500ms);
  const auto s = sender->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.dropped, 49u);
  EXPECT_EQ(s.sent, 0u);
  sender->stop();  // twice is fine
}

TEST(WebhookSender, StopWithoutStartDropsWhatWasQueued) {
  auto sender = make_sender({.url = "http://127.0.0.1:9/"});
  StringPool pool;
  sender->enqueue(pool, shot_changes(pool, 1, 2));
  sender->stop();
  EXPECT_EQ(sender->stats().dropped, 2u);
  sender->enqueue(pool, shot_changes(pool, 3, 1));  // after stop: counted, not queued
  EXPECT_EQ(sender->stats().dropped, 3u);
}

}  // namespace
}  // namespace sgeventd::sandbox::testing
