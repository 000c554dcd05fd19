#include "fake_transport.h"

#include "sgeventd/json.h"

namespace sgeventd::testing {

sg::HttpResponse json_reply(const Value& body, int status) {
  return raw_reply(to_json(body), "application/json; charset=utf-8", status, "OK");
}

sg::HttpResponse raw_reply(std::string body, std::string content_type, int status,
                           std::string reason) {
  sg::HttpResponse r;
  r.status = status;
  r.reason = std::move(reason);
  if (!content_type.empty()) r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

FakeTransport::FakeTransport() : log_(std::make_shared<Log>()) {}

Reply FakeTransport::post(const sg::HttpRequest& request) {
  log_->requests.push_back(request);
  if (!queue_.empty()) {
    Reply reply = std::move(queue_.front());
    queue_.pop_front();
    return reply;
  }
  if (handler_) {
    auto body = parse_json(request.body);
    return handler_(body ? *body : Value());
  }
  return raw_reply("no scripted answer", "text/plain", 500, "Internal Server Error");
}

std::vector<Value> request_bodies(const FakeTransport::Log& log) {
  std::vector<Value> out;
  for (const auto& r : log.requests) {
    auto v = parse_json(r.body);
    out.push_back(v ? *v : Value("<not json>"));
  }
  return out;
}

}  // namespace sgeventd::testing
