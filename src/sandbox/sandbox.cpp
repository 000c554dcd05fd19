// The HTTP face of the sandbox (cpp-httplib): POST /api3/json (and /<prefix>/api3/json) to
// the Api, the test controls under /_sandbox/, and fault injection in between.
#include "sgeventd/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "sandbox/api.h"
#include "sandbox/connection_threads.h"
#include "sandbox/controls.h"
#include "sandbox/persistence.h"
#include "sandbox/schema_import.h"
#include "sandbox/store.h"
#include "sandbox/webhook_sender.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

constexpr const char* kJsonType = "application/json; charset=utf-8";

bool is_loopback(const std::string& addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}

int port_of(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port);
  return -1;
}

// Calls visit(fd, local_port, peer_port) for each connected socket of this process until it
// returns true. cpp-httplib does not expose its sockets, so they are found in /proc/self/fd.
template <typename Visit>
void for_each_connected_socket(Visit visit) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (visit(fd, port_of(local), port_of(peer))) break;
  }
  closedir(dir);
}

// The socket of the connection a request came on: the one whose local and peer ports match
// (fault injection only).
int find_connection_fd(const httplib::Request& req) {
  int found = -1;
  for_each_connected_socket([&](int fd, int local_port, int peer_port) {
    if (local_port != req.local_port || peer_port != req.remote_port) return false;
    found = fd;
    return true;
  });
  return found;
}

// Wakes the threads cpp-httplib keeps in idle keep-alive waits (they do not watch for a stop
// and would hold it up to the keep-alive timeout): shut down every accepted connection.
void shutdown_connections(int server_port) {
  for_each_connected_socket([&](int fd, int local_port, int) {
    if (local_port == server_port) ::shutdown(fd, SHUT_RDWR);
    return false;
  });
}

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fault("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

::sgeventd::Expected<Recording, std::string> parse_recording(std::string_view text) {
  Recording out;
  std::size_t start = 0;
  for (int line = 1; start < text.size(); ++line) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view row = text.substr(start, end - start);
    start = end + 1;
    if (row.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto item = parse_json(row, {.datetimes = true});
    if (!item || !item->is_dict()) {
      return tl::unexpected("line " + std::to_string(line) + ": not a JSON object" +
                            (item ? "" : " (" + item.error().message + ")"));
    }
    const std::string* type = (*item)["type"].if_string();
    (!type || *type == "EventLogEntry" ? out.events : out.entities).push_back(std::move(*item));
  }
  return out;
}

::sgeventd::Expected<std::vector<ScriptCredential>, std::string> parse_scripts(
    const std::string& text) {
  std::vector<ScriptCredential> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto colon = item.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
      return tl::unexpected("expected name:key, got '" + item + "'");
    }
    out.push_back({item.substr(0, colon), item.substr(colon + 1)});
  }
  if (out.empty()) return tl::unexpected(std::string("no scripts given"));
  return out;
}

struct Sandbox::Impl {
  SandboxOptions options;
  // Declared before the store, whose commit listener points at it, so it outlives it. Kept
  // after stop() for its stats.
  std::unique_ptr<WebhookSender> webhooks;
  std::unique_ptr<Store> store;
  std::unique_ptr<Api> api;
  std::unique_ptr<SqliteFile> file;
  FaultInjector faults;
  std::vector<std::string> schema_warnings;
  std::vector<std::string> seed_notes;  // what a recording's seed left out
  httplib::Server server;
  std::thread listener;
  int port = 0;
  std::atomic<bool> running{false};

  // Interrupts hangs and slow replies at stop.
  std::mutex wait_mutex;
  std::condition_variable wait_cv;
  bool stopping = false;

  // Steady-rate generator (test control "generate" with "rate").
  std::thread generator;
  std::atomic<bool> generator_stop{false};

  ~Impl() { stop(); }

  ::sgeventd::Expected<void, std::string> start(const SandboxOptions& opts);
  void stop();
  std::string url() const;
  ::sgeventd::Expected<void, std::string> load_state();
  Expected<void> apply_seed();
  void wait_for(std::chrono::milliseconds d);
  void handle_api(const httplib::Request& req, httplib::Response& res);
  void apply_fault(const FaultPlan& plan, const httplib::Request& req, httplib::Response& res,
                   std::string body);
  void handle_control(const std::string& action, const httplib::Request& req,
                      httplib::Response& res);
  Expected<Value> control(const std::string& action, const Dict& params);
  void stop_generator();
};

