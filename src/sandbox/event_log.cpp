#include "sandbox/event_log.h"

#include <algorithm>
#include <chrono>

#include "sandbox/field_values.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox {

StringPool::StringPool() {
  strings_.emplace_back();
  index_.emplace(std::string(), 0);
}

std::uint32_t StringPool::intern(std::string_view s) {
  auto it = index_.find(std::string(s));
  if (it != index_.end()) return it->second;
  const auto index = static_cast<std::uint32_t>(strings_.size());
  strings_.emplace_back(s);
  index_.emplace(std::string(s), index);
  return index;
}

const std::string& EventView::type() const {
  static const std::string kType = "EventLogEntry";
  return kType;
}

namespace {

Value text_or_null(const std::string& s) { return s.empty() ? Value() : Value(s); }

Value ref_or_null(const StringPool& pool, std::uint32_t type, std::int64_t id) {
  if (type == 0 || id == 0) return Value();
  return link_ref(pool.get(type), id);
}

}  // namespace

Value EventView::get(std::string_view field) const {
  if (field == "id") return Value(static_cast<long long>(r_.id));
  if (field == "event_type") return text_or_null(pool_.get(r_.event_type));
  if (field == "attribute_name") return text_or_null(pool_.get(r_.attribute_name));
  if (field == "session_uuid") return text_or_null(pool_.get(r_.session_uuid));
  if (field == "description") return text_or_null(r_.description);
  if (field == "cached_display_name") return text_or_null(r_.cached_display_name);
  if (field == "created_at") {
    return Value(DateTime{std::chrono::sys_seconds{std::chrono::seconds{r_.created_at}}, 0});
  }
  if (field == "entity") return ref_or_null(pool_, r_.entity_type, r_.entity_id);
  if (field == "user") return ref_or_null(pool_, r_.user_type, r_.user_id);
  if (field == "project") {
    return r_.project_id == 0 ? Value() : link_ref("Project", r_.project_id);
  }
  if (field == "meta") {
    auto parsed = parse_json(r_.meta);
    return parsed ? std::move(*parsed) : Value();
  }
  return Value();
}

namespace {

// A JSON string; plain ASCII (the usual case) is copied as is, anything else goes through the
// shared writer (escapes, UTF-8 checks).
void append_string(std::string& out, std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') {
      append_json(out, Value(s), {.style = JsonStyle::Compact});
      return;
    }
  }
  out += '"';
  out.append(s);
  out += '"';
}

void append_text(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "null";
  } else {
    append_string(out, s);
  }
}

void append_link(std::string& out, const std::string& type, std::int64_t id, const Links& links) {
  if (type.empty() || id == 0 || !links.active(type, id)) {
    out += "null";
    return;
  }
  out += "{\"type\":";
  append_string(out, type);
  out += ",\"id\":";
  out += std::to_string(id);
  out += ",\"name\":";
  append_string(out, links.display_name(type, id));
  out += '}';
}

}  // namespace

bool EventView::append_read_json(std::string_view field, std::string& out,
                                 const Links& links) const {
  if (field == "meta") {
    out += r_.meta;
  } else if (field == "id") {
    out += std::to_string(r_.id);
  } else if (field == "event_type") {
    append_text(out, pool_.get(r_.event_type));
  } else if (field == "attribute_name") {
    append_text(out, pool_.get(r_.attribute_name));
  } else if (field == "session_uuid") {
    append_text(out, pool_.get(r_.session_uuid));
  } else if (field == "description") {
    append_text(out, r_.description);
  } else if (field == "cached_display_name") {
    append_text(out, r_.cached_display_name);
  } else if (field == "created_at") {
    out += '"';
    out += DateTime{std::chrono::sys_seconds{std::chrono::seconds{r_.created_at}}, 0}.to_wire();
    out += '"';
  } else if (field == "entity") {
    append_link(out, pool_.get(r_.entity_type), r_.entity_id, links);
  } else if (field == "user") {
    append_link(out, pool_.get(r_.user_type), r_.user_id, links);
  } else if (field == "project") {
    static const std::string kProject = "Project";
    append_link(out, r_.project_id == 0 ? std::string() : kProject, r_.project_id, links);
  } else {
    return false;
  }
  return true;
}

bool EventLog::publish(EventRecord record) {
  if (hold_remaining_ > 0) {
    --hold_remaining_;
    held_.emplace(record.id, std::move(record));
    return false;
  }
  insert_visible(std::move(record));
  return true;
}

void EventLog::load(EventRecord record) {
  next_id_ = std::max(next_id_, record.id + 1);
  insert_visible(std::move(record));
}

void EventLog::insert_visible(EventRecord record) {
  // Nearly always an append; a late (reserved or held) id goes into its place.
  if (visible_.empty() || visible_.back().id < record.id) {
    visible_.push_back(std::move(record));
    return;
  }
  auto it = std::lower_bound(visible_.begin(), visible_.end(), record.id,
                             [](const EventRecord& r, std::int64_t id) { return r.id < id; });
  if (it != visible_.end() && it->id == record.id) {
    *it = std::move(record);
    return;
  }
  visible_.insert(it, std::move(record));
}

const EventRecord* EventLog::find(std::int64_t id) const {
  const std::size_t i = lower_bound(id);
  return i < visible_.size() && visible_[i].id == id ? &visible_[i] : nullptr;
}

std::size_t EventLog::lower_bound(std::int64_t id) const {
  auto it = std::lower_bound(visible_.begin(), visible_.end(), id,
                             [](const EventRecord& r, std::int64_t x) { return r.id < x; });
  return static_cast<std::size_t>(it - visible_.begin());
}

std::vector<std::int64_t> EventLog::reserve(int count) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(allocate_id());
    reserved_.insert(ids.back());
  }
  return ids;
}

std::vector<EventRecord> EventLog::release(const std::vector<std::int64_t>& ids) {
  std::vector<EventRecord> out;
  auto take = [&](std::map<std::int64_t, EventRecord>::iterator it) {
    out.push_back(it->second);
    insert_visible(std::move(it->second));
    return held_.erase(it);
  };
  if (ids.empty()) {
    for (auto it = held_.begin(); it != held_.end();) it = take(it);
    hold_remaining_ = 0;
  } else {
    for (std::int64_t id : ids) {
      auto it = held_.find(id);
      if (it != held_.end()) take(it);
    }
  }
  return out;
}

std::vector<std::int64_t> EventLog::discard(const std::vector<std::int64_t>& ids) {
  std::vector<std::int64_t> out;
  for (std::int64_t id : ids) {
    if (reserved_.erase(id) || held_.erase(id)) out.push_back(id);
  }
  return out;
}

std::vector<std::int64_t> EventLog::hidden_ids() const {
  std::vector<std::int64_t> out(reserved_.begin(), reserved_.end());
  for (const auto& [id, r] : held_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

void EventLog::clear() {
  visible_.clear();
  visible_.shrink_to_fit();
  reserved_.clear();
  held_.clear();
  hold_remaining_ = 0;
  next_id_ = 1;
}

}  // namespace sgeventd::sandbox
