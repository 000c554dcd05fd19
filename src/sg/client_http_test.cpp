// The client over real loopback HTTP (libcurl) against a scripted server: keep-alive, gzip,
// proxies, retries, and every way a server can misbehave.

#include <gtest/gtest.h>

#include "fake_transport.h"
#include "scripted_http_server.h"
#include "sg/endpoint.h"
#include "sgeventd/json.h"
#include "sgeventd/sg/client.h"

namespace sgeventd::sg {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::ScriptedAction;
using testing::ScriptedHttpServer;

const Value kInfo = Dict{{"version", List{8, 50, 0}}, {"api_max_entities_per_page", 500}};
const Value kTrue = Dict{{"results", true}};

Client make_client(const std::string& url, Clock* clock, ConnectionSettings s = {}) {
  s.base_url = url;
  s.script_name = "daemon";
  s.script_key = "key-123";
  auto c = Client::create(std::move(s), nullptr, clock);
  EXPECT_TRUE(c) << c.error().describe();
  return std::move(*c);
}

TEST(ClientHttp, KeepAliveReusesOneConnection) {
  ScriptedHttpServer server;
  server.set_default(ScriptedAction::json(kTrue));
  FakeClock clock;
  Client sg = make_client(server.url(), &clock);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sg.delete_entity("Shot", i));
  EXPECT_EQ(server.connections(), 1);
  for (const auto& r : server.requests()) EXPECT_EQ(r.connection, 1);
}

TEST(ClientHttp, WireHeadersAndBody) {
  ScriptedHttpServer server;
  server.set_default(ScriptedAction::json(kTrue));
  FakeClock clock;
  Client sg = make_client(server.url() + "/sub/", &clock);
  ASSERT_TRUE(sg.create("Shot", Dict{{"uni", "café"}}));
  const auto r = server.requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/sub/api3/json");
  EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.header("connection"), "keep-alive");
  EXPECT_EQ(r.header("accept-encoding"), "gzip, deflate");
  EXPECT_EQ(r.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(r.header("user-agent").rfind("shotgun-json (3.10.0); sgeventd ", 0), 0u);
  EXPECT_EQ(r.header("accept"), "");  // libcurl's default Accept is removed
  EXPECT_EQ(r.header("expect"), "");
  EXPECT_EQ(r.body,
            R"({"method_name": "create", "params": [{"script_name": "daemon", "script_key": )"
            R"("key-123"}, {"type": "Shot", "fields": [{"field_name": "uni", "value": "café"}], )"
            R"("return_fields": ["id"]}]})");
}

TEST(ClientHttp, GzipResponsesAreDecoded) {
  ScriptedHttpServer server;
  List entities;
  for (int i = 1; i <= 300; ++i) {
    entities.push_back(
        Dict{{"type", "EventLogEntry"}, {"id", i}, {"created_at", "2024-01-02T03:04:05Z"}});
  }
  server.enqueue(ScriptedAction::gzip_json(kInfo));
  server.enqueue(ScriptedAction::gzip_json(Dict{
      {"results", Dict{{"entities", entities}, {"paging_info", Dict{{"has_next_page", false}}}}}}));
  FakeClock clock;
  Client sg = make_client(server.url(), &clock);
  auto r = sg.find("EventLogEntry", List{});
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->size(), 300u);
  EXPECT_TRUE((*r)[299]["created_at"].is_datetime());
}

TEST(ClientHttp, BadGatewayIsRetriedWithoutReallySleepingInTests) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::text("<html>bad gateway</html>", "text/html", 502, "Bad Gateway"));
  server.enqueue(ScriptedAction::text("", "text/html", 504, "Gateway Timeout"));
  server.enqueue(ScriptedAction::json(kTrue));
  FakeClock clock;
  Client sg = make_client(server.url(), &clock);
  ASSERT_TRUE(sg.delete_entity("Shot", 1));
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{750ms, 1500ms}));
}

TEST(ClientHttp, ServiceUnavailableIsAProtocolErrorWithHeaders) {
  ScriptedHttpServer server;
  auto busy = ScriptedAction::text("busy", "text/plain", 503, "Service Unavailable");
  busy.headers.emplace_back("Retry-After", "30");
  server.enqueue(busy);
  FakeClock clock;
  Client sg = make_client(server.url(), &clock);
  auto r = sg.delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kProtocolError);
  EXPECT_EQ(r.error().http_status, 503);
  bool has_retry_after = false;
  for (const auto& [k, v] : r.error().headers) has_retry_after |= k == "retry-after" && v == "30";
  EXPECT_TRUE(has_retry_after);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(ClientHttp, HangPastTheTimeoutIsATimeoutAndIsNotRetried) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::hang(10s));
  server.set_default(ScriptedAction::json(kTrue));
  FakeClock clock;
  ConnectionSettings s;
  s.request_timeout = 300ms;
  Client sg = make_client(server.url(), &clock, s);
  const auto start = std::chrono::steady_clock::now();
  auto r = sg.create("Shot", Dict{{"code", "x"}});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout) << r.error().describe();
  EXPECT_LT(took, 5s);
  EXPECT_EQ(server.requests().size(), 1u);
  // The connection is dropped, and the next call works on a new one.
  ASSERT_TRUE(sg.delete_entity("Shot", 1));
  EXPECT_EQ(server.connections(), 2);
}