::sgeventd::Expected<void, std::string> Sandbox::Impl::load_state() {
  if (options.schema_file.empty()) {
    store = std::make_unique<Store>(Schema::starter());
  } else {
    // Read again at a reset: a schema cannot be copied, and the file is small.
    auto imported = load_schema(options.schema_file, options.schema_entity_file);
    if (!imported) return tl::unexpected("schema: " + imported.error());
    schema_warnings = std::move(imported->warnings);
    store = std::make_unique<Store>(std::move(imported->schema));
  }
  if (WebhookSender* w = webhooks.get()) {
    store->set_commit_listener([w](const StringPool& pool, const std::vector<EventRecord>& events) {
      w->enqueue(pool, events);
    });
  }
  ApiConfig config;
  config.scripts = options.scripts;
  config.users = options.users;
  config.max_page_size = options.api_max_entities_per_page;
  if (!options.data_file.empty()) {
    if (!file) {
      auto opened = SqliteFile::open(options.data_file);
      if (!opened) return tl::unexpected(opened.error().message);
      file = std::move(*opened);
    }
    if (auto ok = file->load(*store); !ok) return tl::unexpected(ok.error().message);
    SqliteFile* f = file.get();
    store->set_persist_hook([f](const Store& s, const ChangeSet& c) { return f->save(s, c); });
    config.save_field = [f](const FieldDef& d) { return f->save_field(d); };
  }
  api = std::make_unique<Api>(*store, std::move(config));
  if (auto ok = api->bootstrap(); !ok) return tl::unexpected(ok.error().message);
  // A seed fills a site that has never had an event (a fresh one, or a reset).
  if (!options.seed_file.empty() && store->events().next_id() == 1) {
    if (auto ok = apply_seed(); !ok) return tl::unexpected(ok.error().message);
  }
  return {};
}

// A seed document ({"fields", "entities"}), or a recording (`sgeventd record --with-entities`
// JSON lines: its entity lines are created under their own ids, its events ignored).
Expected<void> Sandbox::Impl::apply_seed() {
  auto text = read_file(options.seed_file);
  if (!text) return tl::unexpected(text.error());
  const std::string where = "seed file " + options.seed_file + ": ";
  auto doc = parse_json(*text, {.datetimes = true});
  // A one-line recording parses whole too: an entity has a "type", a seed document has none.
  if (doc && !(*doc)["type"].is_string()) {
    if (auto ok = api->seed(*doc); !ok) return fault(where + ok.error().message);
    return {};
  }
  auto recording = parse_recording(*text);
  if (!recording) {
    // Not a recording from its first line on: the document's error is the useful one.
    const bool from_the_start = recording.error().rfind("line 1:", 0) == 0;
    return fault(where + (from_the_start && !doc ? doc.error().message : recording.error()));
  }
  auto notes = api->seed_snapshot(recording->entities);
  if (!notes) return fault(where + notes.error().message);
  seed_notes = std::move(*notes);
  return {};
}

