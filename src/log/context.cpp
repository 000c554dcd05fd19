#include "log/context.h"

namespace sgeventd::log {

namespace {
thread_local std::vector<LogField> t_fields;
thread_local std::string_view t_plugin;
}  // namespace

ScopedLogFields::ScopedLogFields(std::vector<LogField> fields) : previous_size_(t_fields.size()) {
  for (auto& field : fields) t_fields.push_back(std::move(field));
}

ScopedLogFields::~ScopedLogFields() { t_fields.resize(previous_size_); }

ScopedLogPlugin::ScopedLogPlugin(std::string_view plugin) : previous_(t_plugin) {
  t_plugin = plugin;
}

ScopedLogPlugin::~ScopedLogPlugin() { t_plugin = previous_; }

const std::vector<LogField>& current_log_fields() { return t_fields; }
std::string_view current_log_plugin() { return t_plugin; }

}  // namespace sgeventd::log
