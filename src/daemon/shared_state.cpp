#include "daemon/shared_state.h"

#include <fstream>
#include <sstream>

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

}  // namespace sgeventd::daemon
