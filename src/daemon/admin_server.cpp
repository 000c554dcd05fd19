#include "daemon/admin_server.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <shared_mutex>
#include <thread>

#include <httplib.h>

#include "base/webhook_signature.h"
#include "daemon/metrics.h"
#include "daemon/webhook.h"
#include "sandbox/connection_threads.h"
#include "sgeventd/json.h"
#include "sgeventd/version.h"

namespace sgeventd::daemon {
namespace {

constexpr std::size_t kThreads = 64;
constexpr std::size_t kMaxBody = 64 * 1024;
// A batch holds up to 50 deliveries, each up to about 1 MB (the site trims bigger ones): the
// transport's limit. Only the webhook may send that much (screen() holds the others to
// kMaxBody before their body is read), and only its first kWebhookKept bytes are kept, to
// find the ids; the signature covers the whole stream.
constexpr std::size_t kMaxWebhookBody = std::size_t{64} << 20;
constexpr std::size_t kWebhookKept = std::size_t{1} << 20;
constexpr const char* kWebhookPath = "/webhook";
constexpr int kReadTimeoutS = 5;
constexpr const char* kJson = "application/json";
constexpr auto kControlWait = std::chrono::seconds(10);
constexpr std::int64_t kMaxReplay = 10'000;  // events per replay request

void reply(httplib::Response& res, int code, const Value& body,
           const log::Redactor* redactor = nullptr) {
  res.status = code;
  const std::string text = to_json(body, {.style = JsonStyle::Pretty}) + "\n";
  res.set_content(redactor ? redactor->redact(text) : text, kJson);
}

void refuse(httplib::Response& res, int code, const std::string& why, Value more = {}) {
  Dict body{{"error", why}};
  if (Dict* extra = more.if_dict()) {
    for (auto& [k, v] : *extra) body[k] = std::move(v);
  }
  reply(res, code, Value(std::move(body)));
}

int http_code(dispatch::ControlAnswer::Code code) {
  using Code = dispatch::ControlAnswer::Code;
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kAccepted:
      return 202;
    case Code::kBadRequest:
      return 400;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kUnavailable:
      return 503;
  }
  return 500;
}

// A request's JSON body: an object, or {} when there is none.
Expected<Dict, std::string> body_of(const httplib::Request& req) {
  if (req.body.empty()) return Dict{};
  auto v = parse_json(req.body);
  if (!v) return tl::unexpected("the body is not JSON: " + v.error().message);
  if (!v->is_dict()) return tl::unexpected(std::string("the body must be a JSON object"));
  return std::move(v->as_dict());
}

Expected<std::string, std::string> string_field(const Dict& d, const std::string& key,
                                                bool required) {
  const Value* v = d.find(key);
  if (!v || v->is_null()) {
    if (required) return tl::unexpected("\"" + key + "\" is required");
    return std::string();
  }
  if (const std::string* s = v->if_string()) return *s;
  return tl::unexpected("\"" + key + "\" must be a string");
}

Expected<std::int64_t, std::string> positive(const Value& v, const std::string& what) {
  const auto n = v.if_int();
  if (!n || v.is_bool() || *n <= 0) return tl::unexpected(what + " must be a positive integer");
  return *n;
}

// {"ids": [...]} or {"from": A, "to": B}.
Expected<ReplaySelection, std::string> selection_of(const Dict& d) {
  ReplaySelection s;
  const bool by_ids = d.contains("ids");
  const bool by_range = d.contains("from") || d.contains("to");
  if (by_ids == by_range) {
    return tl::unexpected(std::string("give either \"ids\" or \"from\" and \"to\""));
  }
  if (by_ids) {
    const List* ids = d.find("ids")->if_list();
    if (!ids || ids->empty())
      return tl::unexpected(std::string("\"ids\" must be a non-empty list"));
    if (static_cast<std::int64_t>(ids->size()) > kMaxReplay) {
      return tl::unexpected("at most " + std::to_string(kMaxReplay) + " events per replay");
    }
    for (const Value& v : *ids) {
      auto id = positive(v, "every id");
      if (!id) return tl::unexpected(id.error());
      s.ids.push_back(*id);
    }
    std::sort(s.ids.begin(), s.ids.end());
    s.ids.erase(std::unique(s.ids.begin(), s.ids.end()), s.ids.end());
    return s;
  }
  if (!d.contains("from") || !d.contains("to")) {
    return tl::unexpected(std::string("a range needs both \"from\" and \"to\""));
  }
  auto from = positive(*d.find("from"), "\"from\"");
  if (!from) return tl::unexpected(from.error());
  auto to = positive(*d.find("to"), "\"to\"");
  if (!to) return tl::unexpected(to.error());
  if (*to < *from) return tl::unexpected(std::string("\"to\" is before \"from\""));
  if (*to - *from >= kMaxReplay) {
    return tl::unexpected("at most " + std::to_string(kMaxReplay) + " events per replay");
  }
  s.from = *from;
  s.to = *to;
  return s;
}

// A Content-Length header's number. Anything but digits reads as too large: httplib parses
// it with strtoull, which takes "+1000000" or "10 junk", so a lenient reading here would let
// such a body past the limit.
std::size_t declared_length(const std::string& header) {
  constexpr std::size_t kTooLarge = std::numeric_limits<std::size_t>::max();
  if (header.size() > 12) return kTooLarge;
  std::size_t n = 0;
  for (char c : header) {
    if (c < '0' || c > '9') return kTooLarge;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

// The host part of a Host header ("127.0.0.1:8080", "[::1]:8080", "localhost").
std::string host_of(const std::string& header) {
  if (!header.empty() && header.front() == '[') return header.substr(1, header.find(']') - 1);
  return header.substr(0, header.find(':'));
}

bool loopback_name(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// A dead letter's id in the path (the regex's first group).
Expected<std::int64_t, std::string> letter_id(const httplib::Request& req) {
  const std::string text = req.matches.size() > 1 ? std::string(req.matches[1]) : std::string();
  std::int64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || id > 1'000'000'000'000'000) {
      return tl::unexpected("not a dead letter id: " + text);
    }
    id = id * 10 + (c - '0');
  }
  if (id <= 0) return tl::unexpected("not a dead letter id: " + text);
  return id;
}

}  // namespace

namespace {
double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
}  // namespace

void StatusBoard::publish(Value status, std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now - last_sample_ >= kSampleEvery) {
    last_sample_ = now;
    Dict plugins;
    if (const List* list = status["plugins"].if_list()) {
      for (const Value& p : *list) {
        if (const std::string* name = p["name"].if_string()) {
          plugins[*name] = Dict{{"handled", p["handled"].if_int().value_or(0)},
                                {"lag", p["lag"].if_int().value_or(0)}};
        }
      }
    }
    samples_.push_back(Dict{{"t", unix_seconds(now)}, {"plugins", std::move(plugins)}});
    while (samples_.size() > kSamples) samples_.pop_front();
  }
  latest_ = std::move(status);
}

