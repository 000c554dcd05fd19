#include "sandbox/event_writer.h"

#include "sandbox/field_values.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

std::int64_t project_of(const Entity& e) {
  if (e.entity_type == "Project") return e.entity_id;
  const Value& p = e.fields.get("project");
  const auto id = p["id"].if_int();
  return id ? *id : 0;
}

Dict change_meta(const Entity& e, const std::string& attribute, const char* data_type) {
  return Dict{{"type", "attribute_change"},
              {"attribute_name", attribute},
              {"entity_type", e.entity_type},
              {"entity_id", Value(static_cast<long long>(e.entity_id))},
              {"field_data_type", data_type}};
}

}  // namespace

std::string EventWriter::user_name() const {
  const auto id = actor_.user["id"].if_int();
  const std::string* type = actor_.user["type"].if_string();
  return type && id ? store_.display_name(*type, *id) : std::string("Sandbox");
}

std::string EventWriter::describe(const FieldDef& f, const Value& stored) const {
  Value v = meta_value(f, stored, store_);
  if (v.is_null()) return "\"\"";
  if (const std::string* s = v.if_string()) return "\"" + *s + "\"";
  if (v.is_entity()) return "\"" + v["name"].as_string() + "\"";
  return "\"" + to_json(v, {.style = JsonStyle::Compact}) + "\"";
}

EventRecord EventWriter::base(const Entity& e, const std::string& action) {
  StringPool& pool = store_.events().pool();
  EventRecord r;
  r.id = store_.events().allocate_id();
  r.created_at = now_.time_since_epoch().count();
  r.event_type = pool.intern("Shotgun_" + e.entity_type + "_" + action);
  r.entity_type = pool.intern(e.entity_type);
  r.entity_id = e.entity_id;
  r.project_id = project_of(e);
  if (const std::string* t = actor_.user["type"].if_string()) {
    r.user_type = pool.intern(*t);
    r.user_id = actor_.user["id"].if_int().value_or(0);
  }
  r.session_uuid = pool.intern(actor_.session_uuid);
  return r;
}

std::int64_t EventWriter::stage(EventRecord r, Dict meta) {
  if (!actor_.sudo_actual_user.is_null()) {
    meta.append("sudo_actual_user", meta_link(actor_.sudo_actual_user, store_));
  }
  r.meta = to_json(Value(std::move(meta)), {.style = JsonStyle::Compact});
  const std::int64_t id = r.id;
  store_.stage_event(std::move(r));
  return id;
}

std::int64_t EventWriter::entity_new(const Entity& e) {
  EventRecord r = base(e, "New");
  r.description = user_name() + " created new " + e.entity_type + " " +
                  store_.display_name(e.entity_type, e.entity_id);
  return stage(std::move(r), Dict{{"type", "new_entity"},
                                  {"entity_type", e.entity_type},
                                  {"entity_id", Value(static_cast<long long>(e.entity_id))}});
}

std::int64_t EventWriter::scalar_change(const Entity& e, const FieldDef& f, const Value& old_stored,
                                        const Value& new_stored, bool in_create) {
  EventRecord r = base(e, "Change");
  r.attribute_name = store_.events().pool().intern(f.name);
  const std::string name = store_.display_name(e.entity_type, e.entity_id);
  r.description = in_create ? user_name() + " set \"" + f.display_name + "\" to " +
                                  describe(f, new_stored) + " on " + e.entity_type + " " + name
                            : user_name() + " changed \"" + f.display_name + "\" from " +
                                  describe(f, old_stored) + " to " + describe(f, new_stored) +
                                  " on " + e.entity_type + " " + name;
  Dict meta = change_meta(e, f.name, field_type_name(f.type));
  if (in_create) meta.append("in_create", true);
  meta.append("old_value", meta_value(f, old_stored, store_));
  meta.append("new_value", meta_value(f, new_stored, store_));
  return stage(std::move(r), std::move(meta));
}

namespace {

// Multi-entity meta items carry a little more than read values (sg-protocol.md 11 (c), (d)).
List meta_items(const List& refs, const Store& store) {
  List out;
  for (const Value& ref : refs) {
    Value v = meta_link(ref, store);
    if (!v.is_dict()) continue;
    const Entity* target = store.find(ref["type"].as_string(), *ref["id"].if_int());
    if (target) {
      const Value& status = target->fields.get("sg_status_list");
      if (status.is_string()) v.as_dict().append("status", status);
    }
    v.as_dict().append("valid", "valid");
    out.push_back(std::move(v));
  }
  return out;
}

std::string names(const List& refs, const Store& store) {
  std::string s;
  for (const Value& ref : refs) {
    if (!s.empty()) s += ", ";
    s += store.display_name(ref["type"].as_string(), *ref["id"].if_int());
  }
  return s;
}

}  // namespace

