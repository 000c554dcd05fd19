// A callback's matchEvents, evaluated in the daemon with the original's exact semantics
// (shotgunEvents Callback.canProcess), so only matching events travel to a worker.
//
//   None or {}                      every event
//   {"*": attrs}                    any event type; then only the "*" entry's attrs count
//   {"Shotgun_Task_Change": attrs}  that event type
//   attrs None, or containing "*"   any attribute (a string "contains" "*" as a substring)
//   attrs a list                    the event's attribute_name must be an element
//   attrs a string                  Python's `in` on a string: attribute_name is a substring
//                                   (the official examples rely on it: 'sg_status_list')
//   attrs a dict                    attribute_name must be a key
//   events whose attribute_name is empty or null match only None / "*" attrs
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "sgeventd/value.h"

namespace sgeventd::dispatch {

class EventMatcher {
 public:
  // Every event.
  EventMatcher() = default;
  // From the matchEvents value a worker reported (JSON of the Python object: tuples and sets
  // arrive as lists). An error names what cannot be matched against (e.g. a number).
  static ::sgeventd::Expected<EventMatcher, std::string> from_value(const Value& match_events);

  bool matches(std::string_view event_type, const Value& attribute_name) const;
  bool matches(const Value& event) const {
    const std::string* type = event["event_type"].if_string();
    return matches(type ? std::string_view(*type) : std::string_view(), event["attribute_name"]);
  }

  // The event types this matcher can accept, for server-side filtering; nullopt when it
  // accepts any type.
  std::optional<std::vector<std::string>> event_types() const;

 private:
  struct Attributes {
    enum class Kind { kAny, kList, kSubstring, kKeys } kind = Kind::kAny;
    List list;                      // kList: elements compared by value
    std::string text;               // kSubstring
    std::vector<std::string> keys;  // kKeys
  };
  struct Entry {
    std::string event_type;
    Attributes attributes;
  };
  static ::sgeventd::Expected<Attributes, std::string> parse_attributes(const Value& v);
  static bool accepts(const Attributes& a, const Value& attribute_name);

  bool match_all_ = true;
  std::vector<Entry> entries_;
};

}  // namespace sgeventd::dispatch
