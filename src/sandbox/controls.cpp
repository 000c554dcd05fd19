#include "sandbox/controls.h"

#include <algorithm>

#include "sandbox/field_values.h"
#include "sandbox/writes.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox {

Expected<FaultPlan> FaultPlan::parse(const Dict& p) {
  FaultPlan plan;
  const std::string* kind = p.get("kind").if_string();
  if (!kind) return fault("faults: kind is required");
  static const std::map<std::string, Kind> kinds{
      {"status", Kind::kStatus},    {"hang", Kind::kHang},         {"close", Kind::kClose},
      {"reset", Kind::kReset},      {"truncate", Kind::kTruncate}, {"not_json", Kind::kNotJson},
      {"bad_json", Kind::kBadJson}, {"slow", Kind::kSlow}};
  auto it = kinds.find(*kind);
  if (it == kinds.end()) {
    return fault(
        "faults: kind must be status, hang, close, reset, truncate, not_json, "
        "bad_json or slow");
  }
  plan.kind = it->second;
  if (auto s = p.get("status").if_int()) plan.status = static_cast<int>(*s);
  if (plan.kind == Kind::kStatus && (plan.status < 400 || plan.status > 599)) {
    return fault("faults: status must be 4xx or 5xx");
  }
  if (auto r = p.get("retry_after").if_int()) plan.retry_after = static_cast<int>(*r);
  if (plan.status == 429 && plan.retry_after < 0) plan.retry_after = 1;
  plan.delay = std::chrono::milliseconds(
      p.get("delay_ms")
          .if_int()
          .value_or(plan.kind == Kind::kHang ? 60000 : (plan.kind == Kind::kSlow ? 1000 : 0)));
  if (auto c = p.get("count").if_int()) plan.remaining = static_cast<int>(*c);
  if (const Value& s = p.get("seconds"); s.is_number()) {
    const double secs = s.is_int() ? static_cast<double>(s.as_int()) : s.as_float();
    plan.until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<std::int64_t>(secs * 1000));
    if (!p.contains("count")) plan.remaining = -1;
  }
  if (const List* m = p.get("methods").if_list()) {
    for (const Value& v : *m) {
      if (v.is_string()) plan.methods.insert(v.as_string());
    }
  }
  plan.after = p.get("after").truthy();
  return plan;
}

void FaultInjector::add(FaultPlan plan) {
  std::lock_guard lock(mutex_);
  plans_.push_back(std::move(plan));
}

void FaultInjector::clear() {
  std::lock_guard lock(mutex_);
  plans_.clear();
}

std::optional<FaultPlan> FaultInjector::on_request(const std::string& method) {
  std::lock_guard lock(mutex_);
  ++total_;
  ++by_method_[method.empty() ? "(none)" : method];
  const auto now = std::chrono::steady_clock::now();
  for (auto it = plans_.begin(); it != plans_.end();) {
    const bool timed = it->until != std::chrono::steady_clock::time_point{};
    if ((timed && now >= it->until) || it->remaining == 0) {
      it = plans_.erase(it);
      continue;
    }
    if (!it->methods.empty() && !it->methods.count(method)) {
      ++it;
      continue;
    }
    FaultPlan plan = *it;
    if (it->remaining > 0 && --it->remaining == 0) plans_.erase(it);
    ++faults_;
    return plan;
  }
  return std::nullopt;
}

Value FaultInjector::counters() const {
  std::lock_guard lock(mutex_);
  Dict methods;
  for (const auto& [m, n] : by_method_) methods.append(m, Value(static_cast<long long>(n)));
  return Dict{{"requests", std::move(methods)},
              {"total", Value(static_cast<long long>(total_))},
              {"faults_injected", Value(static_cast<long long>(faults_))},
              {"faults_pending", Value(static_cast<long long>(plans_.size()))},
              {"reply_bytes", Value(static_cast<long long>(reply_bytes_))}};
}

void FaultInjector::count_reply(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  reply_bytes_ += bytes;
}

void FaultInjector::reset_counters() {
  std::lock_guard lock(mutex_);
  by_method_.clear();
  total_ = 0;
  faults_ = 0;
  reply_bytes_ = 0;
}

std::string sniff_method(std::string_view body) {
  const auto key = body.find("\"method_name\"");
  if (key == std::string_view::npos) return {};
  auto pos = body.find(':', key);
  if (pos == std::string_view::npos) return {};
  pos = body.find('"', pos);
  if (pos == std::string_view::npos) return {};
  const auto end = body.find('"', pos + 1);
  if (end == std::string_view::npos || end - pos > 64) return {};
  return std::string(body.substr(pos + 1, end - pos - 1));
}

namespace {

void append_quoted(std::string& out, const std::string& s) { append_json(out, Value(s)); }

}  // namespace