::sgeventd::Expected<void, std::string> Sandbox::Impl::start(const SandboxOptions& opts) {
  options = opts;
  if (options.scripts.empty()) return tl::unexpected(std::string("no scripts configured"));
  if (options.api_max_entities_per_page < 1) {
    return tl::unexpected(std::string("api_max_entities_per_page must be at least 1"));
  }
  // A client that goes away mid-reply must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  if (!options.webhook_url.empty()) {
    // Before the state loads, so a seed's events are delivered too (once the thread starts).
    auto sender = WebhookSender::create({.url = options.webhook_url,
                                         .secret = options.webhook_secret,
                                         .batched = options.webhook_batched});
    if (!sender) return tl::unexpected(sender.error());
    webhooks = std::move(*sender);
  }
  if (auto ok = load_state(); !ok) return ok;

  const int threads = std::max(4, options.threads);
  server.new_task_queue = [threads] {
    return new ConnectionThreads(static_cast<std::size_t>(threads));
  };
  server.set_payload_max_length(options.max_body_bytes);
  // Headers and body go out in two writes: without TCP_NODELAY, Nagle and delayed ACKs add
  // 40 ms to every reply.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1000);
  server.set_keep_alive_timeout(5);
  // Per read: a client that sends nothing for 10 s is dropped (it holds only its own thread
  // meanwhile, ConnectionThreads).
  server.set_read_timeout(10);
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && res.status == 413) {
      res.set_content("request body too large", "text/plain");
    }
  });
  server.Post(R"((/.*)?/api3/json)", [this](const httplib::Request& req, httplib::Response& res) {
    handle_api(req, res);
  });
  if (options.test_controls) {
    auto control_route = [this](const httplib::Request& req, httplib::Response& res) {
      handle_control(req.matches[1], req, res);
    };
    server.Post(R"(/_sandbox/([a-z_]+))", control_route);
    server.Get(R"(/_sandbox/([a-z_]+))", control_route);
  }
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("sgeventd sandbox: POST /api3/json\n", "text/plain");
  });

  if (options.port == 0) {
    port = server.bind_to_any_port(options.bind);
  } else {
    port = server.bind_to_port(options.bind, options.port) ? options.port : -1;
  }
  if (port <= 0) {
    return tl::unexpected("cannot listen on " + options.bind + ":" + std::to_string(options.port));
  }
  {
    std::lock_guard lock(wait_mutex);
    stopping = false;
  }
  running = true;
  if (webhooks) webhooks->start(url());
  listener = std::thread([this] { server.listen_after_bind(); });
  // cpp-httplib's stop() does nothing until the accept loop has started, so a stop right
  // after start would leave the listener blocked in accept(): wait for it (bounded).
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

void Sandbox::Impl::stop() {
  if (!running.exchange(false)) return;
  {
    std::lock_guard lock(wait_mutex);
    stopping = true;
  }
  wait_cv.notify_all();
  stop_generator();
  server.stop();
  shutdown_connections(port);
  if (listener.joinable()) listener.join();
  // No writes are left to come: deliver what is in flight (bounded) and stop.
  if (webhooks) webhooks->stop();
  api.reset();
  store.reset();
  file.reset();
}

void Sandbox::Impl::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(wait_mutex);
  wait_cv.wait_for(lock, d, [this] { return stopping; });
}

void Sandbox::Impl::handle_api(const httplib::Request& req, httplib::Response& res) {
  const std::string method = sniff_method(req.body);
  std::optional<FaultPlan> plan;
  if (options.test_controls) plan = faults.on_request(method);
  if (plan && !plan->after && plan->kind != FaultPlan::Kind::kSlow) {
    apply_fault(*plan, req, res, {});
    return;
  }
  if (plan && plan->kind == FaultPlan::Kind::kSlow) wait_for(plan->delay);
  ApiReply reply = api->handle(req.body);
  if (plan && plan->after && plan->kind != FaultPlan::Kind::kSlow) {
    apply_fault(*plan, req, res, reply.status == 200 ? std::move(reply.body) : std::string());
    return;
  }
  res.status = reply.status;
  if (options.test_controls) faults.count_reply(reply.body.size());
  if (reply.status == 200) {
    res.set_content(std::move(reply.body), kJsonType);
  } else {
    res.set_content(std::move(reply.body), "text/plain; charset=utf-8");
  }
}

void Sandbox::Impl::apply_fault(const FaultPlan& plan, const httplib::Request& req,
                                httplib::Response& res, std::string body) {
  using K = FaultPlan::Kind;
  switch (plan.kind) {
    case K::kStatus:
      res.status = plan.status;
      if (plan.retry_after >= 0) res.set_header("Retry-After", std::to_string(plan.retry_after));
      res.set_content("<html><body><h1>" + std::to_string(plan.status) +
                          "</h1>injected by the sgeventd sandbox</body></html>",
                      "text/html");
      return;
    case K::kNotJson:
      res.status = 200;
      res.set_content("<html><body>Down for maintenance (injected)</body></html>", "text/html");
      return;
    case K::kBadJson:
      res.status = 200;
      res.set_content("{\"results\": {\"entities\": [{\"type\": \"EventLogEntry\", \"id\": ",
                      kJsonType);
      return;
    case K::kTruncate: {
      if (body.empty())
        body = R"({"results":{"entities":[],"paging_info":{"has_next_page":false}}})";
      // Declare the full length, send half, then drop the connection.
      const std::size_t half = body.size() / 2;
      res.status = 200;
      res.set_content_provider(body.size(), kJsonType,
                               [body, half](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset < half) sink.write(body.data() + offset, half - offset);
                                 return offset < half;
                               });
      return;
    }
    case K::kHang:
      wait_for(plan.delay);
      [[fallthrough]];
    case K::kClose:
    case K::kReset: {
      const int fd = find_connection_fd(req);
      if (fd >= 0) {
        if (plan.kind == K::kReset) {
          // connect(AF_UNSPEC) disconnects a TCP socket with a RST, leaving the descriptor
          // valid for cpp-httplib to close as usual.
          sockaddr addr{};
          addr.sa_family = AF_UNSPEC;
          ::connect(fd, &addr, sizeof(addr));
        } else {
          ::shutdown(fd, SHUT_RDWR);
        }
      }
      res.status = 500;
      res.set_header("Connection", "close");
      return;
    }
    case K::kSlow:
      return;
  }
}

