#include "dispatch/loop_prevention.h"

namespace sgeventd::dispatch {

namespace {

std::string script_name(const Value& user) {
  const std::string* type = user["type"].if_string();
  const std::string* name = user["name"].if_string();
  if (type && *type == "ApiUser" && name) return *name;
  return {};
}

}  // namespace

EventAuthors authors_of(const Value& event) {
  EventAuthors a;
  a.script = script_name(event["user"]);
  a.sudo_script = script_name(event["meta"]["sudo_actual_user"]);
  return a;
}

}  // namespace sgeventd::dispatch
