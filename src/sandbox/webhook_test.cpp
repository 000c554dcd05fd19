// Webhooks from a running sandbox: writes made through the real api3 client come back as
// signed deliveries that match the EventLogEntry rows a poll reads, batched or not; held
// events are delivered at write time; a dead or hanging receiver slows neither writes nor
// stop().

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "base/webhook_signature.h"
#include "sandbox/sandbox_test_support.h"
#include "sandbox/webhook_test_receiver.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecret = "webhook-secret";

SandboxOptions with_webhooks(const std::string& url, bool batched = false) {
  SandboxOptions o = TestSite::default_options();
  o.webhook_url = url;
  o.webhook_secret = kSecret;
  o.webhook_batched = batched;
  return o;
}

// The inner "data" objects of every request, in arrival order; each body's signature checked.
List deliveries_of(const std::vector<ReceivedWebhook>& requests, bool batched) {
  List out;
  for (const auto& r : requests) {
    EXPECT_TRUE(base::signature_matches(kSecret, r.body, r.header("X-SG-SIGNATURE"))) << r.body;
    auto body = parse_json(r.body);
    if (!body) {
      ADD_FAILURE() << "not JSON: " << r.body;
      continue;
    }
    if (!batched) {
      out.push_back((*body)["data"]);
      continue;
    }
    for (const Value& d : (*body)["data"]["deliveries"].as_list()) out.push_back(d);
  }
  return out;
}

// Waits until `count` deliveries have arrived.
List wait_for_deliveries(WebhookReceiver& receiver, std::size_t count, bool batched = false) {
  const auto deadline = Clock::now() + 15s;
  List got;
  while (Clock::now() < deadline) {
    got = deliveries_of(receiver.received(), batched);
    if (got.size() >= count) break;
    std::this_thread::sleep_for(10ms);
  }
  return got;
}

List logged_events_after(sg::Client& sg, std::int64_t after) {
  sg::FindOptions o;
  o.fields = {"id", "event_type", "attribute_name", "meta", "entity", "project", "session_uuid"};
  o.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
  return SB_OK(sg.find("EventLogEntry", Value(List{List{"id", "greater_than", after}}), o));
}

TEST(SandboxWebhooks, OneSignedDeliveryPerEventMatchingTheLog) {
  WebhookReceiver receiver;
  TestSite site(with_webhooks(receiver.url("/sg")));
  sg::Client sg = site.client();
  const std::int64_t project = *SB_OK(sg.create("Project", Dict{{"name", "Demo"}}))["id"].if_int();
  const std::int64_t shot =
      *SB_OK(sg.create("Shot", Dict{{"code", "sh010"},
                                    {"project", Dict{{"type", "Project"}, {"id", project}}}}))["id"]
           .if_int();
  SB_OK(sg.update("Shot", shot, Dict{{"description", "Add fog"}}));
  SB_OK(sg.delete_entity("Shot", shot));
  SB_OK(sg.revive("Shot", shot));

  const List log = logged_events_after(sg, 0);
  const List got = wait_for_deliveries(receiver, log.size());
  ASSERT_EQ(got.size(), log.size());
  std::map<std::string, int> operations;
  for (std::size_t i = 0; i < log.size(); ++i) {
    const Value& event = log[i];
    const Value& d = got[i];  // one thread, in commit order
    SCOPED_TRACE(to_json(d));
    EXPECT_EQ(d["event_log_entry_id"], event["id"]);
    const std::string& id = d["id"].as_string();  // "<webhook number>.<event id>.0"
    EXPECT_EQ(id.substr(id.find('.')), "." + std::to_string(event["id"].as_int()) + ".0");
    EXPECT_EQ(d["event_type"], event["event_type"]);
    EXPECT_EQ(d["attribute_name"], event["attribute_name"]);
    EXPECT_EQ(d["meta"], event["meta"]);
    EXPECT_EQ(d["user"], Value(Dict{{"id", 1}, {"type", "ApiUser"}}));
    EXPECT_EQ(d["session_uuid"], event["session_uuid"]);
    EXPECT_EQ(d["created_at"].as_string().size(), 26u);  // YYYY-MM-DD HH:MM:SS.ffffff
    const std::string& type = event["event_type"].as_string();
    if (type.rfind("Shotgun_Shot_", 0) == 0) {
      // Given at write time, so even a Retirement names its Shot (a read shows null).
      EXPECT_EQ(d["entity"], Value(Dict{{"id", shot}, {"type", "Shot"}}));
      EXPECT_EQ(d["project"], Value(Dict{{"id", project}, {"type", "Project"}}));
    }
    operations[d["operation"].as_string()]++;
  }
  EXPECT_EQ(operations["create"], 2);  // Project, Shot
  EXPECT_EQ(operations["delete"], 1);
  EXPECT_EQ(operations["revive"], 1);
  EXPECT_GE(operations["update"], 4);  // in_create fields, description, retirement_date x2

  const auto requests = receiver.received();
  EXPECT_EQ(requests[0].path, "/sg");
  EXPECT_EQ(requests[0].header("X-SG-WEBHOOK-SITE-URL"), site.url());
  const auto deadline = Clock::now() + 5s;
  while (site.sandbox().webhook_stats().sent < log.size() && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const auto stats = site.sandbox().webhook_stats();
  EXPECT_EQ(stats.sent, log.size());
  EXPECT_EQ(stats.failed + stats.dropped, 0u);
}

TEST(SandboxWebhooks, BatchedPacksUpToFiftyEventsPerPost) {
  WebhookReceiver receiver;
  TestSite site(with_webhooks(receiver.url(), /*batched=*/true));
  sg::Client sg = site.client();
  SB_OK(sg.create("Shot", Dict{{"code", "sh010"}, {"description", "x"}}));
  site.control("generate", Dict{{"count", 230}});  // one commit: all queued at once
  for (int i = 0; i < 5; ++i) SB_OK(sg.create("Asset", Dict{{"code", "a" + std::to_string(i)}}));

  const List log = logged_events_after(sg, 0);
  const List got = wait_for_deliveries(receiver, log.size(), /*batched=*/true);
  ASSERT_EQ(got.size(), log.size());
  std::map<std::int64_t, int> seen;
  for (const Value& d : got) seen[d["event_log_entry_id"].as_int()]++;
  for (const Value& e : log) EXPECT_EQ(seen[e["id"].as_int()], 1) << e["id"].as_int();
  EXPECT_EQ(seen.size(), log.size());

  std::size_t largest = 0;
  std::set<std::string> batch_ids;
  for (const auto& r : receiver.received()) {
    auto body = parse_json(r.body);
    ASSERT_TRUE(body);
    const std::size_t n = (*body)["data"]["deliveries"].as_list().size();
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, 50u);
    EXPECT_EQ(r.header("X-SG-EVENT-BATCH-SIZE"), std::to_string(n));
    EXPECT_EQ((*body)["timestamp"].as_string().size(), 24u);  // ...SS.mmmZ
    batch_ids.insert(r.header("X-SG-EVENT-BATCH-ID"));
    largest = std::max(largest, n);
  }
  EXPECT_EQ(largest, 50u);
  EXPECT_EQ(batch_ids.size(), receiver.received().size());
  EXPECT_LT(receiver.received().size(), log.size() / 4);
}

