#include "sandbox/writes.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "sandbox/field_values.h"
#include "sandbox/query.h"

namespace sgeventd::sandbox {
namespace {

struct FieldSet {
  const FieldDef* field;
  Value stored;
  std::string mode;  // multi_entity_update_mode
};

bool is_empty(const Value& v) {
  return v.is_null() || (v.is_bool() && !v.as_bool()) || (v.is_list() && v.as_list().empty()) ||
         (v.is_string() && v.as_string().empty());
}

bool contains(const List& l, const Value& ref) {
  return std::find(l.begin(), l.end(), ref) != l.end();
}

Fault missing(const std::string& type, std::int64_t id) {
  return Fault{kFaultValidation,
               "Entity " + type + " with id " + std::to_string(id) + " does not exist"};
}

// The (field, value) pairs of a request, checked and converted to stored form.
Expected<std::vector<FieldSet>> parse_fields(const Store& store, const EntityDef& def,
                                             const Dict& params, bool creating) {
  std::vector<FieldSet> out;
  const Value& legacy_modes = params.get("multi_entity_update_mode");
  auto add = [&](const std::string& name, const Value& value, const Value& mode) -> Expected<void> {
    const FieldDef* f = def.field(name);
    if (!f) return fault(def.name + "." + name + " doesn't exist");
    const bool allowed =
        f->editable || (creating && (name == "created_at" || name == "created_by"));
    if (!allowed) return fault(def.name + "." + name + " is not editable");
    if (def.name == "EventLogEntry" && !creating && name != "cached_display_name" &&
        name != "image" && name != "filmstrip_image") {
      return fault("EventLogEntry." + name + " cannot be changed: event log entries are read-only");
    }
    auto stored = coerce_input(*f, value, store);
    if (!stored) return tl::unexpected(stored.error());
    std::string m = "set";
    if (const std::string* s = mode.if_string()) m = *s;
    if (const std::string* s = legacy_modes[name].if_string()) m = *s;
    if (m != "set" && m != "add" && m != "remove") {
      return fault("multi_entity_update_mode must be set, add or remove, got '" + m + "'");
    }
    if (std::any_of(out.begin(), out.end(), [&](const FieldSet& s) { return s.field == f; })) {
      return fault(def.name + "." + name + " is given twice");
    }
    out.push_back({f, std::move(*stored), m});
    return {};
  };
  const Value& fields = params.get("fields");
  if (const List* list = fields.if_list()) {
    for (const Value& item : *list) {
      const std::string* name = item["field_name"].if_string();
      if (!name) return fault("each item of fields needs a field_name");
      if (auto ok = add(*name, item["value"], item["multi_entity_update_mode"]); !ok) {
        return tl::unexpected(ok.error());
      }
    }
  } else if (const Dict* dict = fields.if_dict()) {
    for (const auto& [name, value] : *dict) {
      if (auto ok = add(name, value, Value()); !ok) return tl::unexpected(ok.error());
    }
  } else if (!fields.is_null()) {
    return fault("fields must be a list of {field_name, value}");
  }
  return out;
}

Expected<std::pair<std::string, std::int64_t>> type_and_id(const Dict& params) {
  const std::string* type = params.get("type").if_string();
  const auto id = params.get("id").if_int();
  if (!type || !id) return fault("the request needs a type and an integer id");
  return std::make_pair(*type, *id);
}

}  // namespace

void Writer::touch(Entity& e) {
  if (e.entity_type == "EventLogEntry") return;
  e.fields.set("updated_at", Value(DateTime{now_, 0}));
  e.fields.set("updated_by", actor_.user);
}

Expected<Value> Writer::create(const Dict& params) {
  const std::string* type = params.get("type").if_string();
  if (!type) return fault("API create() requires a type");
  auto def = store_.schema().require_entity(*type);
  if (!def) return tl::unexpected(def.error());
  if (*type == "EventLogEntry") return create_event(params);
  auto sets = parse_fields(store_, **def, params, true);
  if (!sets) return tl::unexpected(sets.error());
  // Server-side defaults (a new Task is "wtg") count as fields set, as example (a) shows.
  for (const auto& f : (*def)->fields) {
    if (f->default_value.is_null() || is_empty(f->default_value)) continue;
    if (std::none_of(sets->begin(), sets->end(),
                     [&](const FieldSet& s) { return s.field == f.get(); })) {
      sets->push_back({f.get(), f->default_value, "set"});
    }
  }

  std::optional<std::int64_t> id;
  if (explicit_ids_) {
    id = params.get("id").if_int();
    if (id && (*id <= 0 || store_.find(*type, *id))) {
      return fault(*type + " " + std::to_string(*id) + " already exists (or is not a valid id)");
    }
  }
  Entity& e = store_.insert(*type, id);
  const Value now_value(DateTime{now_, 0});
  e.fields.set("created_at", now_value);
  e.fields.set("updated_at", now_value);
  e.fields.set("created_by", actor_.user);
  e.fields.set("updated_by", actor_.user);
  // Every value goes in first, so the New event and the back-references can name the new
  // entity with its final name and status (the per-field events still say old_value null).
  for (const FieldSet& s : *sets) e.fields.set(s.field->name, s.stored);
  events_.entity_new(e);
  for (FieldSet& s : *sets) {
    if (s.field->name == "created_at" || s.field->name == "created_by") continue;
    apply(e, *s.field, s.stored, Mode::kSet, true);
  }

  List fields;
  for (const FieldSet& s : *sets) fields.push_back(s.field->name);
  if (const List* rf = params.get("return_fields").if_list()) {
    for (const Value& f : *rf) fields.push_back(f);
  }
  const Entity* created = store_.find(*type, e.entity_id);
  return Value(render_row(store_, *created, return_paths(store_.schema(), *type, Value(fields))));
}

Expected<Value> Writer::create_event(const Dict& params) {
  const EntityDef& def = *store_.schema().entity("EventLogEntry");
  auto sets = parse_fields(store_, def, params, true);
  if (!sets) return tl::unexpected(sets.error());
  Dict fields;
  List names;
  for (const FieldSet& s : *sets) {
    fields.set(s.field->name, s.stored);
    names.push_back(s.field->name);
  }
  const Value& event_type = fields.get("event_type");
  if (!event_type.is_string() || event_type.as_string().empty()) {
    return fault("EventLogEntry.event_type is required");
  }
  if (const List* rf = params.get("return_fields").if_list()) {
    for (const Value& f : *rf) names.push_back(f);
  }
  const EventRecord& r = events_.custom(fields);
  EventView view(r, store_.events().pool());
  return Value(
      render_row(store_, view, return_paths(store_.schema(), "EventLogEntry", Value(names))));
}

Expected<Value> Writer::update(const Dict& params) {
  auto key = type_and_id(params);
  if (!key) return tl::unexpected(key.error());
  const auto& [type, id] = *key;
  auto def = store_.schema().require_entity(type);
  if (!def) return tl::unexpected(def.error());
  if (type == "EventLogEntry") {
    return fault("EventLogEntry entries cannot be updated through the sandbox");
  }
  const Entity* existing = store_.find(type, id);
  if (!existing || existing->retired) return tl::unexpected(missing(type, id));
  auto sets = parse_fields(store_, **def, params, false);
  if (!sets) return tl::unexpected(sets.error());

  Entity* e = store_.modify(type, id);
  bool changed = false;
  for (FieldSet& s : *sets) {
    const Mode mode =
        s.mode == "add" ? Mode::kAdd : (s.mode == "remove" ? Mode::kRemove : Mode::kSet);
    const Value before = e->get(s.field->name);
    apply(*e, *s.field, s.stored, mode, false);
    changed = changed || !(before == e->get(s.field->name));
  }
  if (changed) touch(*e);
  List fields;
  for (const FieldSet& s : *sets) fields.push_back(s.field->name);
  return Value(render_row(store_, *e, return_paths(store_.schema(), type, Value(fields))));
}

void Writer::apply(Entity& e, const FieldDef& f, Value stored, Mode mode, bool in_create) {
  if (f.type == FieldType::kMultiEntity) {
    const Value current = in_create ? Value(List{}) : e.get(f.name);
    const List old = current.is_list() ? current.as_list() : List{};
    List next = mode == Mode::kSet ? List{} : old;
    for (const Value& ref : stored.as_list()) {
      if (mode == Mode::kRemove) {
        next.erase(std::remove(next.begin(), next.end(), ref), next.end());
      } else if (!contains(next, ref)) {
        next.push_back(ref);
      }
    }
    List added;
    List removed;
    for (const Value& ref : next) {
      if (!contains(old, ref)) added.push_back(ref);
    }
    for (const Value& ref : old) {
      if (!contains(next, ref)) removed.push_back(ref);
    }
    e.fields.set(f.name, Value(next));
    if (added.empty() && removed.empty()) return;
    const std::int64_t event_id = events_.multi_change(e, f, added, removed, in_create);
    if (f.reverse_field.empty()) return;
    for (const Value& ref : added) mirror(e, f, ref, true, in_create, event_id);
    for (const Value& ref : removed) mirror(e, f, ref, false, in_create, event_id);
    return;
  }
  const Value old = in_create ? Value() : e.get(f.name);
  e.fields.set(f.name, stored);
  if (in_create ? is_empty(stored) : old == stored) return;
  const std::int64_t event_id = events_.scalar_change(e, f, old, stored, in_create);
  if (f.type != FieldType::kEntity || f.reverse_field.empty()) return;
  if (!old.is_null()) mirror(e, f, old, false, in_create, event_id);
  if (!stored.is_null()) mirror(e, f, stored, true, in_create, event_id);
}

void Writer::mirror(const Entity& changed, const FieldDef& f, const Value& target_ref, bool add,
                    bool in_create, std::int64_t original_event_id) {
  const std::string& type = target_ref["type"].as_string();
  const std::int64_t id = *target_ref["id"].if_int();
  const EntityDef* target_def = store_.schema().entity(type);
  const FieldDef* rf = target_def ? target_def->field(f.reverse_field) : nullptr;
  if (!rf || !rf->is_link() || rf->reverse_field != f.name) return;
  const Entity* before = store_.find(type, id);
  if (!before || before->retired) return;
  Entity* t = store_.modify(type, id);
  const Value self = link_ref(changed.entity_type, changed.entity_id);
  if (rf->type == FieldType::kMultiEntity) {
    Value current = t->get(rf->name);
    List list = current.is_list() ? current.as_list() : List{};
    if (add == contains(list, self)) return;
    if (add) {
      list.push_back(self);
    } else {
      list.erase(std::remove(list.begin(), list.end(), self), list.end());
    }
    t->fields.set(rf->name, Value(std::move(list)));
  } else {
    const Value current = t->get(rf->name);
    if (add) {
      if (current == self) return;
      // The target leaves its previous owner (a Task moving from one Shot to another).
      if (current.is_entity()) {
        if (Entity* prev = store_.modify(current["type"].as_string(), *current["id"].if_int())) {
          Value list = prev->get(f.name);
          if (List* l = list.if_list()) {
            l->erase(std::remove(l->begin(), l->end(), target_ref), l->end());
            prev->fields.set(f.name, list);
          } else if (list == target_ref) {
            prev->fields.set(f.name, Value());
          }
        }
      }
      t->fields.set(rf->name, self);
    } else {
      if (!(current == self)) return;
      t->fields.set(rf->name, Value());
    }
  }
  touch(*t);
  events_.back_reference(*t, *rf, changed, f, add ? List{self} : List{}, add ? List{} : List{self},
                         in_create, original_event_id);
}

Expected<Value> Writer::retire(const Dict& params) {
  auto key = type_and_id(params);
  if (!key) return tl::unexpected(key.error());
  const auto& [type, id] = *key;
  if (auto def = store_.schema().require_entity(type); !def) return tl::unexpected(def.error());
  if (type == "EventLogEntry") return fault("EventLogEntry entries cannot be deleted");
  const Entity* existing = store_.find(type, id);
  if (!existing) return tl::unexpected(missing(type, id));
  if (existing->retired) return Value(false);
  Entity* e = store_.modify(type, id);
  e->retired = true;
  e->retirement_date = DateTime{now_, 0};
  events_.retirement_date_change(*e, Value(), Value(meta_datetime(*e->retirement_date)));
  events_.retirement(*e);
  return Value(true);
}

Expected<Value> Writer::revive(const Dict& params) {
  auto key = type_and_id(params);
  if (!key) return tl::unexpected(key.error());
  const auto& [type, id] = *key;
  if (auto def = store_.schema().require_entity(type); !def) return tl::unexpected(def.error());
  if (type == "EventLogEntry") return fault("EventLogEntry entries cannot be revived");
  const Entity* existing = store_.find(type, id);
  if (!existing) return tl::unexpected(missing(type, id));
  if (!existing->retired) return Value(false);
  Entity* e = store_.modify(type, id);
  const Value old = e->retirement_date ? Value(meta_datetime(*e->retirement_date)) : Value();
  e->retired = false;
  e->retirement_date.reset();
  events_.retirement_date_change(*e, old, Value());
  events_.revival(*e);
  return Value(true);
}

}  // namespace sgeventd::sandbox
