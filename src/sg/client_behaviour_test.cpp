// Client behaviour beyond the recorded bodies: retries and their schedule (fake clock, no
// sleeping), error classes, headers, settings validation, and that secrets stay out of errors.

#include <gtest/gtest.h>

#include <cstdlib>

#include "fake_transport.h"
#include "sgeventd/json.h"
#include "sgeventd/sg/client.h"

namespace sgeventd::sg {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeTransport;
using testing::json_reply;
using testing::raw_reply;

const Value kInfo = Dict{{"version", List{8, 50, 0}}, {"api_max_entities_per_page", 500}};

struct Harness {
  FakeClock clock;
  std::shared_ptr<FakeTransport::Log> log;
  FakeTransport* transport = nullptr;
  std::optional<Client> client;

  explicit Harness(ConnectionSettings s = {}) {
    if (s.base_url.empty()) s.base_url = "https://site.test";
    if (s.script_name.empty() && s.login.empty() && s.session_token.empty()) {
      s.script_name = "daemon";
      s.script_key = "s3cret-key";
    }
    auto t = std::make_unique<FakeTransport>();
    transport = t.get();
    log = t->log();
    auto c = Client::create(std::move(s), std::move(t), &clock);
    EXPECT_TRUE(c) << c.error().describe();
    client.emplace(std::move(*c));
  }
  void reply(Value body) { transport->enqueue(json_reply(body)); }
  void status(int code, std::string reason, std::string body = "") {
    transport->enqueue(raw_reply(std::move(body), "text/html", code, std::move(reason)));
  }
  void fail(TransportErrorKind kind, std::string message = "boom") {
    transport->enqueue(tl::unexpected(TransportError{kind, std::move(message)}));
  }
};

TEST(Retries, BadGatewayIsRetriedTwiceWithGrowingPauses) {
  Harness h;
  h.status(502, "Bad Gateway");
  h.status(504, "Gateway Timeout");
  h.reply(Dict{{"results", true}});
  auto r = h.client->delete_entity("Shot", 1);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(h.log->requests.size(), 3u);
  EXPECT_EQ(h.clock.sleeps, (std::vector<std::chrono::milliseconds>{750ms, 1500ms}));
}

TEST(Retries, ThirdBadGatewayIsAProtocolError) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.status(502, "Bad Gateway");
  h.reply(Dict{{"results", true}});  // never reached
  auto r = h.client->delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kProtocolError);
  EXPECT_EQ(r.error().http_status, 502);
  EXPECT_EQ(h.log->requests.size(), 3u);
  EXPECT_EQ(h.clock.sleeps.size(), 2u);
}

TEST(Retries, GatewayAttemptsOfOneLeaveRetryingToTheCaller) {
  ConnectionSettings s;
  s.gateway_attempts = 1;  // the daemon's readers: the poller retries with its own backoff
  Harness h(s);
  h.status(502, "Bad Gateway");
  h.reply(Dict{{"results", true}});  // not reached by this call
  auto r = h.client->delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 502);
  EXPECT_EQ(h.log->requests.size(), 1u);
  EXPECT_TRUE(h.clock.sleeps.empty());
}

TEST(Retries, OtherStatusesAreNotRetried) {
  for (int code : {500, 503, 429, 404, 301}) {
    Harness h;
    h.status(code, "Whatever");
    auto r = h.client->delete_entity("Shot", 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kProtocolError) << code;
    EXPECT_EQ(h.log->requests.size(), 1u) << code;
    EXPECT_TRUE(h.clock.sleeps.empty()) << code;
  }
}

TEST(Errors, MaintenanceAndForbiddenMessages) {
  Harness h;
  h.status(503, "Service Unavailable");
  auto r = h.client->delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("down for maintenance or too busy"), std::string::npos);
  h.status(403, "Forbidden", "API access blocked");
  r = h.client->delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("403 Forbidden: API access blocked"), std::string::npos);
}

TEST(Retries, TlsErrorsAreRetriedThreeTimesThreeSecondsApart) {
  Harness h;
  h.fail(TransportErrorKind::kTls);
  h.fail(TransportErrorKind::kTls);
  h.reply(Dict{{"results", true}});
  ASSERT_TRUE(h.client->delete_entity("Shot", 1));
  EXPECT_EQ(h.clock.sleeps, (std::vector<std::chrono::milliseconds>{3000ms, 3000ms}));
  EXPECT_EQ(h.log->closed_connections, 2);

  Harness g;
  for (int i = 0; i < 3; ++i) g.fail(TransportErrorKind::kTls, "handshake failed");
  auto r = g.client->delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kTlsError);
  EXPECT_EQ(g.log->requests.size(), 3u);
}

