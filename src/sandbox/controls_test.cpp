// Test controls: the id gaps, faults and load a daemon must survive, reproduced on demand and
// observed through the real client.

#include <gtest/gtest.h>

#include <thread>

#include "sandbox/sandbox_test_support.h"

namespace sgeventd::sandbox::testing {
namespace {

using namespace std::chrono_literals;
using sg::ErrorKind;

std::vector<std::int64_t> ids_of(const List& rows) {
  std::vector<std::int64_t> out;
  for (const Value& r : rows) out.push_back(r["id"].as_int());
  return out;
}

List events_after(sg::Client& sg, std::int64_t after) {
  return SB_OK(sg.find("EventLogEntry", Value(List{List{"id", "greater_than", after}}),
                       {.fields = {"event_type"}, .order = List{Dict{{"field_name", "id"}}}}));
}

TEST(SandboxControls, ReservedIdsAppearLaterWithTheirOriginalIds) {
  TestSite site;
  auto sg = site.client();
  const Value reserved = site.control("reserve", Dict{{"count", 2}})["ids"];
  ASSERT_EQ(reserved.as_list().size(), 2u);
  SB_OK(sg.create("Asset", Dict{{"code", "after the gap"}}));
  auto first = ids_of(events_after(sg, 0));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0], 3);  // 1 and 2 are missing: a gap
  auto status = site.control("status");
  EXPECT_EQ(status["hidden_ids"], Value(List{1, 2}));
  // The late transaction commits: the lower ids appear now, below ids already read.
  site.control("commit", Dict{{"ids", List{1}},
                              {"event_type", "Shotgun_Asset_Change"},
                              {"entity", Dict{{"type", "Asset"}, {"id", 1}}}});
  auto late = SB_OK(sg.find("EventLogEntry", Value(List{List{"id", "in", List{1, 2}}}),
                            {.fields = {"event_type", "entity"}}));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0]["id"], Value(1));
  EXPECT_EQ(late[0]["event_type"], Value("Shotgun_Asset_Change"));
  EXPECT_EQ(late[0]["entity"]["name"], Value("after the gap"));
  // The other never commits (a failed transaction): it stays a hole forever.
  site.control("discard", Dict{{"ids", List{2}}});
  EXPECT_EQ(site.control("status")["hidden_ids"], Value(List{}));
  EXPECT_EQ(ids_of(events_after(sg, 0)).size(), 4u);
}

TEST(SandboxControls, HeldEventsBecomeVisibleOnRelease) {
  TestSite site;
  auto sg = site.client();
  site.control("hold", Dict{{"count", 3}});
  SB_OK(sg.create("Asset", Dict{{"code", "held"}}));  // New, code, status: all held
  SB_OK(sg.create("Asset", Dict{{"code", "seen"}}));
  EXPECT_EQ(ids_of(events_after(sg, 0)), (std::vector<std::int64_t>{4, 5, 6}));
  auto released = site.control("release");
  EXPECT_EQ(released["released"], Value(List{1, 2, 3}));
  EXPECT_EQ(ids_of(events_after(sg, 0)).size(), 6u);
}