Value StatusBoard::history(std::chrono::system_clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return Dict{{"now", unix_seconds(now)},
              {"interval_s", static_cast<long long>(kSampleEvery.count())},
              {"samples", List(samples_.begin(), samples_.end())}};
}

Value StatusBoard::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

struct AdminServer::Impl {
  AdminSettings settings;
  const StatusBoard* board = nullptr;
  const log::Redactor* redactor = nullptr;
  httplib::Server server;
  std::thread listener;
  int port = -1;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Held shared by each control request for its whole run, exclusively to change it.
  mutable std::shared_mutex controller_mutex;
  std::shared_ptr<const AdminController> controller;
  std::string not_dispatching;  // set_not_dispatching_reason (under controller_mutex)
  // Its own lock: clearing it at shutdown must not wait for a replay holding controller_mutex.
  mutable std::shared_mutex webhook_mutex;
  std::function<void(std::int64_t)> webhook_receiver;
  // Webhook requests so far: accepted (signed, woke the poller), rejected (no or wrong
  // signature: 401), unreadable (signed, not the site's format; still a wake-up). Served in
  // /status and /metrics (add_webhook_counts).
  std::atomic<std::int64_t> webhooks_accepted{0}, webhooks_rejected{0}, webhooks_unreadable{0};

  // Before any endpoint: what a browser could be made to send. A page on any site can POST
  // to a loopback address, and a DNS-rebinding page can even read the answers; so on a
  // loopback bind the Host must be a loopback name, and a request that changes something
  // must not come from another origin, nor carry a body other than JSON (a cross-site form
  // cannot send that without the browser asking first). True: go on.
  //
  // The webhook is the exception to the Host rule: a reverse proxy may forward the public
  // name, and its answer tells a page nothing. It proves itself with its signature instead.
  bool screen(const httplib::Request& req, httplib::Response& res) const {
    const std::string host = req.get_header_value("Host");
    const bool webhook = req.method == "POST" && req.path == kWebhookPath;
    if (!webhook && loopback_name(settings.bind) && !host.empty() &&
        !loopback_name(host_of(host))) {
      refuse(res, 403, "Host " + host + " is not this daemon's loopback address");
      return false;
    }
    if (req.method == "GET" || req.method == "HEAD") return true;
    const std::string origin = req.get_header_value("Origin");
    const std::string fetch_site = req.get_header_value("Sec-Fetch-Site");
    if ((!origin.empty() && origin != "http://" + host) ||
        (!fetch_site.empty() && fetch_site != "same-origin" && fetch_site != "none")) {
      refuse(res, 403, "a cross-site request is refused");
      return false;
    }
    // The body is not read yet here: its headers say whether there is one.
    const std::string length = req.get_header_value("Content-Length");
    const bool chunked = req.has_header("Transfer-Encoding");
    const bool has_body = (!length.empty() && length != "0") || chunked;
    if (has_body && req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      refuse(res, 415, "the body must be sent as Content-Type: application/json");
      return false;
    }
    if (!webhook && chunked) {
      refuse(res, 411, "send the body with a Content-Length");
      return false;
    }
    if (!webhook && declared_length(length) > kMaxBody) {
      refuse(res, 413, "request body too large");
      return false;
    }
    return true;
  }