TEST(SandboxWebhooks, AHeldEventIsDeliveredBeforeAPollCanSeeIt) {
  WebhookReceiver receiver;
  TestSite site(with_webhooks(receiver.url()));
  sg::Client sg = site.client();
  const std::int64_t shot = *SB_OK(sg.create("Shot", Dict{{"code", "sh010"}}))["id"].if_int();
  const std::int64_t before = site.sandbox().last_event_id();
  site.control("hold", Dict{{"count", 1}});
  SB_OK(sg.update("Shot", shot, Dict{{"description", "late"}}));
  const std::int64_t held = before + 1;
  EXPECT_EQ(site.sandbox().last_event_id(), before);  // a poll sees nothing new

  const List got = wait_for_deliveries(receiver, static_cast<std::size_t>(held));
  ASSERT_EQ(got.size(), static_cast<std::size_t>(held));
  EXPECT_EQ(got.back()["event_log_entry_id"], Value(held));
  EXPECT_EQ(got.back()["attribute_name"], Value("description"));
  EXPECT_EQ(got.back()["meta"]["new_value"], Value("late"));
  EXPECT_TRUE(logged_events_after(sg, before).empty());

  // Released, it becomes visible, and is not delivered a second time.
  site.control("release");
  EXPECT_EQ(site.sandbox().last_event_id(), held);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(wait_for_deliveries(receiver, 0).size(), static_cast<std::size_t>(held));
}

// Writes against a receiver that never answers, or is not there: each would cost seconds if
// it waited on the delivery.
void expect_fast_writes_and_failures(const std::string& url, WebhookReceiver* hanging) {
  TestSite site(with_webhooks(url));
  sg::Client sg = site.client();
  const std::int64_t shot = *SB_OK(sg.create("Shot", Dict{{"code", "sh010"}}))["id"].if_int();
  if (hanging) {
    ASSERT_GE(hanging->wait_for(1).size(), 1u);  // the first request hangs
  }
  const auto start = Clock::now();
  for (int i = 0; i < 30; ++i) {
    SB_OK(sg.update("Shot", shot, Dict{{"description", "take " + std::to_string(i)}}));
  }
  EXPECT_LT(Clock::now() - start, 3s);
  const auto total = static_cast<std::uint64_t>(site.sandbox().last_event_id());

  if (!hanging) {
    const auto deadline = Clock::now() + 15s;
    while (site.sandbox().webhook_stats().failed < total && Clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(site.sandbox().webhook_stats().failed, total);
  }
  const auto stop_start = Clock::now();
  site.sandbox().stop();
  EXPECT_LT(Clock::now() - stop_start, 2500ms);
  const auto s = site.sandbox().webhook_stats();
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(s.sent + s.failed + s.dropped, total);
  if (hanging) {
    EXPECT_EQ(s.failed, 1u);  // the request cut at stop
  }
}

TEST(SandboxWebhooks, ADeadReceiverSlowsNoWriteAndFailuresAreCounted) {
  expect_fast_writes_and_failures(
      "http://127.0.0.1:" + std::to_string(closed_loopback_port()) + "/hook", nullptr);
}

TEST(SandboxWebhooks, AHangingReceiverSlowsNeitherWritesNorStop) {
  WebhookReceiver receiver;
  receiver.set_mode(WebhookReceiver::Mode::kHang);
  expect_fast_writes_and_failures(receiver.url(), &receiver);
}

TEST(SandboxWebhooks, StartRefusesABadUrl) {
  Sandbox site;
  SandboxOptions o = TestSite::default_options();
  o.webhook_url = "ftp://127.0.0.1/hook";
  auto ok = site.start(o);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().find("http://"), std::string::npos) << ok.error();
}

}  // namespace
}  // namespace sgeventd::sandbox::testing
