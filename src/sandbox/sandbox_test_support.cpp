#include "sandbox/sandbox_test_support.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "sgeventd/json.h"

namespace sgeventd::sandbox::testing {

SandboxOptions TestSite::default_options() {
  SandboxOptions o;
  o.port = 0;
  o.test_controls = true;
  o.scripts = {{"daemon", "key-123"}, {"tool", "tool-key"}};
  o.users = {{"ada", "pw", "Ada Lovelace"}};
  return o;
}

TestSite::TestSite(SandboxOptions options) : options_(std::move(options)) {
  auto ok = sandbox_.start(options_);
  if (!ok) ADD_FAILURE() << "sandbox did not start: " << ok.error();
}

TestSite::~TestSite() { sandbox_.stop(); }

sg::Client TestSite::client(sg::ConnectionSettings settings) const {
  settings.base_url = sandbox_.url();
  if (settings.script_name.empty() && settings.login.empty() && settings.session_token.empty()) {
    settings.script_name = options_.scripts.at(0).name;
    settings.script_key = options_.scripts.at(0).key;
  }
  if (settings.request_timeout.count() == 0) settings.request_timeout = std::chrono::seconds(30);
  auto c = sg::Client::create(std::move(settings));
  if (!c) throw std::runtime_error("client: " + c.error().describe());
  return std::move(*c);
}

RawReply TestSite::post(const std::string& path, const std::string& body,
                        const std::string& content_type) const {
  httplib::Client http("127.0.0.1", sandbox_.port());
  http.set_read_timeout(30, 0);
  auto res = http.Post(path.c_str(), body, content_type.c_str());
  RawReply reply;
  if (!res) return reply;
  reply.status = res->status;
  reply.body = res->body;
  reply.content_type = res->get_header_value("Content-Type");
  reply.retry_after = res->get_header_value("Retry-After");
  return reply;
}

Value TestSite::control(const std::string& action, const Value& body) const {
  RawReply r = post("/_sandbox/" + action, to_json(body));
  EXPECT_EQ(r.status, 200) << action << ": " << r.body;
  auto v = parse_json(r.body);
  return v ? *v : Value();
}

Value ref(const std::string& type, std::int64_t id) {
  return Dict{{"type", type}, {"id", Value(static_cast<long long>(id))}};
}

}  // namespace sgeventd::sandbox::testing