TEST(SandboxControls, StatusFaultsAreWhatTheClientSees) {
  TestSite site;
  auto sg = site.client();
  SB_OK(sg.info());
  site.control("faults",
               Dict{{"kind", "status"}, {"status", 503}, {"count", 1}, {"methods", List{"read"}}});
  auto r = sg.find("Shot", Value(List{}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kProtocolError);
  EXPECT_EQ(r.error().http_status, 503);
  EXPECT_TRUE(sg.find("Shot", Value(List{})));  // only the next one

  site.control("faults", Dict{{"kind", "status"}, {"status", 500}, {"count", 1}});
  r = sg.find("Shot", Value(List{}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 500);

  const auto raw_before = site.control("counters")["requests"]["read"].as_int();
  // 502 is retried by the client (3 attempts): two faults, then success.
  site.control("faults", Dict{{"kind", "status"}, {"status", 502}, {"count", 2}});
  EXPECT_TRUE(sg.find("Shot", Value(List{})));
  EXPECT_EQ(site.control("counters")["requests"]["read"].as_int(), raw_before + 3);

  site.control("faults", Dict{{"kind", "status"}, {"status", 429}, {"retry_after", 7}});
  auto raw = site.post("/api3/json", R"({"method_name":"info","params":[]})");
  EXPECT_EQ(raw.status, 429);
  EXPECT_EQ(raw.retry_after, "7");
}

TEST(SandboxControls, BrokenRepliesAreTransportOrResponseErrors) {
  TestSite site;
  auto sg = site.client();
  SB_OK(sg.info());
  struct Case {
    const char* kind;
    std::vector<ErrorKind> expected;
  };
  for (const Case& c : {Case{"reset", {ErrorKind::kConnectionError}},
                        Case{"close", {ErrorKind::kConnectionError, ErrorKind::kResponseError}},
                        Case{"truncate", {ErrorKind::kConnectionError, ErrorKind::kResponseError}},
                        Case{"not_json", {ErrorKind::kResponseError}},
                        Case{"bad_json", {ErrorKind::kResponseError}}}) {
    // Two: libcurl silently resends a request once when a reused keep-alive connection
    // dies before any byte of the reply (as httplib2 does for shotgun_api3).
    site.control("faults", Dict{{"kind", c.kind}, {"methods", List{"read"}}, {"count", 2}});
    auto r = sg.find("Shot", Value(List{}));
    ASSERT_FALSE(r) << c.kind;
    EXPECT_NE(std::find(c.expected.begin(), c.expected.end(), r.error().kind), c.expected.end())
        << c.kind << ": " << r.error().describe();
    site.control("clear_faults");
    EXPECT_TRUE(sg.find("Shot", Value(List{}))) << "after " << c.kind;
  }
}

TEST(SandboxControls, AfterFaultsRunTheWriteButLoseTheReply) {
  TestSite site;
  auto sg = site.client();
  site.control("faults", Dict{{"kind", "reset"}, {"methods", List{"create"}}, {"after", true}});
  EXPECT_FALSE(sg.create("Asset", Dict{{"code", "ghost"}}));
  // The create happened although the client saw a reset: why creates are never retried.
  EXPECT_EQ(SB_OK(sg.find("Asset", Value(List{List{"code", "is", "ghost"}}))).size(), 1u);
}

TEST(SandboxControls, HangsTimeOutAndSlowRepliesArrive) {
  TestSite site;
  sg::ConnectionSettings s;
  s.request_timeout = 300ms;
  auto sg = site.client(s);
  SB_OK(sg.info());
  site.control("faults", Dict{{"kind", "hang"}, {"delay_ms", 2000}, {"methods", List{"read"}}});
  const auto start = std::chrono::steady_clock::now();
  auto r = sg.find("Shot", Value(List{}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1900ms);
  auto patient = site.client();
  site.control("faults", Dict{{"kind", "slow"}, {"delay_ms", 150}, {"methods", List{"read"}}});
  const auto slow_start = std::chrono::steady_clock::now();
  EXPECT_TRUE(patient.find("Shot", Value(List{})));
  EXPECT_GE(std::chrono::steady_clock::now() - slow_start, 150ms);
}

TEST(SandboxControls, TimedFaultsExpire) {
  TestSite site;
  auto sg = site.client();
  site.control("faults", Dict{{"kind", "status"}, {"status", 503}, {"seconds", 0.2}});
  EXPECT_FALSE(sg.find("Shot", Value(List{})));
  EXPECT_FALSE(sg.find("Shot", Value(List{})));
  // Bounded wait for the window to pass.
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    std::this_thread::sleep_for(20ms);
    recovered = sg.find("Shot", Value(List{})).has_value();
  }
  EXPECT_TRUE(recovered);
}

TEST(SandboxControls, GenerateBulkAndAtASteadyRate) {
  TestSite site;
  auto sg = site.client();
  auto bulk = site.control("generate", Dict{{"count", 20000}});
  EXPECT_EQ(bulk["count"], Value(20000));
  const std::int64_t last = bulk["last_id"].as_int();
  // All of them page through with the poller's query.
  std::int64_t cursor = 0;
  std::int64_t seen = 0;
  for (;;) {
    auto page = SB_OK(sg.find(
        "EventLogEntry", Value(List{List{"id", "greater_than", cursor}}),
        {.fields = {"meta", "entity"}, .order = List{Dict{{"field_name", "id"}}}, .limit = 500}));
    if (page.empty()) break;
    seen += static_cast<std::int64_t>(page.size());
    cursor = page.back()["id"].as_int();
  }
  EXPECT_EQ(cursor, last);
  EXPECT_EQ(seen, last);  // ids 1..last, no gap

  site.control("generate", Dict{{"rate", 200}, {"count", 40}});
  bool all = false;
  for (int i = 0; i < 250 && !all; ++i) {  // bounded: 5 s
    std::this_thread::sleep_for(20ms);
    all = site.sandbox().last_event_id() >= last + 40;
  }
  EXPECT_TRUE(all);
  site.control("stop_generate");
}

TEST(SandboxControls, CountersAndReset) {
  TestSite site;
  auto sg = site.client();
  SB_OK(sg.create("Asset", Dict{{"code", "a"}}));
  SB_OK(sg.find("Asset", Value(List{})));
  auto counters = site.control("counters");
  EXPECT_EQ(counters["requests"]["create"], Value(1));
  EXPECT_GE(counters["requests"]["read"].as_int(), 1);
  site.control("reset");
  EXPECT_EQ(SB_OK(sg.find("Asset", Value(List{}))).size(), 0u);
  EXPECT_EQ(site.sandbox().last_event_id(), 0);
  EXPECT_TRUE(sg.create("Asset", Dict{{"code", "b"}}));  // credentials still work
  EXPECT_EQ(site.control("counters")["requests"]["create"], Value(1));
}

TEST(SandboxControls, AbsentWithoutTheFlag) {
  SandboxOptions o = TestSite::default_options();
  o.test_controls = false;
  TestSite site(o);
  EXPECT_EQ(site.post("/_sandbox/status", "{}").status, 404);
}

}  // namespace
}  // namespace sgeventd::sandbox::testing