  // POST /webhook: the signature over the whole stream, the ids from its first MiB.
  // `content` reads the body, if there is one (httplib routes a request without a body to
  // the plain handler, which has none to read).
  void webhook(const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader* content) {
    if (settings.webhook_secret.empty()) {
      return refuse(res, 404, "webhooks are off: set [admin] webhook_secret (docs/webhooks.md)");
    }
    base::StreamingSignature signature(settings.webhook_secret);
    std::string kept;
    const bool read = !content || (*content)([&](const char* data, std::size_t length) {
      signature.update(std::string_view(data, length));
      if (kept.size() < kWebhookKept)
        kept.append(data, std::min(length, kWebhookKept - kept.size()));
      return true;
    });
    if (!read) {  // too large, or the client stopped sending: httplib's status, if it set one
      return refuse(res, res.status >= 400 ? res.status : 400, "the body could not be read");
    }
    const std::string given = req.get_header_value("X-SG-SIGNATURE");
    if (!signature.matches(given)) {
      ++webhooks_rejected;
      return refuse(res, 401, given.empty() ? "no X-SG-SIGNATURE header" : "wrong X-SG-SIGNATURE");
    }
    const WebhookNews news = read_webhook(kept);
    ++(news.readable ? webhooks_accepted : webhooks_unreadable);
    bool woke = false;
    {
      std::shared_lock lock(webhook_mutex);
      if (webhook_receiver) {
        webhook_receiver(news.newest_id);
        woke = true;
      }
    }
    reply(res, 200,
          Value(Dict{{"woke", woke},
                     {"deliveries", static_cast<long long>(news.deliveries)},
                     {"newest_event_id", static_cast<long long>(news.newest_id)}}));
  }

