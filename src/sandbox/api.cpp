#include "sandbox/api.h"

#include <map>
#include <random>
#include <set>

#include "sandbox/field_values.h"
#include "sandbox/query.h"
#include "sandbox/writes.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

std::string random_token() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) s += hex[rng() % 16];
  return s;
}

ApiReply bad_request(std::string message) { return ApiReply{400, std::move(message), {}}; }

const Dict& as_dict_or_empty(const Value& v) {
  static const Dict empty;
  return v.is_dict() ? v.as_dict() : empty;
}

}  // namespace

std::string fault_json(const Fault& f) {
  return to_json(
      Value(Dict{{"exception", true}, {"error_code", f.error_code}, {"message", f.message}}),
      kCompactJson);
}

Api::Api(Store& store, ApiConfig config) : store_(store), config_(std::move(config)) {}

std::chrono::sys_seconds Api::now() const {
  if (config_.now) return config_.now();
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

Actor Api::default_actor() const {
  Actor a;
  if (!script_users_.empty()) {
    a.user = link_ref("ApiUser", script_users_.begin()->second);
    if (!config_.scripts.empty()) {
      auto it = script_users_.find(config_.scripts.front().name);
      if (it != script_users_.end()) a.user = link_ref("ApiUser", it->second);
    }
  }
  return a;
}

Expected<void> Api::bootstrap() {
  std::unique_lock lock(store_.mutex());
  store_.begin();
  auto find_by = [&](const std::string& type, const std::string& field,
                     const std::string& value) -> std::int64_t {
    for (const auto& [id, e] : store_.tables().find(type)->second.rows) {
      if (e.fields.get(field) == Value(value)) return id;
    }
    return 0;
  };
  const Value now_value(DateTime{now(), 0});
  for (const auto& s : config_.scripts) {
    std::int64_t id = find_by("ApiUser", "firstname", s.name);
    if (id == 0) {
      Entity& e = store_.insert("ApiUser");
      e.fields.set("firstname", s.name);
      e.fields.set("sg_status_list", "act");
      e.fields.set("created_at", now_value);
      e.fields.set("updated_at", now_value);
      id = e.entity_id;
    }
    script_users_[s.name] = id;
  }
  for (const auto& u : config_.users) {
    std::int64_t id = find_by("HumanUser", "login", u.login);
    if (id == 0) {
      Entity& e = store_.insert("HumanUser");
      e.fields.set("login", u.login);
      e.fields.set("name", u.name.empty() ? u.login : u.name);
      e.fields.set("sg_status_list", "act");
      e.fields.set("created_at", now_value);
      e.fields.set("updated_at", now_value);
      id = e.entity_id;
    }
    human_users_[u.login] = id;
  }
  return store_.commit();
}

Expected<Actor> Api::authenticate(const Value& auth) {
  Actor actor;
  const Dict& a = as_dict_or_empty(auth);
  if (const std::string* name = a.get("script_name").if_string()) {
    const std::string* key = a.get("script_key").if_string();
    const ScriptCredential* match = nullptr;
    for (const auto& s : config_.scripts) {
      if (s.name == *name && key && s.key == *key) match = &s;
    }
    if (!match) return fault("Can't authenticate script '" + *name + "'", kFaultAuthentication);
    actor.user = link_ref("ApiUser", script_users_.at(match->name));
  } else if (const std::string* login = a.get("user_login").if_string()) {
    const std::string* password = a.get("user_password").if_string();
    const UserCredential* match = nullptr;
    for (const auto& u : config_.users) {
      if (u.login == *login && password && u.password == *password) match = &u;
    }
    if (!match) return fault("Can't authenticate user '" + *login + "'", kFaultAuthentication);
    actor.user = link_ref("HumanUser", human_users_.at(match->login));
  } else if (const std::string* token = a.get("session_token").if_string()) {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(*token);
    if (it == sessions_.end()) {
      return fault("Can't authenticate session: the session token is unknown or expired",
                   kFaultAuthentication);
    }
    actor.user = it->second;
  } else {
    return fault("Can't authenticate: no script_name, user_login or session_token given",
                 kFaultAuthentication);
  }
  if (const std::string* uuid = a.get("session_uuid").if_string()) actor.session_uuid = *uuid;
  if (const std::string* sudo = a.get("sudo_as_login").if_string()) {
    std::int64_t id = 0;
    std::shared_lock lock(store_.mutex());
    for (const auto& [uid, e] : store_.tables().find("HumanUser")->second.rows) {
      if (!e.retired && e.fields.get("login") == Value(*sudo)) id = uid;
    }
    if (id == 0) {
      return fault("Can't sudo as user '" + *sudo + "': no active HumanUser has that login",
                   kFaultAuthentication);
    }
    actor.sudo_actual_user = actor.user;
    actor.user = link_ref("HumanUser", id);
  }
  return actor;
}

ApiReply Api::handle(std::string_view body) {
  auto request = parse_json(body, {.datetimes = true});
  if (!request) return bad_request("request body is not JSON: " + request.error().message);
  if (!request->is_dict()) return bad_request("request body must be a JSON object");
  const Dict& r = request->as_dict();
  const std::string* method = r.get("method_name").if_string();
  if (!method) return bad_request("request has no method_name");
  const Value& params = r.get("params");
  if (!params.is_null() && !params.is_list()) return bad_request("params must be a list");
  const List empty;
  const List& p = params.is_list() ? params.as_list() : empty;

  ApiReply reply;
  reply.method = *method;
  auto finish = [&](Expected<std::string> result, bool wrap = true) {
    if (!result) {
      reply.body = fault_json(result.error());
    } else {
      reply.body = wrap ? "{\"results\":" + *result + "}" : std::move(*result);
    }
    return reply;
  };
  // info needs no credentials and, as sites answer it, comes unwrapped.
  if (*method == "info") return finish(info(), false);

  auto actor = authenticate(p.empty() ? Value() : p[0]);
  if (!actor) return finish(tl::unexpected(actor.error()));
  const Value args = p.size() > 1 ? p[1] : Value();

  if (*method == "read") return finish(read(*actor, args), false);  // wrapped already
  if (*method == "create" || *method == "update" || *method == "delete" || *method == "revive") {
    return finish(write(*actor, args, *method));
  }
  if (*method == "batch") return finish(batch(*actor, args));
  if (*method == "summarize") return finish(summarize(*actor, args));
  if (method->rfind("schema_", 0) == 0) return finish(schema_method(*method, args));
  if (*method == "get_session_token") return finish(get_session_token(*actor));
  return finish(fault("Unknown method: '" + *method + "' is not an api3 method the sandbox serves",
                      kFaultUnknownMethod));
}

Expected<std::string> Api::info() {
  Dict d{{"version", List{8, 50, 0}},
         {"full_version", List{8, 50, 0, 0}},
         {"api_max_entities_per_page", config_.max_page_size},
         {"s3_uploads_enabled", false},
         {"s3_direct_uploads_enabled", false},
         {"user_authentication_method", "default"},
         {"sgeventd_sandbox", true}};
  return to_json(Value(std::move(d)), kCompactJson);
}

Expected<std::string> Api::read(const Actor&, const Value& params) {
  std::shared_lock lock(store_.mutex());
  return read_json(store_, as_dict_or_empty(params), config_.max_page_size, now());
}

Expected<std::string> Api::summarize(const Actor&, const Value& params) {
  std::shared_lock lock(store_.mutex());
  auto v = sandbox::summarize(store_, as_dict_or_empty(params), now());
  if (!v) return tl::unexpected(v.error());
  return to_json(*v, kCompactJson);
}

Expected<Value> Api::run_write(const Actor& actor, const std::string& method, const Dict& params) {
  Writer w(store_, actor, now());
  if (method == "create") return w.create(params);
  if (method == "update") return w.update(params);
  if (method == "delete") return w.retire(params);
  if (method == "revive") return w.revive(params);
  return fault("batch: request_type must be create, update or delete, got '" + method + "'");
}

Expected<std::string> Api::write(const Actor& actor, const Value& params,
                                 const std::string& method) {
  if (!params.is_dict()) return fault("API " + method + "() requires a dict of parameters");
  std::unique_lock lock(store_.mutex());
  store_.begin();
  auto result = run_write(actor, method, params.as_dict());
  if (!result) {
    store_.rollback();
    return tl::unexpected(result.error());
  }
  if (auto ok = store_.commit(); !ok) return tl::unexpected(ok.error());
  return to_json(*result, kCompactJson);
}

Expected<std::string> Api::batch(const Actor& actor, const Value& params) {
  const List* requests = params.if_list();
  if (!requests) return fault("API batch() requires a list of requests");
  std::unique_lock lock(store_.mutex());
  store_.begin();
  List results;
  for (std::size_t i = 0; i < requests->size(); ++i) {
    const Value& req = (*requests)[i];
    const std::string* kind = req["request_type"].if_string();
    if (!req.is_dict() || !kind) {
      store_.rollback();
      return fault("batch request " + std::to_string(i) + " has no request_type");
    }
    auto result = run_write(actor, *kind, req.as_dict());
    if (!result) {
      // All or nothing: entities and events of the earlier requests go too.
      store_.rollback();
      return tl::unexpected(result.error());
    }
    results.push_back(std::move(*result));
  }
  if (auto ok = store_.commit(); !ok) return tl::unexpected(ok.error());
  return to_json(Value(std::move(results)), kCompactJson);
}

Expected<std::string> Api::get_session_token(const Actor& actor) {
  std::string token = random_token();
  std::lock_guard lock(sessions_mutex_);
  sessions_[token] = actor.user;
  return to_json(Value(Dict{{"session_id", token}}), kCompactJson);
}

Expected<std::string> Api::schema_method(const std::string& method, const Value& params) {
  const Dict& p = as_dict_or_empty(params);
  if (method == "schema_read" || method == "schema_entity_read") {
    std::shared_lock lock(store_.mutex());
    Dict out;
    for (const auto& [name, def] : store_.schema().entities()) {
      if (method == "schema_entity_read") {
        out.append(name, Schema::entity_schema(def));
        continue;
      }
      Dict fields;
      for (const auto& f : def.fields) fields.append(f->name, Schema::field_schema(*f));
      out.append(name, Value(std::move(fields)));
    }
    return to_json(Value(std::move(out)), kCompactJson);
  }
  const std::string* type = p.get("type").if_string();
  if (!type) return fault("API " + method + "() requires a type");
  if (method == "schema_field_read") {
    std::shared_lock lock(store_.mutex());
    auto def = store_.schema().require_entity(*type);
    if (!def) return tl::unexpected(def.error());
    Dict out;
    if (const std::string* name = p.get("field_name").if_string()) {
      auto f = store_.schema().field(*type, *name);
      if (!f) return tl::unexpected(f.error());
      out.append(*name, Schema::field_schema(**f));
    } else {
      for (const auto& f : (*def)->fields) out.append(f->name, Schema::field_schema(*f));
    }
    return to_json(Value(std::move(out)), kCompactJson);
  }
  if (method != "schema_field_create" && method != "schema_field_update") {
    return fault("Unknown method: '" + method + "' is not an api3 method the sandbox serves",
                 kFaultUnknownMethod);
  }
  // Properties: [{"property_name", "value"}] (name, valid_types, valid_values, ...).
  Dict props;
  if (const List* l = p.get("properties").if_list()) {
    for (const Value& item : *l) {
      if (const std::string* n = item["property_name"].if_string()) props.set(*n, item["value"]);
    }
  }
  auto strings = [](const Value& v) {
    std::vector<std::string> out;
    if (const List* l = v.if_list()) {
      for (const Value& x : *l) {
        if (x.is_string()) out.push_back(x.as_string());
      }
    }
    return out;
  };
  std::unique_lock lock(store_.mutex());
  FieldDef* changed = nullptr;
  std::string result;
  if (method == "schema_field_create") {
    const std::string* data_type = p.get("data_type").if_string();
    const auto ft = data_type ? field_type_from_name(*data_type) : std::nullopt;
    if (!ft) return fault("schema_field_create: unknown data_type");
    const std::string* display = props.get("name").if_string();
    if (!display) return fault("schema_field_create: the 'name' property is required");
    auto f = store_.schema().create_field(*type, *ft, *display, strings(props.get("valid_types")),
                                          strings(props.get("valid_values")));
    if (!f) return tl::unexpected(f.error());
    changed = store_.schema().entity(*type)->field((*f)->name);
    result = to_json(Value((*f)->name), kCompactJson);
  } else {
    const std::string* name = p.get("field_name").if_string();
    EntityDef* def = store_.schema().entity(*type);
    changed = def && name ? def->field(*name) : nullptr;
    if (!changed) return fault("schema_field_update: no such field");
    if (const std::string* display = props.get("name").if_string())
      changed->display_name = *display;
    if (props.contains("valid_values")) changed->valid_values = strings(props.get("valid_values"));
    if (props.contains("valid_types")) changed->valid_types = strings(props.get("valid_types"));
    result = "true";
  }
  if (config_.save_field && changed->custom) {
    if (auto ok = config_.save_field(*changed); !ok) return tl::unexpected(ok.error());
  }
  return result;
}

Expected<void> Api::seed(const Value& document) {
  const Dict& doc = as_dict_or_empty(document);
  if (!document.is_dict()) return fault("seed: the document must be a JSON object");
  std::unique_lock lock(store_.mutex());
  if (const List* fields = doc.get("fields").if_list()) {
    for (const Value& f : *fields) {
      const std::string* type = f["type"].if_string();
      const std::string* data_type = f["data_type"].if_string();
      const std::string* name = f["name"].if_string();
      const auto ft = data_type ? field_type_from_name(*data_type) : std::nullopt;
      if (!type || !ft || !name) return fault("seed: each field needs type, data_type and name");
      auto strings = [](const Value& v) {
        std::vector<std::string> out;
        if (const List* l = v.if_list()) {
          for (const Value& x : *l) {
            if (x.is_string()) out.push_back(x.as_string());
          }
        }
        return out;
      };
      const EntityDef* def = store_.schema().entity(*type);
      if (def && def->field(custom_field_name(*name))) continue;  // already there (restart)
      auto created = store_.schema().create_field(*type, *ft, *name, strings(f["valid_types"]),
                                                  strings(f["valid_values"]));
      if (!created) return tl::unexpected(created.error());
      if (config_.save_field) {
        if (auto ok = config_.save_field(**created); !ok) return ok;
      }
    }
  }
  const List* entities = doc.get("entities").if_list();
  if (!entities) return {};
  store_.begin();
  Writer w(store_, default_actor(), now());
  w.allow_explicit_ids(true);
  for (const Value& e : *entities) {
    if (!e.is_dict()) {
      store_.rollback();
      return fault("seed: each entity must be an object");
    }
    auto created = w.create(e.as_dict());
    if (!created) {
      store_.rollback();
      return fault("seed: " + created.error().message);
    }
  }
  return store_.commit();
}

namespace {

struct SnapshotNotes {
  std::map<std::string, int> unknown_fields;  // "Shot.sg_x" -> how many values
  int dangling_links = 0;
  std::vector<std::string> other;

  std::vector<std::string> lines() const {
    std::vector<std::string> out = other;
    if (!unknown_fields.empty()) {
      std::string names;
      for (const auto& [name, count] : unknown_fields) names += (names.empty() ? "" : ", ") + name;
      out.push_back(std::to_string(unknown_fields.size()) +
                    " field(s) the schema does not have were left out: " + names);
    }
    if (dangling_links > 0) {
      out.push_back(std::to_string(dangling_links) +
                    " link(s) to entities not in the recording were left out");
    }
    return out;
  }
};

}  // namespace

Expected<std::vector<std::string>> Api::seed_snapshot(const List& entities) {
  std::unique_lock lock(store_.mutex());
  SnapshotNotes notes;
  std::set<std::pair<std::string, std::int64_t>> to_create;
  for (const Value& e : entities) {
    const std::string* type = e["type"].if_string();
    const auto id = e["id"].if_int();
    if (!type || !id) {
      notes.other.push_back("an entity without type and id was left out");
    } else if (!store_.schema().entity(*type) || *type == "EventLogEntry") {
      notes.other.push_back(*type + " " + std::to_string(*id) +
                            ": the schema has no such type: left out");
    } else if (store_.find(*type, *id)) {
      notes.other.push_back(*type + " " + std::to_string(*id) + " is already there: left as is");
    } else {
      to_create.emplace(*type, *id);
    }
  }
  const auto there = [&](const Value& link) {
    const std::string* type = link["type"].if_string();
    const auto id = link["id"].if_int();
    return type && id && (to_create.count({*type, *id}) || store_.find(*type, *id));
  };
  store_.begin();
  Writer w(store_, default_actor(), now());
  w.allow_explicit_ids(true);
  // First every entity with its plain fields, then the links, so entities may name each other
  // in any order (a Task's Shot comes after it in a recording).
  std::vector<std::pair<Dict, List>> linked;  // update params, their link fields
  for (const Value& e : entities) {
    const std::string* type = e["type"].if_string();
    const auto id = e["id"].if_int();
    if (!type || !id || !to_create.count({*type, *id})) continue;
    const EntityDef& def = *store_.schema().entity(*type);
    List plain, links;
    for (const auto& [name, value] : e.as_dict()) {
      if (name == "type" || name == "id" || value.is_null()) continue;
      const FieldDef* f = def.field(name);
      if (!f) {
        ++notes.unknown_fields[*type + "." + name];
        continue;
      }
      // Server-written fields (created_at, ...) and thumbnails (their URLs expire) stay out.
      if (!f->editable || f->type == FieldType::kImage) continue;
      if (!f->is_link()) {
        plain.push_back(Dict{{"field_name", name}, {"value", value}});
      } else {
        links.push_back(Dict{{"field_name", name}, {"value", value}});
      }
    }
    auto created = w.create(Dict{{"type", *type}, {"id", *id}, {"fields", std::move(plain)}});
    if (!created) {
      notes.other.push_back(*type + " " + std::to_string(*id) + ": " + created.error().message);
      to_create.erase({*type, *id});
      continue;
    }
    if (!links.empty()) linked.emplace_back(Dict{{"type", *type}, {"id", *id}}, std::move(links));
  }
  for (auto& [params, links] : linked) {
    if (!to_create.count({params.get("type").as_string(), params.get("id").as_int()})) continue;
    List kept;
    for (Value& f : links) {
      Value& value = f.as_dict()["value"];
      if (List* items = value.if_list()) {
        List present;
        for (Value& item : *items) {
          if (there(item))
            present.push_back(std::move(item));
          else
            ++notes.dangling_links;
        }
        if (present.empty()) continue;
        value = std::move(present);
      } else if (!there(value)) {
        ++notes.dangling_links;
        continue;
      }
      kept.push_back(std::move(f));
    }
    if (kept.empty()) continue;
    params.set("fields", std::move(kept));
    if (auto updated = w.update(params); !updated) {
      notes.other.push_back(params.get("type").as_string() + " " +
                            std::to_string(params.get("id").as_int()) +
                            ": links: " + updated.error().message);
    }
  }
  if (auto ok = store_.commit(); !ok) return tl::unexpected(ok.error());
  return notes.lines();
}

}  // namespace sgeventd::sandbox
