// The api3 client. Each method follows the official client's method of the same name step by
// step (sg-protocol.md sections 2 to 8), including when it needs the server's capabilities,
// because that decides when `info` goes on the wire.

#include "sgeventd/sg/client.h"
#include <algorithm>

#include <cstdlib>

#include "sg/curl_transport.h"
#include "sg/endpoint.h"
#include "sg/filters.h"
#include "sg/response.h"
#include "sgeventd/json.h"
#include "sgeventd/version.h"

namespace sgeventd::sg {
namespace {

constexpr int kMaxAttempts = 3;                     // _call_rpc: 502/504 attempts at most
constexpr std::chrono::milliseconds kBackoff{750};  // times the attempt number
constexpr int kMaxRpcAttempts = 3;                  // _make_call: TLS retries
constexpr const char* kProtocolVersion = "3.10.0";  // the shotgun_api3 release we match

Error invalid(std::string message) {
  return Error{ErrorKind::kInvalidArgument, std::move(message), 0, 0, {}};
}

Error shotgun_error(std::string message) {
  return Error{ErrorKind::kShotgunError, std::move(message), 0, 0, {}};
}

Error response_error(std::string message) {
  return Error{ErrorKind::kResponseError, std::move(message), 0, 0, {}};
}

Result<void> check_credentials(const ConnectionSettings& s) {
  const bool has_script = !s.script_name.empty() || !s.script_key.empty();
  const bool has_user = !s.login.empty() || !s.password.empty();
  if (!s.session_token.empty()) {
    if (has_script) {
      return tl::unexpected(invalid("cannot provide both session_token and script_name/api_key"));
    }
    if (has_user) {
      return tl::unexpected(invalid("cannot provide both session_token and login/password"));
    }
  }
  if (has_user) {
    if (has_script) {
      return tl::unexpected(invalid("cannot provide both login/password and script_name/api_key"));
    }
    if (s.login.empty()) return tl::unexpected(invalid("password provided without login"));
    if (s.password.empty()) return tl::unexpected(invalid("login provided without password"));
  }
  if (has_script) {
    if (s.script_name.empty()) {
      return tl::unexpected(invalid("api_key provided without script_name"));
    }
    if (s.script_key.empty()) {
      return tl::unexpected(invalid("script_name provided without api_key"));
    }
  }
  if (!s.auth_token.empty()) {
    if (s.login.empty() || s.password.empty()) {
      return tl::unexpected(invalid("must provide a user login and password with an auth_token"));
    }
  }
  return {};
}

Result<std::chrono::milliseconds> retry_interval(const ConnectionSettings& s) {
  if (s.rpc_attempt_interval) {
    if (s.rpc_attempt_interval->count() < 0) {
      return tl::unexpected(invalid("rpc_attempt_interval must be positive"));
    }
    return *s.rpc_attempt_interval;
  }
  const char* env = std::getenv("SHOTGUN_API_RETRY_INTERVAL");
  if (!env) return std::chrono::milliseconds(3000);
  char* end = nullptr;
  const long value = std::strtol(env, &end, 10);
  if (end == env || *end != '\0') {
    return tl::unexpected(invalid(std::string("Invalid value '") + env +
                                  "' found in environment variable SHOTGUN_API_RETRY_INTERVAL, "
                                  "must be int."));
  }
  if (value < 0) {
    return tl::unexpected(invalid(std::string("Value of SHOTGUN_API_RETRY_INTERVAL must be "
                                              "positive, got '") +
                                  env + "'."));
  }
  return std::chrono::milliseconds(value);
}

bool entity_optimization(const ConnectionSettings& s) {
  if (s.entity_optimization) return *s.entity_optimization;
  const char* env = std::getenv("SHOTGUN_API_DISABLE_ENTITY_OPTIMIZATION");
  if (!env) return true;
  std::string v(env);
  // strip().lower() == "1"
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
  return v != "1";
}

// {"field_name": k, "value": v[, extra...]} for each item of data, in order.
List dict_to_list(const Dict& data, const Dict& modes = {}) {
  List fields;
  fields.reserve(data.size());
  for (const auto& [key, value] : data) {
    Dict field{{"field_name", key}, {"value", value}};
    if (const Value* mode = modes.find(key)) field.set("multi_entity_update_mode", *mode);
    fields.push_back(std::move(field));
  }
  return fields;
}

// _parse_records: "&lt;" unescaped in top-level strings; local file links get local_path and
// a file:// url from the Linux path.
void parse_records(List& records) {
  for (Value& record : records) {
    Dict* fields = record.if_dict();
    if (!fields) continue;
    for (auto& [key, value] : *fields) {
      if (!value.truthy()) continue;
      if (value.is_string()) {
        std::string& s = value.as_string();
        for (auto pos = s.find("&lt;"); pos != std::string::npos; pos = s.find("&lt;", pos + 1)) {
          s.replace(pos, 4, "<");
        }
      }
      Dict* link = value.if_dict();
      if (link && link->get("link_type") == Value("local") && link->contains("local_path_linux")) {
        const Value local_path = link->get("local_path_linux");
        link->set("local_path", local_path);
        std::string path;
        if (local_path.truthy()) {
          path = local_path.is_string() ? local_path.as_string() : to_json(local_path);
        }
        link->set("url", "file://" + path);
      }
    }
  }
}

// Records as a list (a lone record becomes a one-element list), post-processed.
List records_from(Value result) {
  List records;
  if (List* list = result.if_list()) {
    records = std::move(*list);
  } else if (result.truthy()) {
    records.push_back(std::move(result));
  }
  parse_records(records);
  return records;
}

std::string version_text(const std::vector<int>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back('.');
    out += std::to_string(v[i]);
  }
  return out.empty() ? "None" : out;
}

}  // namespace