  // The webhook counts, added to a snapshot for /status and /metrics.
  void add_webhook_counts(Value& snapshot) const {
    if (!snapshot.is_dict()) return;
    snapshot.as_dict()["webhooks"] =
        Dict{{"accepted", static_cast<long long>(webhooks_accepted.load())},
             {"rejected", static_cast<long long>(webhooks_rejected.load())},
             {"unreadable", static_cast<long long>(webhooks_unreadable.load())}};
  }

  // Under controller_mutex.
  std::string not_dispatching_reason() const {
    return not_dispatching.empty() ? "the daemon is not dispatching yet (starting or stopping)"
                                   : not_dispatching;
  }

  // Hands the request to the dispatcher and writes its answer.
  void carry_out(dispatch::ControlRequest request, httplib::Response& res) const {
    std::shared_lock lock(controller_mutex);
    if (!controller) {
      refuse(res, 503, not_dispatching_reason());
      return;
    }
    if (request.kind == dispatch::ControlRequest::Kind::kReplay && request.events.empty()) {
      refuse(res, 400, "nothing to replay");
      return;
    }
    auto answer = controller->submit(std::move(request));
    if (answer.wait_for(kControlWait) != std::future_status::ready) {
      refuse(res, 503,
             "the dispatcher did not answer within 10 s; the request may still be "
             "carried out");
      return;
    }
    dispatch::ControlAnswer a = answer.get();
    if (!a.error.empty()) {
      refuse(res, http_code(a.code), redactor->redact(a.error), std::move(a.body));
      return;
    }
    reply(res, http_code(a.code), a.body, redactor);
  }

  void control(const httplib::Request& req, httplib::Response& res,
               dispatch::ControlRequest::Kind kind) const {
    if (!authorized(req, res)) return;
    auto body = body_of(req);
    if (!body) return refuse(res, 400, body.error());
    dispatch::ControlRequest r;
    r.kind = kind;
    using Kind = dispatch::ControlRequest::Kind;
    const bool named = kind == Kind::kEnable || kind == Kind::kDisable;
    auto plugin = string_field(*body, "plugin", named);
    if (!plugin) return refuse(res, 400, plugin.error());
    r.plugin = *plugin;
    if (kind == Kind::kDisable) {
      auto reason = string_field(*body, "reason", false);
      if (!reason) return refuse(res, 400, reason.error());
      r.reason = reason->substr(0, 1000);
    }
    if (kind == Kind::kReplay) {
      auto selection = selection_of(*body);
      if (!selection) return refuse(res, 400, selection.error());
      std::shared_lock lock(controller_mutex);
      if (!controller) return refuse(res, 503, not_dispatching_reason());
      auto events = controller->fetch(*selection);
      if (!events)
        return refuse(res, 502, "cannot read the events from the site: " + events.error());
      if (events->empty()) return refuse(res, 404, "none of these events is on the site");
      r.events = std::move(*events);
    }
    carry_out(std::move(r), res);
  }

