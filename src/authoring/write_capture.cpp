#include "authoring/write_capture.h"

#include <httplib.h>

#include <array>
#include <atomic>
#include <thread>

#include "sg/curl_transport.h"
#include "sg/endpoint.h"
#include "sgeventd/json.h"

namespace sgeventd::authoring {
// Named, not anonymous: WriteCapture::Impl holds an Answers, and a unity build (the sanitizer
// builds) sees this file as a header, where a member of an anonymous type is an error.
namespace capture {

constexpr std::array<const char*, 11> kReadMethods{"info",
                                                   "read",
                                                   "schema_read",
                                                   "schema_entity_read",
                                                   "schema_field_read",
                                                   "summarize",
                                                   "text_search",
                                                   "get_session_token",
                                                   "entity_types",
                                                   "activity_stream_read",
                                                   "note_thread_contents"};

// What a site would answer a write with, made up: created entities get negative ids, so
// nothing in the report can be mistaken for a real one.
class Answers {
 public:
  Value answer(const std::string& method, const Value& params) {
    if (method == "create") return created(params["type"], params["fields"]);
    if (method == "update") return updated(params["type"], params["id"], params["fields"]);
    if (method == "delete" || method == "revive") return Value(true);
    if (method == "batch") {
      List out;
      if (const List* requests = params.if_list()) {
        for (const Value& r : *requests) {
          const std::string* kind = r["request_type"].if_string();
          if (kind && *kind == "create") {
            out.push_back(created(r["type"], r["fields"]));
          } else if (kind && *kind == "update") {
            out.push_back(updated(r["type"], r["id"], r["fields"]));
          } else {
            out.emplace_back(true);
          }
        }
      }
      return out;
    }
    return Value();
  }

 private:
  static void add_fields(Dict& out, const Value& fields) {
    if (const List* list = fields.if_list()) {
      for (const Value& f : *list) {
        if (const std::string* name = f["field_name"].if_string()) out.set(*name, f["value"]);
      }
    }
  }
  Value created(const Value& type, const Value& fields) {
    Dict out{{"type", type}, {"id", static_cast<long long>(--next_id_)}};
    add_fields(out, fields);
    return out;
  }
  static Value updated(const Value& type, const Value& id, const Value& fields) {
    Dict out{{"type", type}, {"id", id}};
    add_fields(out, fields);
    return out;
  }
  std::int64_t next_id_ = 0;
};

}  // namespace capture

// params[i] of an api3 body (Value has no integer index).
const Value& param(const Value& doc, std::size_t i) {
  static const Value kNull;
  const List* params = doc["params"].if_list();
  return params && i < params->size() ? (*params)[i] : kNull;
}

bool is_read_method(const std::string& method) {
  for (const char* m : capture::kReadMethods) {
    if (method == m) return true;
  }
  return false;
}

struct WriteCapture::Impl {
  CaptureOptions options;
  std::unique_ptr<sg::CurlTransport> upstream;
  std::mutex upstream_mutex;  // one kept-alive connection, one request at a time
  httplib::Server server;
  std::thread listener;
  int port = 0;

  std::mutex mutex;
  std::vector<CapturedWrite> writes;
  std::uint64_t next_seq = 1;
  capture::Answers answers;
  std::atomic<std::uint64_t> forwarded{0};

  ::sgeventd::Expected<sg::HttpResponse, std::string> forward(const std::string& path,
                                                              const std::string& body,
                                                              const std::string& user_agent) {
    std::lock_guard lock(upstream_mutex);
    sg::HttpRequest request;
    std::string base = options.upstream.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    request.url = base + path;
    request.headers = {{"Content-Type", "application/json; charset=utf-8"},
                       {"User-Agent", user_agent.empty() ? "sgeventd-try" : user_agent}};
    request.body = body;
    auto answer = upstream->post(request);
    if (!answer) return tl::unexpected(answer.error().message);
    ++forwarded;
    return std::move(*answer);
  }

