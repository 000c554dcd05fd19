// Extra fields for the records logged on this thread (event_id, ...), and the plugin they
// belong to. spdlog 1.10 has no structured fields, so the JSON sink reads them from here: the
// sinks run on the logging thread, inside the scope that set them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sgeventd/value.h"

namespace sgeventd::log {

using LogField = std::pair<std::string, Value>;

// Adds fields to every record logged on this thread while it lives. Scopes nest.
class ScopedLogFields {
 public:
  explicit ScopedLogFields(std::vector<LogField> fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  std::size_t previous_size_;
};

// Marks the records logged on this thread as the plugin's (set by the plugin loggers).
class ScopedLogPlugin {
 public:
  explicit ScopedLogPlugin(std::string_view plugin);
  ~ScopedLogPlugin();
  ScopedLogPlugin(const ScopedLogPlugin&) = delete;
  ScopedLogPlugin& operator=(const ScopedLogPlugin&) = delete;

 private:
  std::string_view previous_;
};

const std::vector<LogField>& current_log_fields();
std::string_view current_log_plugin();  // empty: not a plugin's record

}  // namespace sgeventd::log
