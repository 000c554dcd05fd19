#include "dispatch/event_matcher.h"

#include "sgeventd/json.h"

namespace sgeventd::dispatch {

::sgeventd::Expected<EventMatcher::Attributes, std::string> EventMatcher::parse_attributes(
    const Value& v) {
  Attributes a;
  if (v.is_null()) return a;  // kAny
  if (const List* list = v.if_list()) {
    for (const Value& item : *list) {
      if (item == Value("*")) return a;  // "*" in attributes
    }
    a.kind = Attributes::Kind::kList;
    a.list = *list;
    return a;
  }
  if (const std::string* s = v.if_string()) {
    if (s->find('*') != std::string::npos) return a;
    a.kind = Attributes::Kind::kSubstring;
    a.text = *s;
    return a;
  }
  if (const Dict* d = v.if_dict()) {
    for (const auto& [key, unused] : *d) {
      if (key == "*") return a;
      a.keys.push_back(key);
    }
    a.kind = Attributes::Kind::kKeys;
    return a;
  }
  return tl::unexpected(
      "matchEvents attribute filter must be None, a list, a string or a dict, got " + to_json(v));
}

::sgeventd::Expected<EventMatcher, std::string> EventMatcher::from_value(
    const Value& match_events) {
  EventMatcher m;
  if (!match_events.truthy()) return m;  // None or {}: every event
  const Dict* d = match_events.if_dict();
  if (!d) return tl::unexpected("matchEvents must be a dict, got " + to_json(match_events));
  m.match_all_ = false;
  for (const auto& [type, attrs] : *d) {
    auto a = parse_attributes(attrs);
    if (!a) return tl::unexpected(a.error());
    m.entries_.push_back(Entry{type, std::move(*a)});
  }
  return m;
}

bool EventMatcher::accepts(const Attributes& a, const Value& attribute_name) {
  if (a.kind == Attributes::Kind::kAny) return true;
  if (!attribute_name.truthy()) return false;
  switch (a.kind) {
    case Attributes::Kind::kList:
      for (const Value& item : a.list) {
        if (item == attribute_name) return true;
      }
      return false;
    case Attributes::Kind::kSubstring: {
      const std::string* name = attribute_name.if_string();
      return name && a.text.find(*name) != std::string::npos;
    }
    case Attributes::Kind::kKeys: {
      const std::string* name = attribute_name.if_string();
      if (!name) return false;
      for (const auto& key : a.keys) {
        if (key == *name) return true;
      }
      return false;
    }
    case Attributes::Kind::kAny:
      break;
  }
  return true;
}

bool EventMatcher::matches(std::string_view event_type, const Value& attribute_name) const {
  if (match_all_) return true;
  // A "*" key wins over the event's own type, as in the original.
  const Entry* chosen = nullptr;
  for (const Entry& e : entries_) {
    if (e.event_type == "*") {
      chosen = &e;
      break;
    }
  }
  if (!chosen) {
    for (const Entry& e : entries_) {
      if (e.event_type == event_type) {
        chosen = &e;
        break;
      }
    }
  }
  return chosen && accepts(chosen->attributes, attribute_name);
}

std::optional<std::vector<std::string>> EventMatcher::event_types() const {
  if (match_all_) return std::nullopt;
  std::vector<std::string> types;
  for (const Entry& e : entries_) {
    if (e.event_type == "*") return std::nullopt;
    types.push_back(e.event_type);
  }
  return types;
}

}  // namespace sgeventd::dispatch