void Sandbox::Impl::stop_generator() {
  generator_stop = true;
  if (generator.joinable()) generator.join();
  generator_stop = false;
}

Expected<Value> Sandbox::Impl::control(const std::string& action, const Dict& p) {
  auto ids_of = [&]() {
    std::vector<std::int64_t> ids;
    if (const List* l = p.get("ids").if_list()) {
      for (const Value& v : *l) {
        if (v.is_int()) ids.push_back(v.as_int());
      }
    }
    return ids;
  };
  auto id_list = [](const std::vector<std::int64_t>& ids) {
    List l;
    l.reserve(ids.size());
    for (auto id : ids) l.emplace_back(static_cast<long long>(id));
    return Value(std::move(l));
  };
  if (action == "faults") {
    auto plan = FaultPlan::parse(p);
    if (!plan) return tl::unexpected(plan.error());
    faults.add(std::move(*plan));
    return Value(Dict{{"ok", true}});
  }
  if (action == "clear_faults") {
    faults.clear();
    return Value(Dict{{"ok", true}});
  }
  if (action == "counters") return faults.counters();
  if (action == "status") {
    std::shared_lock lock(store->mutex());
    return Value(Dict{{"last_event_id", Value(static_cast<long long>(store->events().last_id()))},
                      {"next_event_id", Value(static_cast<long long>(store->events().next_id()))},
                      {"events", Value(static_cast<long long>(store->events().records().size()))},
                      {"hidden_ids", id_list(store->events().hidden_ids())}});
  }
  if (action == "reserve") {
    const int count = static_cast<int>(p.get("count").if_int().value_or(1));
    if (count < 1 || count > 100000) return fault("reserve: count must be 1 to 100000");
    std::unique_lock lock(store->mutex());
    return Value(Dict{{"ids", id_list(store->events().reserve(count))}});
  }
  if (action == "commit") {
    std::unique_lock lock(store->mutex());
    return commit_reserved(*store, api->default_actor(), api->now(), p);
  }
  if (action == "hold") {
    const int count = static_cast<int>(p.get("count").if_int().value_or(1));
    std::unique_lock lock(store->mutex());
    store->events().hold_next(count);
    return Value(Dict{{"holding", count}});
  }
  if (action == "release") {
    std::unique_lock lock(store->mutex());
    const auto released = store->events().release(ids_of());
    // Released events must survive a restart like any committed one.
    std::vector<std::int64_t> ids;
    for (const auto& r : released) ids.push_back(r.id);
    if (file) {
      ChangeSet c;
      std::vector<const EventRecord*> recs;
      for (auto id : ids) {
        if (const EventRecord* r = store->events().find(id)) c.events.push_back(r);
      }
      if (auto ok = file->save(*store, c); !ok) return tl::unexpected(ok.error());
    }
    return Value(Dict{{"released", id_list(ids)}});
  }
  if (action == "discard") {
    std::unique_lock lock(store->mutex());
    return Value(Dict{{"discarded", id_list(store->events().discard(ids_of()))}});
  }
  if (action == "generate") {
    const Value& rate = p.get("rate");
    if (rate.is_null()) {
      std::unique_lock lock(store->mutex());
      return generate_events(*store, api->default_actor(), api->now(), p);
    }
    const double per_second = rate.is_int() ? static_cast<double>(rate.as_int()) : rate.as_float();
    if (!(per_second > 0 && per_second <= 1e6)) return fault("generate: rate must be 0 to 1000000");
    const std::int64_t total = p.get("count").if_int().value_or(0);  // 0: until stopped
    stop_generator();
    generator = std::thread([this, per_second, total, params = p]() mutable {
      const auto start = std::chrono::steady_clock::now();
      std::int64_t made = 0;
      while (!generator_stop && (total == 0 || made < total)) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::int64_t due = static_cast<std::int64_t>(elapsed * per_second) + 1 - made;
        if (total > 0) due = std::min(due, total - made);
        if (due > 0) {
          params.set("count", Value(static_cast<long long>(due)));
          std::unique_lock lock(store->mutex());
          auto r = generate_events(*store, api->default_actor(), api->now(), params);
          if (!r) break;
          made += due;
          // Later batches are about the same entity.
          params.set("entity_id", (*r)["entity"]["id"]);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    return Value(Dict{{"started", true}, {"rate", per_second}});
  }
  if (action == "stop_generate") {
    stop_generator();
    return Value(Dict{{"ok", true}});
  }
  if (action == "reset") {
    stop_generator();
    faults.clear();
    faults.reset_counters();
    if (webhooks) webhooks->next_generation();
    {
      std::unique_lock lock(store->mutex());
      // Accounts stay (their ids are what credentials map to); everything else goes.
      store->clear({"ApiUser", "HumanUser"});
      if (file) {
        if (auto ok = file->clear(); !ok) return tl::unexpected(ok.error());
        ChangeSet kept;
        for (const char* type : {"ApiUser", "HumanUser"}) {
          for (const auto& [id, e] : store->tables().find(type)->second.rows) {
            kept.entities.push_back(&e);
          }
        }
        if (auto ok = file->save(*store, kept); !ok) return tl::unexpected(ok.error());
      }
    }
    if (!options.seed_file.empty()) {
      if (auto ok = apply_seed(); !ok) return tl::unexpected(ok.error());
    }
    return Value(Dict{{"ok", true}});
  }
  return fault("unknown test control '" + action + "'");
}

void Sandbox::Impl::handle_control(const std::string& action, const httplib::Request& req,
                                   httplib::Response& res) {
  if (!is_loopback(req.remote_addr)) {
    res.status = 403;
    res.set_content("test controls answer loopback clients only", "text/plain");
    return;
  }
  Value params = Dict{};
  if (!req.body.empty()) {
    auto parsed = parse_json(req.body, {.datetimes = true});
    if (!parsed || !parsed->is_dict()) {
      res.status = 400;
      res.set_content("test control body must be a JSON object", "text/plain");
      return;
    }
    params = std::move(*parsed);
  }
  auto result = control(action, params.as_dict());
  if (!result) {
    res.status = 400;
    res.set_content(fault_json(result.error()), kJsonType);
    return;
  }
  res.set_content(to_json(*result, {.style = JsonStyle::Compact}), kJsonType);
}

Sandbox::Sandbox() : impl_(std::make_unique<Impl>()) {}
Sandbox::~Sandbox() { stop(); }

::sgeventd::Expected<void, std::string> Sandbox::start(const SandboxOptions& options) {
  if (impl_->running) return tl::unexpected(std::string("already running"));
  impl_ = std::make_unique<Impl>();
  return impl_->start(options);
}

void Sandbox::stop() { impl_->stop(); }
bool Sandbox::running() const { return impl_->running; }
int Sandbox::port() const { return impl_->port; }

std::string Sandbox::Impl::url() const {
  const std::string host = options.bind == "0.0.0.0" ? "127.0.0.1" : options.bind;
  return "http://" + host + ":" + std::to_string(port);
}

std::string Sandbox::url() const { return impl_->url(); }

std::int64_t Sandbox::last_event_id() const {
  if (!impl_->store) return 0;
  std::shared_lock lock(impl_->store->mutex());
  return impl_->store->events().last_id();
}

WebhookStats Sandbox::webhook_stats() const {
  return impl_->webhooks ? impl_->webhooks->stats() : WebhookStats{};
}

::sgeventd::Expected<std::vector<std::string>, std::string> Sandbox::seed_snapshot(
    const List& entities) {
  if (!impl_->api) return tl::unexpected(std::string("the sandbox is not running"));
  auto notes = impl_->api->seed_snapshot(entities);
  if (!notes) return tl::unexpected(notes.error().message);
  return std::move(*notes);
}

const std::vector<std::string>& Sandbox::seed_notes() const { return impl_->seed_notes; }

const std::vector<std::string>& Sandbox::schema_warnings() const { return impl_->schema_warnings; }

}  // namespace sgeventd::sandbox
