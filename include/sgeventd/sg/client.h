// The ShotGrid api3 client. It behaves on the wire like the official Python client
// shotgun_api3 3.10 (sg-protocol.md): same request bodies, same paging, same error classes,
// same retries. Method names and arguments mirror the Python ones.
//
// A Client owns one kept-alive connection and is not thread-safe: use one per thread, as with
// shotgun_api3.Shotgun.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgeventd/clock.h"
#include "sgeventd/sg/error.h"
#include "sgeventd/sg/transport.h"
#include "sgeventd/value.h"

namespace sgeventd::sg {

struct ConnectionSettings {
  // http(s)://host[:port][/path]; "user:pass@" in it becomes an Authorization: Basic header.
  std::string base_url;

  // Exactly one way to authenticate: script, user (optionally with a 2FA token), or session.
  std::string script_name;
  std::string script_key;  // the Python client's api_key
  std::string login;
  std::string password;
  std::string auth_token;  // 2FA code: exchanged at connect() for a session token
  std::string session_token;

  std::string sudo_as_login;
  std::string session_uuid;
  Dict extra_auth_params;  // merged into the auth dict of every call

  // "[user:pass@]host[:port]" (port 8080 when absent), as shotgun_api3's http_proxy.
  std::string http_proxy;

  // 0 means no limit (shotgun_api3's default is none). The daemon sets both.
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds request_timeout{0};

  std::string ca_file;  // PEM bundle; empty means the system's
  bool verify_tls = true;

  std::vector<std::string> user_agent_extra;  // shotgun_api3's add_user_agent()
  bool convert_datetimes_to_utc = true;
  bool localized = false;  // sends "locale: auto"

  // Pause between the 3 attempts of a call that failed on TLS; empty means the environment's
  // SHOTGUN_API_RETRY_INTERVAL (milliseconds), else 3000 ms.
  std::optional<std::chrono::milliseconds> rpc_attempt_interval;
  // Trim entity dicts in filters and updates (shotgun_api3 >= 3.7). Empty means "on unless
  // SHOTGUN_API_DISABLE_ENTITY_OPTIMIZATION=1".
  std::optional<bool> entity_optimization;

  // Responses larger than this (after decompression) fail with a ResponseError.
  std::size_t max_response_bytes = std::size_t{512} << 20;

  // Set to true from any thread to end a call in progress (it fails as a connection error).
  std::shared_ptr<const std::atomic<bool>> cancel;

  // Attempts for a call answered 502 or 504 (shotgun_api3 makes 3, 0.75 s and 1.5 s apart).
  // The daemon's event-log readers make 1: the poller retries with its own backoff, which a
  // stop can interrupt and which does not hold a recovered site waiting for seconds.
  int gateway_attempts = 3;
};

// What the server's info call said, as the client uses it.
struct ServerCapabilities {
  std::vector<int> version;  // [major, minor, patch]
  bool is_dev = false;
  int records_per_page = 500;  // api_max_entities_per_page, else 500
  Dict info;                   // the whole info answer

  bool at_least(int major, int minor, int patch) const;
  std::string version_string() const;
};

struct FindOptions {
  std::vector<std::string> fields;  // empty: ["id"]
  List order;                       // [{"field_name"|"column", "direction"}]
  std::string filter_operator;      // "all"/"and" (default) or "any"/"or"
  int limit = 0;                    // 0: every match
  bool retired_only = false;
  int page = 0;  // 0: all pages; N: only page N
  bool include_archived_projects = true;
  List additional_filter_presets;
};

struct SummarizeOptions {
  std::string filter_operator;
  std::optional<List> grouping;
  bool include_archived_projects = true;
};

class Client {
 public:
  // Checks the settings the way shotgun_api3's constructor does (an InvalidArgument error for
  // conflicting or missing credentials, a bad URL or proxy). Makes no request: call connect()
  // to reach the server now, or let the first call do it. A null transport means libcurl.
  static Result<Client> create(ConnectionSettings settings,
                               std::unique_ptr<HttpTransport> transport = nullptr,
                               Clock* clock = nullptr);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Fetches the server's capabilities (info) if not yet known, and with a 2FA auth_token
  // exchanges the credentials for a session token: shotgun_api3's connect=True.
  Result<void> connect();
  Result<const ServerCapabilities*> server_caps();

  Result<Dict> info();
  Result<List> find(const std::string& entity_type, const Value& filters,
                    const FindOptions& options = {});
  // The first match, or null.
  Result<Value> find_one(const std::string& entity_type, const Value& filters,
                         FindOptions options = {});
  Result<Value> create(const std::string& entity_type, const Dict& data,
                       const std::vector<std::string>& return_fields = {});
  Result<Value> update(const std::string& entity_type, std::int64_t entity_id, const Dict& data,
                       const Dict& multi_entity_update_modes = {});
  Result<Value> delete_entity(const std::string& entity_type, std::int64_t entity_id);
  Result<Value> revive(const std::string& entity_type, std::int64_t entity_id);
  // Requests as in Python: {"request_type", "entity_type", "entity_id", "data",
  // "return_fields", "multi_entity_update_modes"}.
  Result<List> batch(const List& requests);
  Result<Value> summarize(const std::string& entity_type, const Value& filters,
                          const List& summary_fields, const SummarizeOptions& options = {});
  Result<Value> schema_read(const Value& project_entity = Value());
  Result<Value> schema_field_read(const std::string& entity_type,
                                  const std::string& field_name = {},
                                  const Value& project_entity = Value());
  Result<Value> schema_entity_read(const Value& project_entity = Value());
  Result<Value> text_search(const std::string& text, const Dict& entity_types,
                            const List& project_ids = {}, std::optional<int> limit = {});
  Result<std::string> get_session_token();

  // Any api3 method: params is sent as params[1] (omitted when null or empty), with auth.
  Result<Value> call(const std::string& method_name, const Value& params);

  void set_session_uuid(std::string session_uuid);
  const ConnectionSettings& settings() const;
  // Bytes of response bodies received so far (as decoded); safe to read from any thread.
  std::uint64_t bytes_received() const;
  // The host (and port) requests go to, for messages.
  const std::string& server() const;

 private:
  struct State;
  explicit Client(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sgeventd::sg
