// Reading the status snapshot's fields (a Value from Dispatcher::status and the engine), where a
// missing or mistyped field reads as empty or 0: health.cpp and metrics.cpp share these.
#pragma once

#include <cstdint>
#include <string>

#include "sgeventd/value.h"

namespace sgeventd::daemon {

inline std::string field_text(const Value& v) {
  const std::string* s = v.if_string();
  return s ? *s : std::string();
}

inline std::int64_t field_integer(const Value& v) { return v.if_int().value_or(0); }

inline double field_number(const Value& v) {
  if (auto i = v.if_int()) return static_cast<double>(*i);
  if (v.is_float()) return v.as_float();
  if (v.is_bool()) return v.as_bool() ? 1.0 : 0.0;
  return 0.0;
}

}  // namespace sgeventd::daemon