bool ServerCapabilities::at_least(int major, int minor, int patch) const {
  return version >= std::vector<int>{major, minor, patch};
}

std::string ServerCapabilities::version_string() const { return version_text(version); }

struct Client::State {
  ConnectionSettings settings;
  Endpoint endpoint;
  std::unique_ptr<HttpTransport> transport;
  Clock* clock = nullptr;
  std::optional<ServerCapabilities> caps;
  std::string user_agent;
  std::chrono::milliseconds rpc_attempt_interval{3000};
  bool optimize_entities = true;
  std::atomic<std::uint64_t> bytes_received{0};  // read by other threads (metrics)

  // The server's capabilities, fetching info the first time they are needed.
  Result<const ServerCapabilities*> capabilities() {
    if (caps) return &*caps;
    auto info = call_rpc("info", Value(), /*include_auth=*/false);
    if (!info) return tl::unexpected(info.error());
    const Dict* meta = info->if_dict();
    const List* version = meta ? meta->get("version").if_list() : nullptr;
    if (!version || version->empty()) {
      return tl::unexpected(shotgun_error(
          "The Flow Production Tracking Server didn't respond with a version number. This may "
          "be because you are running an older version of Flow Production Tracking against a "
          "more recent version of the Flow Production Tracking API."));
    }
    ServerCapabilities c;
    c.info = *meta;
    c.is_dev = version->size() > 3 && (*version)[3] == Value("Dev");
    for (std::size_t i = 0; i < version->size() && i < 3; ++i) {
      const Value& part = (*version)[i];
      if (!part.is_number()) {
        return tl::unexpected(
            response_error("info returned a non-numeric version: " + to_json(Value(*version))));
      }
      c.version.push_back(part.is_int() ? static_cast<int>(part.as_int())
                                        : static_cast<int>(part.as_float()));
    }
    if (!c.at_least(2, 4, 0)) {
      return tl::unexpected(shotgun_error(
          "JSON API requires server version 2.4.0 or higher, server is " + c.version_string()));
    }
    const Value& rpp = meta->get("api_max_entities_per_page");
    if (rpp.truthy() && rpp.is_int() && rpp.as_int() > 0) {
      c.records_per_page = static_cast<int>(rpp.as_int());
    }
    caps = std::move(c);
    return &*caps;
  }

  // _ensure_support with raise_hell: a ShotgunError naming the feature when too old.
  Result<void> require(int major, int minor, int patch, const char* label) {
    auto c = capabilities();
    if (!c) return tl::unexpected(c.error());
    if ((*c)->at_least(major, minor, patch)) return {};
    return tl::unexpected(shotgun_error(std::string(label) + " requires server version " +
                                        version_text({major, minor, patch}) +
                                        " or higher, server is " + (*c)->version_string()));
  }

