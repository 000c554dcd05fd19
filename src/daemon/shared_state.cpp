#include "daemon/shared_state.h"

#include <fstream>
#include <sstream>

#include "state/pg_db.h"

namespace sgeventd::daemon {

Expected<state::PgStateOptions, std::string> shared_state_options(const Config& config) {
  state::PgStateOptions o;
  o.url = config.state.url;
  o.name = state_name(config);
  o.lease = config.state.lease;
  if (!config.state.password_file.empty()) {
    std::ifstream in(config.state.password_file, std::ios::binary);
    if (!in) {
      return tl::unexpected("[state] password_file: cannot read " + config.state.password_file);
    }
    std::stringstream text;
    text << in.rdbuf();
    o.password = text.str();
    if (!o.password.empty() && o.password.back() == '\n') o.password.pop_back();
    if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
  }
  return o;
}

Expected<CommandState, CommandStateError> open_for_command(const Config& config, bool read_only,
                                                           bool take_lease,
                                                           const std::string& when_led) {
  auto options = shared_state_options(config);
  if (!options) return tl::unexpected(CommandStateError{options.error(), true});
  options->read_only = read_only;
  CommandState out;
  out.where = "state '" + options->name + "' at " + state::pg::redact_url(options->url);
  auto store = state::PgStateStore::open(*options);
  if (!store) {
    return tl::unexpected(CommandStateError{out.where + ": " + store.error().describe()});
  }
  out.store = std::move(*store);
  if (!take_lease) return out;
  state::LeaderLease& lease = *out.store->leader_lease();
  auto grant = lease.try_acquire();
  if (!grant) return tl::unexpected(CommandStateError{out.where + ": " + grant.error().describe()});
  if (!*grant) {
    auto row = lease.read();
    const std::string holder = row && *row ? " (" + (*row)->holder + ")" : std::string();
    return tl::unexpected(
        CommandStateError{"a daemon leads " + out.where + holder + ": " + when_led});
  }
  return out;
}

}  // namespace sgeventd::daemon
