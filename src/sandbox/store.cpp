#include "sandbox/store.h"

namespace sgeventd::sandbox {

Value Entity::get(std::string_view field) const {
  if (field == "id") return Value(static_cast<long long>(entity_id));
  if (const Value* v = fields.find(field)) return *v;
  return Value();
}

Store::Store(Schema schema) : schema_(std::move(schema)) {
  for (const auto& [name, def] : schema_.entities()) {
    if (name != "EventLogEntry") tables_[name];
  }
}

const Entity* Store::find(std::string_view type, std::int64_t id) const {
  auto t = tables_.find(type);
  if (t == tables_.end()) return nullptr;
  auto r = t->second.rows.find(id);
  return r == t->second.rows.end() ? nullptr : &r->second;
}

const RowView* Store::active(std::string_view type, std::int64_t id) const {
  const Entity* e = find(type, id);
  return e && !e->retired ? e : nullptr;
}

std::string Store::display_name(std::string_view type, std::int64_t id) const {
  const Entity* e = find(type, id);
  if (!e) return {};
  const EntityDef* def = schema_.entity(type);
  if (!def) return {};
  const Value& v = e->fields.get(def->display_field);
  return v.is_string() ? v.as_string() : std::string();
}

void Store::begin() {
  in_txn_ = true;
  undo_.clear();
  touched_types_.clear();
  staged_.clear();
}

Entity& Store::insert(const std::string& type, std::optional<std::int64_t> id) {
  EntityTable& t = tables_[type];
  const std::int64_t new_id = id ? *id : t.next_id;
  t.next_id = std::max(t.next_id, new_id + 1);
  touched_types_.insert(type);
  undo_.emplace(std::make_pair(type, new_id), std::nullopt);
  Entity& e = t.rows[new_id];
  e = Entity{};
  e.entity_type = type;
  e.entity_id = new_id;
  return e;
}

Entity* Store::modify(std::string_view type, std::int64_t id) {
  auto t = tables_.find(type);
  if (t == tables_.end()) return nullptr;
  auto r = t->second.rows.find(id);
  if (r == t->second.rows.end()) return nullptr;
  // Remember the state before the first change in this transaction.
  undo_.emplace(std::make_pair(std::string(type), id), r->second);
  return &r->second;
}

void Store::stage_event(EventRecord record) { staged_.push_back(std::move(record)); }

Expected<void> Store::commit() {
  ChangeSet changes;
  for (const auto& [key, before] : undo_) {
    if (const Entity* e = find(key.first, key.second)) changes.entities.push_back(e);
  }
  for (const auto& type : touched_types_)
    changes.next_ids.emplace_back(type, tables_[type].next_id);
  changes.next_ids.emplace_back("", events_.next_id());
  for (const auto& r : staged_) changes.events.push_back(&r);
  if (persist_ && (!changes.entities.empty() || !changes.events.empty())) {
    if (auto ok = persist_(*this, changes); !ok) {
      rollback();
      return ok;
    }
  }
  if (commit_listener_ && !staged_.empty()) commit_listener_(events_.pool(), staged_);
  if (staged_.size() > 4096) {  // a bulk load: grow once, not by doubling copies
    events_.reserve_capacity(events_.records().size() + staged_.size());
  }
  for (auto& r : staged_) events_.publish(std::move(r));
  staged_.clear();
  staged_.shrink_to_fit();
  undo_.clear();
  touched_types_.clear();
  in_txn_ = false;
  return {};
}

void Store::rollback() {
  for (auto& [key, before] : undo_) {
    EntityTable& t = tables_[key.first];
    if (before) {
      t.rows[key.second] = std::move(*before);
    } else {
      t.rows.erase(key.second);
    }
  }
  // Allocated ids stay used (database sequences do not roll back either): the failed
  // transaction leaves a gap in the event ids, as on real sites.
  undo_.clear();
  touched_types_.clear();
  staged_.clear();
  in_txn_ = false;
}

void Store::load_entity(Entity entity) {
  EntityTable& t = tables_[entity.entity_type];
  t.next_id = std::max(t.next_id, entity.entity_id + 1);
  const std::int64_t id = entity.entity_id;
  t.rows[id] = std::move(entity);
}

void Store::set_next_id(const std::string& type, std::int64_t next_id) {
  if (type.empty()) {
    events_.set_next_id(next_id);
    return;
  }
  EntityTable& t = tables_[type];
  t.next_id = std::max(t.next_id, next_id);
}

std::int64_t Store::next_id(const std::string& type) const {
  if (type.empty()) return events_.next_id();
  auto t = tables_.find(type);
  return t == tables_.end() ? 1 : t->second.next_id;
}

void Store::clear(const std::set<std::string>& keep) {
  for (auto& [name, t] : tables_) {
    if (!keep.count(name)) t = EntityTable{};
  }
  events_.clear();
}

}  // namespace sgeventd::sandbox