TEST(ClientHttp, ResetAndCloseAreConnectionErrorsAndNotRetried) {
  for (auto action : {ScriptedAction::reset(), ScriptedAction::close()}) {
    ScriptedHttpServer server;
    server.enqueue(action);
    server.set_default(ScriptedAction::json(kTrue));
    FakeClock clock;
    Client sg = make_client(server.url(), &clock);
    auto r = sg.create("Shot", Dict{{"code", "x"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kConnectionError) << r.error().describe();
    EXPECT_EQ(server.requests().size(), 1u);
    EXPECT_TRUE(sg.delete_entity("Shot", 1));
  }
}

TEST(ClientHttp, MalformedAnswersAreTypedErrors) {
  struct Case {
    ScriptedAction action;
    ErrorKind kind;
  };
  const Case cases[] = {
      {ScriptedAction::text("{{{{not json", "application/json"), ErrorKind::kResponseError},
      {ScriptedAction::truncated(R"({"results": [1, 2, 3)", 500), ErrorKind::kResponseError},
      {ScriptedAction::raw("this is not http\r\n\r\n"), ErrorKind::kConnectionError},
      {ScriptedAction::raw(
           "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope"),
       ErrorKind::kResponseError},
  };
  for (const Case& c : cases) {
    ScriptedHttpServer server;
    server.enqueue(c.action);
    FakeClock clock;
    Client sg = make_client(server.url(), &clock);
    auto r = sg.delete_entity("Shot", 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, c.kind) << r.error().describe();
  }
}

TEST(ClientHttp, HugeResponsesAreRefusedNotBuffered) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::text(std::string(3 << 20, 'x'), "application/json"));
  FakeClock clock;
  ConnectionSettings s;
  s.max_response_bytes = 1 << 20;
  Client sg = make_client(server.url(), &clock, s);
  auto r = sg.delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kResponseError);
  EXPECT_NE(r.error().message.find("larger than"), std::string::npos);
}

TEST(ClientHttp, NonJsonContentTypeComesBackAsText) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::text("plain words", "text/plain"));
  FakeClock clock;
  Client sg = make_client(server.url(), &clock);
  auto r = sg.delete_entity("Shot", 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, Value("plain words"));
}

TEST(ClientHttp, ProxyWithCredentials) {
  ScriptedHttpServer proxy;
  proxy.set_default(ScriptedAction::json(kTrue));
  FakeClock clock;
  ConnectionSettings s;
  s.http_proxy = "joe:pass word@127.0.0.1:" + std::to_string(proxy.port());
  Client sg = make_client("http://site.example.invalid/", &clock, s);
  ASSERT_TRUE(sg.delete_entity("Shot", 1));
  const auto r = proxy.requests().at(0);
  EXPECT_EQ(r.target, "http://site.example.invalid/api3/json");
  EXPECT_EQ(r.header("proxy-authorization"), "Basic " + base64_encode("joe:pass word"));
}

TEST(ClientHttp, ProxyWithoutCredentials) {
  ScriptedHttpServer proxy;
  proxy.set_default(ScriptedAction::json(kTrue));
  FakeClock clock;
  ConnectionSettings s;
  s.http_proxy = "127.0.0.1:" + std::to_string(proxy.port());
  Client sg = make_client("http://site.example.invalid/", &clock, s);
  ASSERT_TRUE(sg.delete_entity("Shot", 1));
  EXPECT_EQ(proxy.requests().at(0).header("proxy-authorization"), "");
}

TEST(ClientHttp, RefusedConnectionIsAConnectionError) {
  FakeClock clock;
  Client sg = make_client("http://127.0.0.1:1", &clock);
  auto r = sg.delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kConnectionError);
  EXPECT_EQ(r.error().describe().find("key-123"), std::string::npos);
}

TEST(ClientHttp, TlsHandshakeFailuresAreRetriedThenReported) {
  // A plain-HTTP server answering a TLS client: the handshake fails every time.
  ScriptedHttpServer server;
  server.set_greeting("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  FakeClock clock;
  Client sg = make_client("https://127.0.0.1:" + std::to_string(server.port()), &clock);
  auto r = sg.delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kTlsError) << r.error().describe();
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{3000ms, 3000ms}));
  EXPECT_EQ(server.connections(), 3);
}

}  // namespace
}  // namespace sgeventd::sg