  Result<Dict> auth_params() {
    const ConnectionSettings& s = settings;
    Dict auth;
    if (!s.login.empty() && !s.password.empty()) {
      auth.append("user_login", s.login);
      auth.append("user_password", s.password);
      if (!s.auth_token.empty()) auth.append("auth_token", s.auth_token);
    } else if (!s.script_name.empty() && !s.script_key.empty()) {
      auth.append("script_name", s.script_name);
      auth.append("script_key", s.script_key);
    } else if (!s.session_token.empty()) {
      auto c = capabilities();
      if (!c) return tl::unexpected(c.error());
      if (!(*c)->at_least(5, 3, 0)) {
        return tl::unexpected(shotgun_error(
            "Session token based authentication requires server version 5.3.0 or higher, "
            "server is " +
            (*c)->version_string()));
      }
      auth.append("session_token", s.session_token);
      if ((*c)->version > std::vector<int>{5, 4, 3}) auth.append("reject_if_expired", true);
    } else {
      return tl::unexpected(invalid("invalid auth params"));
    }
    if (!s.session_uuid.empty()) auth.append("session_uuid", s.session_uuid);
    if (!s.sudo_as_login.empty()) {
      auto c = capabilities();
      if (!c) return tl::unexpected(c.error());
      if (!(*c)->at_least(5, 3, 12)) {
        return tl::unexpected(shotgun_error(
            "Option 'sudo_as_login' requires server version 5.3.12 or higher, server is " +
            (*c)->version_string()));
      }
      auth.append("sudo_as_login", s.sudo_as_login);
    }
    for (const auto& [key, value] : s.extra_auth_params) auth.set(key, value);
    return auth;
  }

  // _make_call: one POST, retried only on TLS errors.
  ::sgeventd::Expected<HttpResponse, Error> make_call(const HttpRequest& request) {
    for (int attempt = 1;; ++attempt) {
      auto response = transport->post(request);
      if (response) {
        bytes_received.fetch_add(response->body.size(), std::memory_order_relaxed);
        return std::move(*response);
      }
      transport->close_connection();
      if (response.error().kind != TransportErrorKind::kTls || attempt >= kMaxRpcAttempts) {
        Error error = transport_error(response.error());
        if (response.error().kind == TransportErrorKind::kTls) {
          error.message += " (after " + std::to_string(attempt) + " attempts)";
        }
        return tl::unexpected(std::move(error));
      }
      clock->sleep_for(rpc_attempt_interval);
    }
  }

  // _call_rpc: payload, headers, 502/504 retries, status, decoding.
  Result<Value> call_rpc(const std::string& method, const Value& params, bool include_auth = true) {
    List call_params;
    if (include_auth) {
      auto auth = auth_params();
      if (!auth) return tl::unexpected(auth.error());
      call_params.push_back(std::move(*auth));
    }
    if (params.truthy()) call_params.push_back(params);
    const Value payload = Dict{{"method_name", method}, {"params", std::move(call_params)}};

    HttpRequest request;
    request.url = endpoint.url;
    request.body =
        to_json(payload, {.style = JsonStyle::Python,
                          .convert_datetimes_to_utc = settings.convert_datetimes_to_utc});
    request.headers.emplace_back("user-agent", user_agent);
    if (!endpoint.authorization.empty()) {
      request.headers.emplace_back("Authorization", endpoint.authorization);
    }
    request.headers.emplace_back("content-type", "application/json; charset=utf-8");
    request.headers.emplace_back("connection", "keep-alive");
    if (settings.localized) request.headers.emplace_back("locale", "auto");

    HttpResponse response;
    for (int attempt = 1;; ++attempt) {
      auto r = make_call(request);
      if (!r) return tl::unexpected(r.error());
      response = std::move(*r);
      if (response.status < 300) break;
      if (attempt < std::min(kMaxAttempts, settings.gateway_attempts) &&
          (response.status == 502 || response.status == 504)) {
        clock->sleep_for(kBackoff * attempt);
        continue;
      }
      return tl::unexpected(protocol_error(endpoint.server, response));
    }
    return decode_response(response);
  }