  // The fields an update changes, as the site has them now (null when it cannot tell); read
  // at the update's own path (a site may sit under a prefix).
  Value read_before(const std::string& path, const Value& auth, const Value& params,
                    const std::string& user_agent) {
    List fields;
    if (const List* list = params["fields"].if_list()) {
      for (const Value& f : *list) {
        if (f["field_name"].is_string()) fields.push_back(f["field_name"]);
      }
    }
    if (fields.empty() || !params["id"].is_int()) return Value();
    Dict read_params{
        {"type", params["type"]},
        {"return_fields", std::move(fields)},
        {"filters",
         Dict{{"logical_operator", "and"},
              {"conditions",
               List{Dict{{"path", "id"}, {"relation", "is"}, {"values", List{params["id"]}}}}}}},
        {"return_only", "active"},
        {"paging", Dict{{"entities_per_page", 1}, {"current_page", 1}}}};
    const Value body =
        Dict{{"method_name", "read"}, {"params", List{auth, std::move(read_params)}}};
    auto answer = forward(path, to_json(body), user_agent);
    if (!answer || answer->status != 200) return Value();
    auto doc = parse_json(answer->body);
    if (!doc) return Value();
    const List* found = (*doc)["results"]["entities"].if_list();
    if (!found || found->empty() || !found->front().is_dict()) return Value();
    const Value& entity = found->front();
    Dict out;
    for (const auto& [name, value] : entity.as_dict()) {
      if (name != "type" && name != "id") out.set(name, value);
    }
    return out;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    const std::string user_agent = req.get_header_value("User-Agent");
    const bool api3 = req.path.size() >= 10 && req.path.ends_with("/api3/json");
    std::string method;
    Value doc;
    if (api3) {
      auto parsed = parse_json(req.body);
      if (parsed && parsed->is_dict()) {
        doc = std::move(*parsed);
        if (const std::string* m = doc["method_name"].if_string()) method = *m;
      }
    }
    if (api3 && is_read_method(method)) {
      return relay(req.path, req.body, user_agent, res);
    }
    CapturedWrite w;
    w.method = api3 ? (method.empty() ? "(no method)" : method) : "POST " + req.path;
    w.params = api3 ? param(doc, 1) : Value();
    if (api3 && method == "update")
      w.before = read_before(req.path, param(doc, 0), w.params, user_agent);
    w.sent = options.allow_writes;
    if (options.allow_writes) {
      auto answer = forward(req.path, req.body, user_agent);
      if (!answer) {
        res.status = 502;
        res.set_content("sgeventd try: the site did not answer: " + answer.error(), "text/plain");
        return;
      }
      if (auto parsed = parse_json(answer->body)) w.answer = (*parsed)["results"];
      res.status = answer->status;
      res.set_content(answer->body, "application/json");
    } else {
      std::lock_guard lock(mutex);
      w.answer = answers.answer(method, w.params);
      res.status = 200;
      res.set_content(api3 ? to_json(Dict{{"results", w.answer}}) : std::string(),
                      api3 ? "application/json" : "text/plain");
    }
    std::lock_guard lock(mutex);
    w.seq = next_seq++;
    writes.push_back(std::move(w));
  }

  void relay(const std::string& path, const std::string& body, const std::string& user_agent,
             httplib::Response& res) {
    auto answer = forward(path, body, user_agent);
    if (!answer) {
      // As a site that cannot be reached: the plugin's client retries and then raises.
      res.status = 502;
      res.set_content("sgeventd try: the site did not answer: " + answer.error(), "text/plain");
      return;
    }
    res.status = answer->status;
    const auto type = answer->header("content-type");
    res.set_content(answer->body,
                    type.empty() ? std::string("application/json") : std::string(type));
  }
};

WriteCapture::WriteCapture() : impl_(std::make_unique<Impl>()) {}

WriteCapture::~WriteCapture() {
  impl_->server.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

::sgeventd::Expected<std::unique_ptr<WriteCapture>, std::string> WriteCapture::start(
    CaptureOptions options) {
  std::unique_ptr<WriteCapture> c(new WriteCapture());
  Impl& impl = *c->impl_;
  sg::CurlTransportOptions transport;
  auto proxy = sg::parse_proxy(options.upstream.http_proxy);
  if (!proxy) return tl::unexpected("proxy: " + proxy.error().describe());
  transport.proxy = *proxy;
  transport.connect_timeout = options.upstream.connect_timeout;
  transport.request_timeout = options.upstream.request_timeout;
  transport.ca_file = options.upstream.ca_file;
  transport.verify_tls = options.upstream.verify_tls;
  impl.upstream = std::make_unique<sg::CurlTransport>(transport);
  impl.options = std::move(options);
  impl.server.set_tcp_nodelay(true);
  impl.server.Post(".*", [&impl](const httplib::Request& req, httplib::Response& res) {
    impl.handle(req, res);
  });
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) return tl::unexpected(std::string("cannot listen on 127.0.0.1"));
  impl.listener = std::thread([&impl] { impl.server.listen_after_bind(); });
  return c;
}

std::string WriteCapture::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

void WriteCapture::set_upstream(const std::string& base_url) {
  std::lock_guard lock(impl_->upstream_mutex);
  impl_->options.upstream.base_url = base_url;
}

std::vector<CapturedWrite> WriteCapture::take() {
  std::lock_guard lock(impl_->mutex);
  return std::exchange(impl_->writes, {});
}

std::uint64_t WriteCapture::forwarded() const { return impl_->forwarded.load(); }

}  // namespace sgeventd::authoring