TEST(Retries, RetryIntervalComesFromTheEnvironment) {
  setenv("SHOTGUN_API_RETRY_INTERVAL", "250", 1);
  Harness h;
  unsetenv("SHOTGUN_API_RETRY_INTERVAL");
  h.fail(TransportErrorKind::kTls);
  h.reply(Dict{{"results", true}});
  ASSERT_TRUE(h.client->delete_entity("Shot", 1));
  EXPECT_EQ(h.clock.sleeps, (std::vector<std::chrono::milliseconds>{250ms}));

  setenv("SHOTGUN_API_RETRY_INTERVAL", "soon", 1);
  auto bad = Client::create(ConnectionSettings{.base_url = "https://x"});
  unsetenv("SHOTGUN_API_RETRY_INTERVAL");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kInvalidArgument);
}

TEST(Retries, TimeoutsAndResetsAreNeverRetried) {
  // A create or batch that reached the server would be duplicated (shotgun_api3 3.8.5).
  for (auto kind : {TransportErrorKind::kTimeout, TransportErrorKind::kConnection,
                    TransportErrorKind::kTruncated}) {
    Harness h;
    h.fail(kind);
    auto r = h.client->create("Shot", Dict{{"code", "x"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(h.log->requests.size(), 1u);
    EXPECT_TRUE(h.clock.sleeps.empty());
    EXPECT_EQ(h.log->closed_connections, 1);
  }
  Harness h;
  h.fail(TransportErrorKind::kTimeout, "Operation timed out after 1000 milliseconds");
  auto r = h.client->delete_entity("Shot", 1);
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  EXPECT_TRUE(r.error().is_transport());
}

TEST(Requests, HeadersAndUrlAsTheOfficialClientSendsThem) {
  ConnectionSettings s;
  s.base_url = "https://Front:Door@Site.Example.com:8443/sg/";
  s.script_name = "daemon";
  s.script_key = "k";
  s.localized = true;
  s.user_agent_extra = {"pipeline 2.1"};
  Harness h(s);
  h.reply(Dict{{"results", true}});
  ASSERT_TRUE(h.client->delete_entity("Shot", 1));
  const HttpRequest& req = h.log->requests.at(0);
  EXPECT_EQ(req.url, "https://site.example.com:8443/sg/api3/json");
  const auto header = [&](const std::string& name) {
    for (const auto& [k, v] : req.headers) {
      if (k == name) return v;
    }
    return std::string("<absent>");
  };
  EXPECT_EQ(header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(header("connection"), "keep-alive");
  EXPECT_EQ(header("locale"), "auto");
  EXPECT_EQ(header("Authorization"), "Basic RnJvbnQ6RG9vcg==");  // Front:Door, case kept
  EXPECT_EQ(header("user-agent").rfind("shotgun-json (3.10.0); sgeventd ", 0), 0u);
  EXPECT_NE(header("user-agent").find("; ssl "), std::string::npos);
  EXPECT_NE(header("user-agent").find("; pipeline 2.1"), std::string::npos);
  // Python's json.dumps separators and raw UTF-8.
  EXPECT_EQ(req.body,
            R"({"method_name": "delete", "params": [{"script_name": "daemon", "script_key": "k"}, )"
            R"({"type": "Shot", "id": 1}]})");
}

TEST(Settings, CredentialRulesOfTheOfficialConstructor) {
  struct Case {
    ConnectionSettings s;
    const char* message;
  };
  const std::string url = "https://x";
  const Case cases[] = {
      {{.base_url = url, .script_name = "a", .script_key = "b", .session_token = "t"},
       "cannot provide both session_token and script_name/api_key"},
      {{.base_url = url, .login = "u", .password = "p", .session_token = "t"},
       "cannot provide both session_token and login/password"},
      {{.base_url = url, .script_name = "a", .script_key = "b", .login = "u", .password = "p"},
       "cannot provide both login/password and script_name/api_key"},
      {{.base_url = url, .password = "p"}, "password provided without login"},
      {{.base_url = url, .login = "u"}, "login provided without password"},
      {{.base_url = url, .script_key = "b"}, "api_key provided without script_name"},
      {{.base_url = url, .script_name = "a"}, "script_name provided without api_key"},
      {{.base_url = "ftp://x", .script_name = "a", .script_key = "b"},
       "base_url must use http or https got 'ftp://x'"},
  };
  for (const Case& c : cases) {
    auto client = Client::create(c.s, std::make_unique<FakeTransport>());
    ASSERT_FALSE(client) << c.message;
    EXPECT_EQ(client.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_EQ(client.error().message, c.message);
  }
}

TEST(Settings, NoCredentialsAllowsOnlyInfo) {
  auto t = std::make_unique<FakeTransport>();
  t->enqueue(json_reply(kInfo));
  auto client = Client::create(ConnectionSettings{.base_url = "https://x"}, std::move(t));
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->info());
  auto r = client->delete_entity("Shot", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid auth params");
}

TEST(Secrets, NeverInErrorMessages) {
  const std::string secrets[] = {"s3cret-key", "hunter2-password", "tok-very-secret"};
  std::vector<ConnectionSettings> settings(3);
  settings[0].script_name = "daemon";
  settings[0].script_key = secrets[0];
  settings[1].login = "jdoe";
  settings[1].password = secrets[1];
  settings[2].session_token = secrets[2];
  for (auto& s : settings) {
    Harness h(s);
    // Every kind of failure the client can report.
    h.reply(kInfo);
    h.reply(Dict{{"exception", true}, {"error_code", 102}, {"message", "Can't authenticate"}});
    h.status(500, "Internal Server Error", "oops");
    h.fail(TransportErrorKind::kTimeout, "timed out");
    h.fail(TransportErrorKind::kConnection, "reset");
    h.transport->enqueue(raw_reply("{not json", "application/json"));
    h.reply(Dict{{"results", "not a dict"}});
    std::vector<Error> errors;
    for (int i = 0; i < 6; ++i) {
      auto r = h.client->find("Shot", List{});
      if (!r) errors.push_back(r.error());
    }
    ASSERT_EQ(errors.size(), 6u);
    for (const Error& e : errors) {
      for (const std::string& secret : secrets) {
        EXPECT_EQ(e.describe().find(secret), std::string::npos) << e.describe();
      }
    }
  }
}

TEST(Capabilities, InfoIsFetchedOnceAndOnlyWhenNeeded) {
  Harness h;
  h.reply(Dict{{"results", true}});
  ASSERT_TRUE(h.client->delete_entity("Shot", 1));  // script auth: no capabilities needed
  EXPECT_EQ(h.log->requests.size(), 1u);
  h.reply(kInfo);
  h.reply(Dict{
      {"results", Dict{{"entities", List{}}, {"paging_info", Dict{{"has_next_page", false}}}}}});
  h.reply(Dict{
      {"results", Dict{{"entities", List{}}, {"paging_info", Dict{{"has_next_page", false}}}}}});
  ASSERT_TRUE(h.client->find("Shot", List{}));
  ASSERT_TRUE(h.client->find("Shot", List{}));
  const auto bodies = testing::request_bodies(*h.log);
  ASSERT_EQ(bodies.size(), 4u);
  EXPECT_EQ(bodies[1]["method_name"], Value("info"));
  EXPECT_EQ(bodies[3]["method_name"], Value("read"));
}

TEST(Capabilities, OldServersAreRefusedClearly) {
  Harness h;
  h.reply(Dict{{"version", List{2, 3, 9}}});
  auto r = h.client->find("Shot", List{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kShotgunError);
  EXPECT_EQ(r.error().message, "JSON API requires server version 2.4.0 or higher, server is 2.3.9");

  Harness g;
  g.reply(Dict{{"nothing", 1}});
  r = g.client->find("Shot", List{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("didn't respond with a version number"), std::string::npos);

  Harness f;
  f.reply(Dict{{"version", List{5, 3, 10}}});
  FindOptions o;
  o.include_archived_projects = false;
  r = f.client->find("Shot", List{}, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "include_archived_projects parameter requires server version 5.3.14 or higher, "
            "server is 5.3.10");
}

TEST(Paging, AServerThatPromisesPagesForeverIsCaught) {
  Harness h;
  h.transport->set_handler([](const Value& body) {
    if (body["method_name"] == Value("info")) return testing::Reply(json_reply(kInfo));
    return testing::Reply(json_reply(Dict{
        {"results", Dict{{"entities", List{}}, {"paging_info", Dict{{"has_next_page", true}}}}}}));
  });
  auto r = h.client->find("Shot", List{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kResponseError);
}

TEST(Arguments, InvalidFindArguments) {
  Harness h;
  FindOptions o;
  o.limit = -1;
  EXPECT_EQ(h.client->find("Shot", List{}, o).error().kind, ErrorKind::kInvalidArgument);
  o.limit = 0;
  o.page = -2;
  EXPECT_EQ(h.client->find("Shot", List{}, o).error().kind, ErrorKind::kInvalidArgument);
  o.page = 0;
  o.filter_operator = "any";
  EXPECT_EQ(h.client->find("Shot", Dict{{"logical_operator", "and"}}, o).error().kind,
            ErrorKind::kShotgunError);
  o.filter_operator = "sometimes";
  auto r = h.client->find("Shot", List{}, o);
  EXPECT_EQ(r.error().message, "Invalid filter_operator sometimes");
  EXPECT_EQ(h.client->find("Shot", Value("code is x")).error().kind, ErrorKind::kInvalidArgument);
  EXPECT_TRUE(h.log->requests.empty());
}

TEST(Session, TwoFactorTokenBecomesASessionToken) {
  ConnectionSettings s;
  s.login = "jdoe";
  s.password = "pw";
  s.auth_token = "123456";
  Harness h(s);
  h.reply(kInfo);
  h.reply(Dict{{"results", Dict{{"session_id", "sess-1"}}}});
  h.reply(Dict{{"results", true}});
  ASSERT_TRUE(h.client->connect());
  ASSERT_TRUE(h.client->delete_entity("Shot", 1));
  const auto bodies = testing::request_bodies(*h.log);
  EXPECT_EQ(bodies[2]["params"].as_list()[0],
            Value(Dict{{"session_token", "sess-1"}, {"reject_if_expired", true}}));
}

}  // namespace
}  // namespace sgeventd::sg