  // _construct_read_parameters plus the capability-dependent keys of find().
  Result<Dict> read_params(const std::string& entity_type, Value filters, const FindOptions& o) {
    auto c = capabilities();
    if (!c) return tl::unexpected(c.error());
    Dict params;
    params.append("type", entity_type);
    List fields;
    for (const auto& f : o.fields) fields.emplace_back(f);
    if (fields.empty()) fields.emplace_back("id");
    params.append("return_fields", std::move(fields));
    params.append("filters", std::move(filters));
    params.append("return_only", o.retired_only ? "retired" : "active");
    params.append("paging",
                  Dict{{"entities_per_page", (*c)->records_per_page}, {"current_page", 1}});
    if (!o.additional_filter_presets.empty()) {
      params.append("additional_filter_presets", o.additional_filter_presets);
    }
    if (!o.include_archived_projects) params.append("include_archived_projects", false);
    if (!o.order.empty()) {
      List sorts;
      for (const Value& sort : o.order) {
        const Dict* d = sort.if_dict();
        if (!d) return tl::unexpected(invalid("order items must be dicts: " + to_json(sort)));
        Value field = d->contains("column") ? d->get("column") : d->get("field_name");
        if (field.is_null() && !d->contains("field_name")) {
          return tl::unexpected(invalid("order item without field_name: " + to_json(sort)));
        }
        Value direction = d->contains("direction") ? d->get("direction") : Value("asc");
        sorts.push_back(Dict{{"field_name", std::move(field)}, {"direction", direction}});
      }
      params.append("sorts", std::move(sorts));
    }
    if ((*c)->at_least(3, 3, 0)) params.append("api_return_image_urls", true);
    return params;
  }

  Result<Value> translate(const Value& filters, const std::string& filter_operator) {
    if (const List* list = filters.if_list()) {
      return translate_filters(*list, filter_operator, optimize_entities);
    }
    if (filters.is_dict()) return filters;  // already in wire form: sent untranslated
    return tl::unexpected(invalid("filters must be a list or a dict, got " + to_json(filters)));
  }
};