Expected<Value> generate_events(Store& store, const Actor& actor, std::chrono::sys_seconds now,
                                const Dict& params) {
  const std::int64_t count = params.get("count").if_int().value_or(1);
  if (count < 1 || count > 50'000'000) return fault("generate: count must be 1 to 50000000");
  const std::string* type_param = params.get("entity_type").if_string();
  const std::string type = type_param ? *type_param : "Shot";
  const EntityDef* def = store.schema().entity(type);
  if (!def || type == "EventLogEntry") return fault("generate: unknown entity_type " + type);
  const FieldDef* field = def->field("description");
  if (!field) field = def->field(def->display_field);

  store.begin();
  // The entity the events are about: the one named, else one made for the purpose.
  std::int64_t entity_id = params.get("entity_id").if_int().value_or(0);
  if (entity_id != 0 && !store.active(type, entity_id)) {
    store.rollback();
    return fault("generate: " + type + " " + std::to_string(entity_id) + " does not exist");
  }
  if (entity_id == 0) {
    Writer w(store, actor, now);
    Dict create{
        {"type", type},
        {"fields", List{Dict{{"field_name", def->display_field}, {"value", "sandbox_generated"}}}}};
    auto made = w.create(create);
    if (!made) {
      store.rollback();
      return tl::unexpected(made.error());
    }
    entity_id = *(*made)["id"].if_int();
  }
  const Entity* e = store.find(type, entity_id);
  const Value& project = e->fields.get("project");
  const std::int64_t project_id = project["id"].if_int().value_or(0);
  const std::string name = store.display_name(type, entity_id);
  const std::string user =
      actor.user.is_entity()
          ? store.display_name(actor.user["type"].as_string(), *actor.user["id"].if_int())
          : std::string("Sandbox");

  StringPool& pool = store.events().pool();
  EventRecord proto;
  proto.created_at = now.time_since_epoch().count();
  proto.event_type = pool.intern("Shotgun_" + type + "_Change");
  proto.attribute_name = pool.intern(field->name);
  proto.entity_type = pool.intern(type);
  proto.entity_id = entity_id;
  proto.project_id = project_id;
  if (actor.user.is_entity()) {
    proto.user_type = pool.intern(actor.user["type"].as_string());
    proto.user_id = *actor.user["id"].if_int();
  }
  proto.session_uuid = pool.intern(actor.session_uuid);
  // Meta and description are assembled as text: a Value per event would cost ten times more.
  std::string meta_head = "{\"type\":\"attribute_change\",\"attribute_name\":";
  append_quoted(meta_head, field->name);
  meta_head += ",\"entity_type\":";
  append_quoted(meta_head, type);
  meta_head += ",\"entity_id\":" + std::to_string(entity_id) + ",\"field_data_type\":\"" +
               field_type_name(field->type) + "\",\"old_value\":";
  const std::string desc_head = user + " changed \"" + field->display_name + "\" from \"";
  const std::string desc_tail = "\" on " + type + " " + name;

  const std::int64_t first = store.events().next_id();
  for (std::int64_t i = 0; i < count; ++i) {
    EventRecord r = proto;
    r.id = store.events().allocate_id();
    const std::string old_value = "generated " + std::to_string(i);
    const std::string new_value = "generated " + std::to_string(i + 1);
    r.meta.reserve(meta_head.size() + 64);
    r.meta = meta_head;
    r.meta += '"' + old_value + "\",\"new_value\":\"" + new_value + "\"}";
    r.description = desc_head + old_value + "\" to \"" + new_value + desc_tail;
    store.stage_event(std::move(r));
  }
  const std::int64_t last = store.events().next_id() - 1;
  // Leave the entity as the last event says.
  if (Entity* m = store.modify(type, entity_id); m && field->type == FieldType::kText) {
    m->fields.set(field->name, "generated " + std::to_string(count));
  }
  if (auto ok = store.commit(); !ok) return tl::unexpected(ok.error());
  return Value(Dict{{"first_id", Value(static_cast<long long>(first))},
                    {"last_id", Value(static_cast<long long>(last))},
                    {"count", Value(static_cast<long long>(count))},
                    {"entity", link_ref(type, entity_id)}});
}

Expected<Value> commit_reserved(Store& store, const Actor& actor, std::chrono::sys_seconds now,
                                const Dict& params) {
  const List* ids = params.get("ids").if_list();
  if (!ids || ids->empty()) return fault("commit: ids is required");
  for (const Value& id : *ids) {
    if (!id.is_int() || !store.events().is_reserved(id.as_int())) {
      return fault("commit: " + to_json(id) + " is not a reserved id");
    }
  }
  StringPool& pool = store.events().pool();
  store.begin();
  List done;
  for (const Value& id : *ids) {
    EventRecord r;
    r.id = id.as_int();
    r.created_at = now.time_since_epoch().count();
    const std::string* event_type = params.get("event_type").if_string();
    r.event_type = pool.intern(event_type ? *event_type : "Sandbox_Late_Commit");
    if (const std::string* a = params.get("attribute_name").if_string())
      r.attribute_name = pool.intern(*a);
    const Value& entity = params.get("entity");
    if (entity.is_entity()) {
      r.entity_type = pool.intern(entity["type"].as_string());
      r.entity_id = *entity["id"].if_int();
    }
    r.project_id = params.get("project")["id"].if_int().value_or(0);
    if (actor.user.is_entity()) {
      r.user_type = pool.intern(actor.user["type"].as_string());
      r.user_id = *actor.user["id"].if_int();
    }
    if (const std::string* d = params.get("description").if_string()) r.description = *d;
    const Value& meta = params.get("meta");
    r.meta = meta.is_null()
                 ? "{\"type\":\"sandbox_late_commit\",\"reserved_id\":" + std::to_string(r.id) + "}"
                 : to_json(meta, {.style = JsonStyle::Compact});
    store.events().unreserve(r.id);
    store.stage_event(std::move(r));
    done.push_back(id);
  }
  if (auto ok = store.commit(); !ok) return tl::unexpected(ok.error());
  return Value(Dict{{"committed", std::move(done)}});
}

}  // namespace sgeventd::sandbox
