// The api3 endpoint without HTTP: takes a request body, answers with a status and a body
// exactly as sites do (sg-protocol.md sections 2, 4, 5 and 10): {"results": ...} on success,
// the fault JSON with HTTP 200 on refusal, HTTP 400 for a body that is not a JSON object.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "sandbox/event_writer.h"
#include "sandbox/fault.h"
#include "sandbox/store.h"
#include "sgeventd/sandbox.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

struct ApiConfig {
  std::vector<ScriptCredential> scripts;
  std::vector<UserCredential> users;
  int max_page_size = 500;
  std::function<std::chrono::sys_seconds()> now;  // empty: the system clock
  // Called (under the write lock) when schema_field_create or _update changes a field, so
  // the data file can keep it.
  std::function<Expected<void>(const FieldDef&)> save_field;
};

struct ApiReply {
  int status = 200;
  std::string body;
  std::string method;  // method_name, when the body had one
};

class Api {
 public:
  Api(Store& store, ApiConfig config);

  // Makes the ApiUser and HumanUser rows of the configured credentials (no events, as for
  // accounts that predate the log). Call once, after loading the data file.
  Expected<void> bootstrap();

  ApiReply handle(std::string_view body);

  // Creates entities from a seed document (docs/sandbox.md) as the first script, with
  // events, in one transaction.
  Expected<void> seed(const Value& document);
  // Creates the entities of a recording (`sgeventd record --with-entities`: api3 entity dicts
  // with every field) under their own ids, as the first script, with events: what the schema
  // has and a client may write, and links only to entities that are there. Entities already
  // there are left alone. Returns what it left out, one note per kind, for the operator.
  Expected<std::vector<std::string>> seed_snapshot(const List& entities);

  std::chrono::sys_seconds now() const;
  // The actor the first configured script acts as (for generated events).
  Actor default_actor() const;

 private:
  using Method = Expected<std::string> (Api::*)(const Actor&, const Value&);

  Expected<Actor> authenticate(const Value& auth);
  Expected<std::string> info();
  Expected<std::string> read(const Actor&, const Value& params);
  Expected<std::string> write(const Actor&, const Value& params, const std::string& method);
  Expected<std::string> batch(const Actor&, const Value& params);
  Expected<std::string> summarize(const Actor&, const Value& params);
  Expected<std::string> schema_method(const std::string& method, const Value& params);
  Expected<std::string> get_session_token(const Actor&);
  Expected<Value> run_write(const Actor& actor, const std::string& method, const Dict& params);

  Store& store_;
  ApiConfig config_;
  std::map<std::string, std::int64_t> script_users_;  // script name -> ApiUser id
  std::map<std::string, std::int64_t> human_users_;   // login -> HumanUser id
  std::mutex sessions_mutex_;
  std::map<std::string, Value> sessions_;  // session token -> user ref
};

// The fault body sites send with HTTP 200.
std::string fault_json(const Fault& f);

}  // namespace sgeventd::sandbox
