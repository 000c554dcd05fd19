// Loop prevention (DESIGN.md section 3): a plugin that writes to the site makes events of its
// own, which it must not be handed back, or it would react to itself forever.
//
//   kPerCallback (`loop_prevention = on`): an event made by a callback's own script (its
//     `user`, or `meta.sudo_actual_user` for a write done as someone else) is withheld from
//     that callback only, so chains of plugins still work (A writes, B reacts to A's write);
//   kDaemon (`loop_prevention = daemon`): an event made by any script of the daemon (its own,
//     or any callback's) is withheld from every plugin, as some shotgunEvents forks do;
//   kOff: every event goes to every plugin whose matchEvents take it (shotgunEvents).
#pragma once

#include <set>
#include <string>

#include "sgeventd/value.h"

namespace sgeventd::dispatch {

enum class LoopPrevention { kOff, kPerCallback, kDaemon };

// The scripts (ApiUser names) an event was made by: empty when it was a person.
struct EventAuthors {
  std::string script;       // `user`, when it is an ApiUser
  std::string sudo_script;  // `meta.sudo_actual_user`, when it is an ApiUser
  bool is(const std::string& name) const {
    return !name.empty() && (script == name || sudo_script == name);
  }
  bool any_of(const std::set<std::string>& names) const {
    return (!script.empty() && names.count(script) > 0) ||
           (!sudo_script.empty() && names.count(sudo_script) > 0);
  }
};

EventAuthors authors_of(const Value& event);

// Whether a callback acting as `callback_script` must not get an event by `authors`.
// `daemon_scripts`: every script of the daemon (kDaemon).
inline bool withheld(LoopPrevention mode, const EventAuthors& authors,
                     const std::string& callback_script,
                     const std::set<std::string>& daemon_scripts) {
  switch (mode) {
    case LoopPrevention::kOff:
      return false;
    case LoopPrevention::kPerCallback:
      return authors.is(callback_script);
    case LoopPrevention::kDaemon:
      return authors.any_of(daemon_scripts);
  }
  return false;
}

}  // namespace sgeventd::dispatch