  void dead_letters(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    dispatch::ControlRequest r;
    r.kind = dispatch::ControlRequest::Kind::kDeadLetters;
    r.plugin = req.get_param_value("plugin");
    auto number = [&req](const char* key, long long least) -> Expected<std::int64_t, std::string> {
      const std::string text = req.get_param_value(key);
      std::size_t used = 0;
      long long n = 0;
      try {  // std::stoll's errors stay here: the answer is a 400
        n = std::stoll(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size() || text.empty() || n < least) {
        return tl::unexpected(std::string(key) + " must be an integer, at least " +
                              std::to_string(least));
      }
      return n;
    };
    if (req.has_param("after")) {
      auto v = number("after", 0);
      if (!v) return refuse(res, 400, v.error());
      r.after = *v;
    }
    if (req.has_param("limit")) {
      auto v = number("limit", 1);
      if (!v) return refuse(res, 400, v.error());
      r.limit = static_cast<std::size_t>(*v);
    }
    carry_out(std::move(r), res);
  }

  void dead_letter(const httplib::Request& req, httplib::Response& res,
                   dispatch::ControlRequest::Kind kind) const {
    if (!authorized(req, res)) return;
    auto id = letter_id(req);
    if (!id) return refuse(res, 400, id.error());
    dispatch::ControlRequest r;
    r.kind = kind;
    r.letter = *id;
    carry_out(std::move(r), res);
  }

  // The page has no data of its own (it asks /status and /history, with the token): served
  // to anyone who can reach the address, like a login page.
  void page(const httplib::Request&, httplib::Response& res) const {
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'; img-src 'self'");
    res.set_content(kStatusPageHtml, "text/html; charset=utf-8");
  }

  void history(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    reply(res, 200, board->history(), redactor);
  }

  // Each plugin with its callbacks and their matchEvents, from the snapshot.
  void plugins(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    Value snapshot = board->latest();
    Value list = snapshot.is_dict() ? snapshot["plugins"] : Value(List{});
    reply(res, 200, Value(Dict{{"plugins", list.is_list() ? list : Value(List{})}}), redactor);
  }

  bool authorized(const httplib::Request& req, httplib::Response& res) const {
    if (settings.token.empty()) return true;
    const std::string header = req.get_header_value("Authorization");
    static constexpr std::string_view kBearer = "Bearer ";
    if (header.rfind(kBearer, 0) == 0 &&
        base::same_secret(header.substr(kBearer.size()), settings.token)) {
      return true;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    refuse(res, 401,
           header.empty() ? "this endpoint needs \"Authorization: Bearer <[admin] token>\""
                          : "wrong token");
    return false;
  }

  HealthThresholds thresholds() const {
    return {settings.health_max_lag, settings.health_poll_failures};
  }

  // {"healthy": bool, "problems": [...]}: /healthz's answer, and part of /status's.
  Dict health_of(const Value& snapshot) const {
    List problems;
    for (auto& p : health_problems(snapshot, thresholds())) problems.emplace_back(std::move(p));
    const bool healthy = problems.empty();
    return Dict{{"healthy", healthy}, {"problems", std::move(problems)}};
  }

  void healthz(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    Dict health = health_of(board->latest());
    const int code = health["healthy"].as_bool() ? 200 : 503;
    reply(res, code, Value(std::move(health)), redactor);
  }

  void metrics(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    res.status = 200;
    Value snapshot = board->latest();
    add_webhook_counts(snapshot);
    res.set_content(redactor->redact(metrics_text(snapshot, kVersion)),
                    "text/plain; version=0.0.4; charset=utf-8");
  }

  void status(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    Value snapshot = board->latest();
    add_webhook_counts(snapshot);
    Dict health = health_of(snapshot);
    Dict out = snapshot.is_dict() ? std::move(snapshot.as_dict()) : Dict{};
    out["version"] = kVersion;
    out["pid"] = static_cast<long long>(::getpid());
    out["uptime_s"] = static_cast<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
            .count());
    for (auto& [key, value] : health) out[key] = std::move(value);
    reply(res, 200, Value(std::move(out)), redactor);
  }
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() {
  impl_->server.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

void AdminServer::set_controller(std::shared_ptr<const AdminController> controller) {
  std::unique_lock lock(impl_->controller_mutex);
  impl_->controller = std::move(controller);
}

void AdminServer::set_not_dispatching_reason(std::string reason) {
  std::unique_lock lock(impl_->controller_mutex);
  impl_->not_dispatching = std::move(reason);
}

void AdminServer::set_webhook_receiver(std::function<void(std::int64_t)> receiver) {
  std::unique_lock lock(impl_->webhook_mutex);
  impl_->webhook_receiver = std::move(receiver);
}

std::string AdminServer::url() const {
  const std::string& host = impl_->settings.bind;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port);
}

::sgeventd::Expected<std::unique_ptr<AdminServer>, std::string> AdminServer::start(
    const AdminSettings& settings, const StatusBoard& board, const log::Redactor& redactor) {
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  impl->board = &board;
  impl->redactor = &redactor;
  Impl* self = impl.get();
  auto& server = impl->server;
  // A thread per connection up to kThreads (connections past it wait for one), and a client
  // that stalls for kReadTimeoutS mid-request is dropped: slow clients hold only their own
  // thread, never the daemon.
  server.new_task_queue = [] { return new sandbox::ConnectionThreads(kThreads); };
  server.set_payload_max_length(kMaxWebhookBody);  // the others: kMaxBody, in screen()
  server.set_read_timeout(kReadTimeoutS);
  server.set_write_timeout(kReadTimeoutS);
  server.set_keep_alive_timeout(kReadTimeoutS);
  server.set_tcp_nodelay(true);
  server.Get("/healthz", [self](const httplib::Request& req, httplib::Response& res) {
    self->healthz(req, res);
  });
  server.Get("/status", [self](const httplib::Request& req, httplib::Response& res) {
    self->status(req, res);
  });
  server.Get("/metrics", [self](const httplib::Request& req, httplib::Response& res) {
    self->metrics(req, res);
  });
  server.set_pre_routing_handler([self](const httplib::Request& req, httplib::Response& res) {
    return self->screen(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                  : httplib::Server::HandlerResponse::Handled;
  });
  server.Get("/",
             [self](const httplib::Request& req, httplib::Response& res) { self->page(req, res); });
  server.Get("/history", [self](const httplib::Request& req, httplib::Response& res) {
    self->history(req, res);
  });
  server.Get("/plugins", [self](const httplib::Request& req, httplib::Response& res) {
    self->plugins(req, res);
  });
  using Kind = dispatch::ControlRequest::Kind;
  const std::pair<const char*, Kind> actions[] = {{"/reload", Kind::kReload},
                                                  {"/enable", Kind::kEnable},
                                                  {"/disable", Kind::kDisable},
                                                  {"/replay", Kind::kReplay}};
  for (const auto& [path, kind] : actions) {
    server.Post(path, [self, kind = kind](const httplib::Request& req, httplib::Response& res) {
      self->control(req, res, kind);
    });
  }
  server.Post(kWebhookPath,
              [self](const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& content) { self->webhook(req, res, &content); });
  server.Post(kWebhookPath, [self](const httplib::Request& req, httplib::Response& res) {
    self->webhook(req, res, nullptr);
  });
  server.Get("/dead-letters", [self](const httplib::Request& req, httplib::Response& res) {
    self->dead_letters(req, res);
  });
  server.Get(R"(/dead-letters/([^/]+))",
             [self](const httplib::Request& req, httplib::Response& res) {
               self->dead_letter(req, res, Kind::kDeadLetter);
             });
  server.Post(R"(/dead-letters/([^/]+)/retry)",
              [self](const httplib::Request& req, httplib::Response& res) {
                self->dead_letter(req, res, Kind::kRetry);
              });
  server.Delete(R"(/dead-letters/([^/]+))",
                [self](const httplib::Request& req, httplib::Response& res) {
                  self->dead_letter(req, res, Kind::kDrop);
                });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      refuse(
          res, 404,
          "no such endpoint: " + req.method + " " + req.path + " (docs/admin-api.md lists them)");
    } else if (res.status == 413) {
      refuse(res, 413, "request body too large");
    } else {
      refuse(res, res.status, "bad request");
    }
  });

  impl->port = settings.port == 0
                   ? server.bind_to_any_port(settings.bind)
                   : (server.bind_to_port(settings.bind, settings.port) ? settings.port : -1);
  if (impl->port <= 0) {
    return tl::unexpected("cannot listen on " + settings.bind + ":" +
                          std::to_string(settings.port) + " for the admin API");
  }
  impl->listener = std::thread([self] { self->server.listen_after_bind(); });
  // httplib's stop() does nothing until the accept loop runs: wait for it (bounded).
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

}  // namespace sgeventd::daemon