std::int64_t EventWriter::multi_change(const Entity& e, const FieldDef& f, const List& added,
                                       const List& removed, bool in_create) {
  EventRecord r = base(e, "Change");
  r.attribute_name = store_.events().pool().intern(f.name);
  r.description = user_name() + " changed \"" + f.display_name + "\" on " + e.entity_type + " " +
                  store_.display_name(e.entity_type, e.entity_id) + ": added [" +
                  names(added, store_) + "], removed [" + names(removed, store_) + "]";
  Dict meta = change_meta(e, f.name, field_type_name(f.type));
  if (in_create) meta.append("in_create", true);
  meta.append("added", meta_items(added, store_));
  meta.append("removed", meta_items(removed, store_));
  return stage(std::move(r), std::move(meta));
}

std::int64_t EventWriter::back_reference(const Entity& other, const FieldDef& other_field,
                                         const Entity& changed, const FieldDef& changed_field,
                                         const List& added, const List& removed, bool in_create,
                                         std::int64_t original_event_id) {
  EventRecord r = base(other, "Change");
  r.attribute_name = store_.events().pool().intern(other_field.name);
  r.description = user_name() + " changed \"" + other_field.display_name + "\" on " +
                  other.entity_type + " " +
                  store_.display_name(other.entity_type, other.entity_id) + " (through " +
                  changed.entity_type + "." + changed_field.name + ")";
  // entity_type, entity_id and field_data_type describe the entity whose field changed.
  Dict meta{{"type", "attribute_change"},
            {"attribute_name", other_field.name},
            {"actual_attribute_changed", changed.entity_type + "." + changed_field.name},
            {"entity_type", changed.entity_type},
            {"entity_id", Value(static_cast<long long>(changed.entity_id))},
            {"field_data_type", field_type_name(changed_field.type)}};
  if (in_create) meta.append("in_create", true);
  meta.append("original_event_log_entry_id", Value(static_cast<long long>(original_event_id)));
  meta.append("removed", meta_items(removed, store_));
  meta.append("added", meta_items(added, store_));
  return stage(std::move(r), std::move(meta));
}

std::int64_t EventWriter::retirement_date_change(const Entity& e, const Value& old_value,
                                                 const Value& new_value) {
  EventRecord r = base(e, "Change");
  r.attribute_name = store_.events().pool().intern("retirement_date");
  r.description = user_name() + " changed \"Date Retired\" on " + e.entity_type + " " +
                  store_.display_name(e.entity_type, e.entity_id);
  Dict meta = change_meta(e, "retirement_date", "date_time");
  meta.append("old_value", old_value);
  meta.append("new_value", new_value);
  return stage(std::move(r), std::move(meta));
}

std::int64_t EventWriter::retirement(const Entity& e) {
  EventRecord r = base(e, "Retirement");
  const std::string name = store_.display_name(e.entity_type, e.entity_id);
  r.description = user_name() + " retired " + e.entity_type + " " + name;
  const auto id = Value(static_cast<long long>(e.entity_id));
  return stage(std::move(r),
               Dict{{"type", "entity_retirement"},
                    {"entity_type", e.entity_type},
                    {"entity_id", id},
                    {"id", id},
                    {"class_name", e.entity_type},
                    {"display_name", name},
                    {"retirement_date",
                     e.retirement_date ? Value(meta_datetime(*e.retirement_date)) : Value()}});
}

std::int64_t EventWriter::revival(const Entity& e) {
  EventRecord r = base(e, "Revival");
  const std::string name = store_.display_name(e.entity_type, e.entity_id);
  r.description = user_name() + " revived " + e.entity_type + " " + name;
  const auto id = Value(static_cast<long long>(e.entity_id));
  return stage(std::move(r), Dict{{"type", "entity_revival"},
                                  {"entity_type", e.entity_type},
                                  {"entity_id", id},
                                  {"id", id},
                                  {"class_name", e.entity_type},
                                  {"display_name", name}});
}

const EventRecord& EventWriter::custom(const Dict& fields) {
  StringPool& pool = store_.events().pool();
  EventRecord r;
  r.id = store_.events().allocate_id();
  r.created_at = now_.time_since_epoch().count();
  auto text = [&](const char* key) {
    const Value& v = fields.get(key);
    return v.is_string() ? v.as_string() : std::string();
  };
  r.event_type = pool.intern(text("event_type"));
  r.attribute_name = pool.intern(text("attribute_name"));
  r.description = text("description");
  r.cached_display_name = text("cached_display_name");
  auto link = [&](const char* key, std::uint32_t& type, std::int64_t& id) {
    const Value& v = fields.get(key);
    if (v.is_entity()) {
      type = pool.intern(v["type"].as_string());
      id = *v["id"].if_int();
    }
  };
  link("entity", r.entity_type, r.entity_id);
  std::uint32_t project_type = 0;
  link("project", project_type, r.project_id);
  if (fields.contains("user")) {
    link("user", r.user_type, r.user_id);
  } else if (const std::string* t = actor_.user["type"].if_string()) {
    r.user_type = pool.intern(*t);
    r.user_id = actor_.user["id"].if_int().value_or(0);
  }
  r.session_uuid =
      pool.intern(fields.contains("session_uuid") ? text("session_uuid") : actor_.session_uuid);
  r.meta = to_json(fields.get("meta"), {.style = JsonStyle::Compact});
  store_.stage_event(std::move(r));
  return store_.staged_events().back();
}

}  // namespace sgeventd::sandbox