Client::Client(std::unique_ptr<State> state) : state_(std::move(state)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::create(ConnectionSettings settings, std::unique_ptr<HttpTransport> transport,
                              Clock* clock) {
  if (auto ok = check_credentials(settings); !ok) return tl::unexpected(ok.error());
  auto endpoint = parse_base_url(settings.base_url);
  if (!endpoint) return tl::unexpected(endpoint.error());
  auto proxy = parse_proxy(settings.http_proxy);
  if (!proxy) return tl::unexpected(proxy.error());
  auto interval = retry_interval(settings);
  if (!interval) return tl::unexpected(interval.error());

  auto state = std::make_unique<State>();
  state->endpoint = std::move(*endpoint);
  state->rpc_attempt_interval = *interval;
  state->optimize_entities = entity_optimization(settings);
  state->clock = clock ? clock : &Clock::real();
  if (!transport) {
    CurlTransportOptions options;
    options.proxy = *proxy;
    options.connect_timeout = settings.connect_timeout;
    options.request_timeout = settings.request_timeout;
    options.ca_file = settings.ca_file;
    options.verify_tls = settings.verify_tls;
    options.max_response_bytes = settings.max_response_bytes;
    options.cancel = settings.cancel;
    transport = std::make_unique<CurlTransport>(std::move(options));
  }
  state->transport = std::move(transport);
  // Same shape as shotgun_api3's: client and protocol version; runtime and platform; TLS.
  state->user_agent = std::string("shotgun-json (") + kProtocolVersion + "); sgeventd " + kVersion +
                      " (Linux); ssl " + CurlTransport::ssl_version();
  for (const auto& extra : settings.user_agent_extra) state->user_agent += "; " + extra;
  state->settings = std::move(settings);
  return Client(std::move(state));
}

Result<void> Client::connect() {
  auto c = state_->capabilities();
  if (!c) return tl::unexpected(c.error());
  if (!state_->settings.auth_token.empty()) {
    auto token = get_session_token();
    if (!token) return tl::unexpected(token.error());
    state_->settings.session_token = *token;
    state_->settings.login.clear();
    state_->settings.password.clear();
    state_->settings.auth_token.clear();
  }
  return {};
}

Result<const ServerCapabilities*> Client::server_caps() { return state_->capabilities(); }

Result<Dict> Client::info() {
  auto r = state_->call_rpc("info", Value(), /*include_auth=*/false);
  if (!r) return tl::unexpected(r.error());
  if (!r->is_dict()) return tl::unexpected(response_error("info did not return a dict"));
  return std::move(r->as_dict());
}

Result<List> Client::find(const std::string& entity_type, const Value& filters,
                          const FindOptions& o) {
  if (o.limit < 0) return tl::unexpected(invalid("limit parameter must be a positive integer"));
  if (o.page < 0) return tl::unexpected(invalid("page parameter must be a positive integer"));
  if (filters.is_dict() && !o.filter_operator.empty()) {
    return tl::unexpected(shotgun_error(
        "Deprecated: Use of filter_operator for find() is not valid any more. See the "
        "documentation on find()"));
  }
  auto wire_filters = state_->translate(filters, o.filter_operator);
  if (!wire_filters) return tl::unexpected(wire_filters.error());
  if (!o.include_archived_projects) {
    if (auto ok = state_->require(5, 3, 14, "include_archived_projects parameter"); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (!o.additional_filter_presets.empty()) {
    if (auto ok = state_->require(7, 0, 0, "additional_filter_presets parameter"); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  auto built = state_->read_params(entity_type, std::move(*wire_filters), o);
  if (!built) return tl::unexpected(built.error());
  Value params = std::move(*built);
  const ServerCapabilities& caps = *state_->caps;
  const bool modern_paging = caps.at_least(7, 4, 0);
  const char* paging_key =
      modern_paging ? "return_paging_info_without_counts" : "return_paging_info";
  Dict& p = params.as_dict();
  p.set(paging_key, false);

  int page = o.page;
  if (o.limit && o.limit <= caps.records_per_page) {
    p["paging"].as_dict().set("entities_per_page", o.limit);
    if (page == 0) page = 1;
  }
  if (page != 0) {
    p["paging"].as_dict().set("current_page", page);
    auto r = state_->call_rpc("read", params);
    if (!r) return tl::unexpected(r.error());
    if (!r->is_dict()) return tl::unexpected(response_error("read did not return a dict"));
    Value entities = r->as_dict().get("entities");
    if (!entities.is_list() && !entities.is_null()) {
      return tl::unexpected(response_error("read returned entities that are not a list"));
    }
    return records_from(std::move(entities));
  }

  p.set(paging_key, true);
  List records;
  const auto truncated = [&] {
    if (o.limit && records.size() >= static_cast<std::size_t>(o.limit)) {
      records.resize(static_cast<std::size_t>(o.limit));
      return true;
    }
    return false;
  };
  for (int current = 1;; ++current) {
    p["paging"].as_dict().set("current_page", current);
    auto r = state_->call_rpc("read", params);
    if (!r) return tl::unexpected(r.error());
    Dict* result = r->if_dict();
    if (!result) return tl::unexpected(response_error("read did not return a dict"));
    Value& entities = (*result)["entities"];
    if (!entities.is_list()) {
      if (modern_paging || entities.truthy()) {
        return tl::unexpected(response_error("read returned no entities list"));
      }
      break;  // legacy loop: no entities ends it
    }
    if (!modern_paging && entities.as_list().empty()) break;
    const std::size_t page_size = entities.as_list().size();
    for (Value& e : entities.as_list()) records.push_back(std::move(e));
    if (truncated()) break;
    const Value* paging_info = result->find("paging_info");
    if (!paging_info || !paging_info->is_dict()) {
      return tl::unexpected(response_error("read returned no paging_info"));
    }
    if (modern_paging) {
      const Value* has_next = paging_info->as_dict().find("has_next_page");
      if (!has_next) return tl::unexpected(response_error("paging_info has no has_next_page"));
      if (!has_next->truthy()) break;
      // A server that keeps promising pages but sends none would loop forever.
      if (page_size == 0) {
        return tl::unexpected(response_error("the server said another page follows an empty one"));
      }
    } else {
      const Value* count = paging_info->as_dict().find("entity_count");
      if (!count) return tl::unexpected(response_error("paging_info has no entity_count"));
      if (Value(static_cast<long long>(records.size())) == *count) break;
    }
  }
  parse_records(records);
  return records;
}

Result<Value> Client::find_one(const std::string& entity_type, const Value& filters,
                               FindOptions options) {
  options.limit = 1;
  options.page = 0;
  auto r = find(entity_type, filters, options);
  if (!r) return tl::unexpected(r.error());
  if (r->empty()) return Value();
  return std::move(r->front());
}

Result<Value> Client::create(const std::string& entity_type, const Dict& data,
                             const std::vector<std::string>& return_fields) {
  if (data.contains("image") || data.contains("filmstrip_image")) {
    return tl::unexpected(shotgun_error(
        "thumbnail uploads (image, filmstrip_image) are not supported by this client"));
  }
  List fields;
  for (const auto& f : return_fields) fields.emplace_back(f);
  if (fields.empty()) fields.emplace_back("id");
  Value params = Dict{
      {"type", entity_type}, {"fields", dict_to_list(data)}, {"return_fields", std::move(fields)}};
  auto r = state_->call_rpc("create", params);
  if (!r) return r;
  List records = records_from(std::move(*r));
  if (records.empty()) return tl::unexpected(response_error("create returned no record"));
  return std::move(records.front());
}

Result<Value> Client::update(const std::string& entity_type, std::int64_t entity_id,
                             const Dict& data, const Dict& multi_entity_update_modes) {
  const Value* image = data.find("image");
  if ((image && !image->is_null()) || data.contains("filmstrip_image")) {
    return tl::unexpected(shotgun_error(
        "thumbnail uploads (image, filmstrip_image) are not supported by this client"));
  }
  if (data.empty()) return Value(Dict{{"id", entity_id}, {"type", entity_type}});
  List fields = dict_to_list(data, multi_entity_update_modes);
  if (state_->optimize_entities) {
    for (Value& field : fields) {
      for (auto& [key, value] : field.as_dict()) value = optimize_entity(value);
    }
  }
  Value params = Dict{{"type", entity_type}, {"id", entity_id}, {"fields", std::move(fields)}};
  auto r = state_->call_rpc("update", params);
  if (!r) return r;
  List records = records_from(std::move(*r));
  if (records.empty()) return tl::unexpected(response_error("update returned no record"));
  return std::move(records.front());
}

Result<Value> Client::delete_entity(const std::string& entity_type, std::int64_t entity_id) {
  return state_->call_rpc("delete", Dict{{"type", entity_type}, {"id", entity_id}});
}

Result<Value> Client::revive(const std::string& entity_type, std::int64_t entity_id) {
  return state_->call_rpc("revive", Dict{{"type", entity_type}, {"id", entity_id}});
}

Result<List> Client::batch(const List& requests) {
  if (requests.empty()) return List();
  List calls;
  for (const Value& request : requests) {
    const Dict* req = request.if_dict();
    if (!req) {
      return tl::unexpected(
          shotgun_error("Batched request must be a dict, got " + to_json(request)));
    }
    const auto require = [&](const char* what,
                             std::initializer_list<const char*> keys) -> Result<void> {
      std::string missing;
      for (const char* key : keys) {
        if (!req->contains(key)) missing += (missing.empty() ? "" : ", ") + std::string(key);
      }
      if (missing.empty()) return {};
      return tl::unexpected(shotgun_error(std::string(what) + " missing required key: " + missing +
                                          ". Value was: " + to_json(request) + "."));
    };
    if (auto ok = require("Batched request", {"request_type", "entity_type"}); !ok) {
      return tl::unexpected(ok.error());
    }
    const Value& type = req->get("request_type");
    Dict call{{"request_type", type}, {"type", req->get("entity_type")}};
    if (type == Value("create")) {
      if (auto ok = require("Batched create request", {"data"}); !ok) {
        return tl::unexpected(ok.error());
      }
      const Dict* data = req->get("data").if_dict();
      if (!data) return tl::unexpected(shotgun_error("Batched create data must be a dict"));
      call.append("fields", dict_to_list(*data));
      const Value& return_fields = req->get("return_fields");
      call.append("return_fields", return_fields.truthy() ? return_fields : Value(List{"id"}));
    } else if (type == Value("update")) {
      if (auto ok = require("Batched update request", {"entity_id", "data"}); !ok) {
        return tl::unexpected(ok.error());
      }
      const Dict* data = req->get("data").if_dict();
      if (!data) return tl::unexpected(shotgun_error("Batched update data must be a dict"));
      const Dict* modes = req->get("multi_entity_update_modes").if_dict();
      call.append("id", req->get("entity_id"));
      call.append("fields", dict_to_list(*data, modes ? *modes : Dict()));
      if (const Value* mode = req->find("multi_entity_update_mode")) {
        call.append("multi_entity_update_mode", *mode);
      }
    } else if (type == Value("delete")) {
      if (auto ok = require("Batched delete request", {"entity_id"}); !ok) {
        return tl::unexpected(ok.error());
      }
      call.append("id", req->get("entity_id"));
    } else {
      return tl::unexpected(shotgun_error("Invalid request_type '" +
                                          (type.is_string() ? type.as_string() : to_json(type)) +
                                          "' for batch"));
    }
    calls.push_back(std::move(call));
  }
  auto r = state_->call_rpc("batch", Value(std::move(calls)));
  if (!r) return tl::unexpected(r.error());
  return records_from(std::move(*r));
}

Result<Value> Client::summarize(const std::string& entity_type, const Value& filters,
                                const List& summary_fields, const SummarizeOptions& o) {
  auto wire_filters = state_->translate(filters, o.filter_operator);
  if (!wire_filters) return wire_filters;
  if (!o.include_archived_projects) {
    if (auto ok = state_->require(5, 3, 14, "include_archived_projects parameter"); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  Dict params{{"type", entity_type}, {"summaries", summary_fields}};
  params.append("filters", std::move(*wire_filters));
  if (!o.include_archived_projects) params.append("include_archived_projects", false);
  if (o.grouping) params.append("grouping", *o.grouping);
  return state_->call_rpc("summarize", params);
}

Result<Value> Client::schema_read(const Value& project_entity) {
  Dict params;
  if (project_entity.truthy()) {
    if (auto ok = state_->require(5, 4, 4, "project parameter"); !ok) {
      return tl::unexpected(ok.error());
    }
    params.append("project", project_entity);
  }
  return state_->call_rpc("schema_read", params);
}

Result<Value> Client::schema_field_read(const std::string& entity_type,
                                        const std::string& field_name,
                                        const Value& project_entity) {
  Dict params{{"type", entity_type}};
  if (!field_name.empty()) params.append("field_name", field_name);
  if (project_entity.truthy()) {
    if (auto ok = state_->require(5, 4, 4, "project parameter"); !ok) {
      return tl::unexpected(ok.error());
    }
    params.append("project", project_entity);
  }
  return state_->call_rpc("schema_field_read", params);
}

Result<Value> Client::schema_entity_read(const Value& project_entity) {
  Dict params;
  if (project_entity.truthy()) {
    if (auto ok = state_->require(5, 4, 4, "project parameter"); !ok) {
      return tl::unexpected(ok.error());
    }
    params.append("project", project_entity);
  }
  return state_->call_rpc("schema_entity_read", params);
}

Result<Value> Client::text_search(const std::string& text, const Dict& entity_types,
                                  const List& project_ids, std::optional<int> limit) {
  auto c = state_->capabilities();
  if (!c) return tl::unexpected(c.error());
  if (!(*c)->at_least(6, 2, 0)) {
    return tl::unexpected(
        shotgun_error("auto_complete requires server version 6.2.0 or higher, server is " +
                      (*c)->version_string()));
  }
  Dict api_entity_types;
  for (const auto& [type, filter_list] : entity_types) {
    const List* list = filter_list.if_list();
    if (!list) {
      return tl::unexpected(
          invalid("value of entity_types['" + type + "'] must be a list or tuple."));
    }
    auto translated = translate_filters(*list, "", state_->optimize_entities);
    if (!translated) return translated;
    api_entity_types.append(type, std::move(*translated));
  }
  Dict params{{"text", text},
              {"entity_types", std::move(api_entity_types)},
              {"project_ids", project_ids},
              {"max_results", limit ? Value(*limit) : Value()}};
  auto r = state_->call_rpc("query_display_name_cache", params);
  if (!r) return r;
  List records = records_from(std::move(*r));
  if (records.empty()) return tl::unexpected(response_error("text_search returned nothing"));
  return std::move(records.front());
}

Result<std::string> Client::get_session_token() {
  if (!state_->settings.session_token.empty()) return state_->settings.session_token;
  auto r = state_->call_rpc("get_session_token", Value());
  if (!r) return tl::unexpected(r.error());
  const std::string* token = (*r)["session_id"].if_string();
  if (!token || token->empty()) {
    return tl::unexpected(response_error("Could not extract session_id from the response"));
  }
  state_->settings.session_token = *token;
  return *token;
}

Result<Value> Client::call(const std::string& method_name, const Value& params) {
  if (method_name.empty()) return tl::unexpected(invalid("method is empty"));
  return state_->call_rpc(method_name, params);
}

void Client::set_session_uuid(std::string session_uuid) {
  state_->settings.session_uuid = std::move(session_uuid);
}

const ConnectionSettings& Client::settings() const { return state_->settings; }

const std::string& Client::server() const { return state_->endpoint.server; }

std::uint64_t Client::bytes_received() const {
  return state_->bytes_received.load(std::memory_order_relaxed);
}

}  // namespace sgeventd::sg
