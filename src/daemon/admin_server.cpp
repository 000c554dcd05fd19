#include "daemon/admin_server.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include <httplib.h>

#include "daemon/metrics.h"
#include "sandbox/connection_threads.h"
#include "sgeventd/json.h"

#ifndef SGEVENTD_VERSION
#define SGEVENTD_VERSION "0.0.0"
#endif

namespace sgeventd::daemon {
namespace {

constexpr std::size_t kThreads = 64;
constexpr std::size_t kMaxBody = 64 * 1024;
constexpr int kReadTimeoutS = 5;
constexpr const char* kJson = "application/json";

void reply(httplib::Response& res, int code, const Value& body,
           const log::Redactor* redactor = nullptr) {
  res.status = code;
  const std::string text = to_json(body, {.style = JsonStyle::Pretty}) + "\n";
  res.set_content(redactor ? redactor->redact(text) : text, kJson);
}

void refuse(httplib::Response& res, int code, const std::string& why) {
  reply(res, code, Value(Dict{{"error", why}}));
}

// Constant time in the length of the expected text: a wrong token says nothing of how much of
// it was right.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char g = i < given.size() ? given[i] : '\0';
    diff |= static_cast<unsigned char>(g ^ expected[i]);
  }
  return diff == 0;
}

}  // namespace

void StatusBoard::publish(Value status) {
  std::lock_guard lock(mutex_);
  latest_ = std::move(status);
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

  bool authorized(const httplib::Request& req, httplib::Response& res) const {
    if (settings.token.empty()) return true;
    const std::string header = req.get_header_value("Authorization");
    static constexpr std::string_view kBearer = "Bearer ";
    if (header.rfind(kBearer, 0) == 0 &&
        same_secret(header.substr(kBearer.size()), settings.token)) {
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
    res.set_content(redactor->redact(metrics_text(board->latest(), SGEVENTD_VERSION)),
                    "text/plain; version=0.0.4; charset=utf-8");
  }

  void status(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res)) return;
    Value snapshot = board->latest();
    Dict health = health_of(snapshot);
    Dict out = snapshot.is_dict() ? std::move(snapshot.as_dict()) : Dict{};
    out["version"] = SGEVENTD_VERSION;
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
  server.set_payload_max_length(kMaxBody);
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
