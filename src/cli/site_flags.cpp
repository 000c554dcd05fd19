#include "cli/site_flags.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <utility>

#include "cli/commands.h"
#include "config/ini.h"

namespace sgeventd::cli {

const char* const kSiteFlagsFooter =
    "Connection settings come from the flags, else SGEVENTD_SERVER, SGEVENTD_SCRIPT_NAME,\n"
    "SGEVENTD_SCRIPT_KEY (and SGEVENTD_SESSION_TOKEN, SGEVENTD_PASSWORD, SGEVENTD_PROXY),\n"
    "else the [shotgun] section (server, name, key, proxy_server) of -c FILE or\n"
    "SGEVENTD_CONFIG.";

void add_site_flags(CLI::App& sub, SiteFlags& o, bool writes) {
  sub.add_option("-c,--config", o.config_file, "shotgunEventDaemon.conf-style file");
  sub.add_option("--server,--site", o.server,
                 "site URL, e.g. https://studio.shotgrid.autodesk.com");
  sub.add_option("--script-name", o.script_name, "script (ApiUser) name");
  sub.add_option("--script-key", o.script_key, "script key (prefer SGEVENTD_SCRIPT_KEY)");
  sub.add_option("--session-token", o.session_token, "authenticate with a session token");
  sub.add_option("--login", o.login, "authenticate as a user (password: SGEVENTD_PASSWORD)");
  sub.add_option("--password", o.password, "user password (prefer SGEVENTD_PASSWORD)");
  if (writes) {
    sub.add_option("--sudo-as-login", o.sudo_as_login, "act as this user");
    sub.add_option("--session-uuid", o.session_uuid, "session_uuid for the events it makes");
  }
  sub.add_option("--proxy", o.proxy, "HTTP proxy [user:pass@]host[:port]");
  sub.add_option("--ca-file", o.ca_file, "PEM file of trusted CAs");
  sub.add_flag("--no-verify", o.no_verify, "do not verify the server's TLS certificate");
  sub.add_option("--connect-timeout", o.connect_timeout, "seconds (0: none)")
      ->capture_default_str();
  sub.add_option("--timeout", o.timeout, "seconds for each call (0: none)")->capture_default_str();
}

::sgeventd::Expected<sg::ConnectionSettings, std::string> site_settings(const SiteFlags& o) {
  sg::ConnectionSettings s;
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  std::string config_server, config_name, config_key, config_proxy;
  std::string config_file = o.config_file.empty() ? env("SGEVENTD_CONFIG") : o.config_file;
  if (!config_file.empty()) {
    auto ini = config::IniFile::load(config_file, config::IniFile::process_environment());
    if (!ini) return tl::unexpected(ini.error().describe());
    for (auto [key, out] :
         {std::pair{"server", &config_server}, std::pair{"name", &config_name},
          std::pair{"key", &config_key}, std::pair{"proxy_server", &config_proxy}}) {
      auto v = ini->get("shotgun", key);
      if (!v) return tl::unexpected(v.error().describe());
      if (*v) *out = **v;
    }
  }
  const auto pick = [](const std::string& flag, const std::string& environment,
                       const std::string& file) {
    return !flag.empty() ? flag : !environment.empty() ? environment : file;
  };
  s.base_url = pick(o.server, env("SGEVENTD_SERVER"), config_server);
  s.login = o.login;
  s.password = !o.password.empty() ? o.password : env("SGEVENTD_PASSWORD");
  s.session_token = !o.session_token.empty() ? o.session_token : env("SGEVENTD_SESSION_TOKEN");
  if (s.login.empty() && s.session_token.empty()) {
    s.script_name = pick(o.script_name, env("SGEVENTD_SCRIPT_NAME"), config_name);
    s.script_key = pick(o.script_key, env("SGEVENTD_SCRIPT_KEY"), config_key);
  }
  if (s.login.empty()) s.password.clear();
  s.http_proxy = pick(o.proxy, env("SGEVENTD_PROXY"), config_proxy);
  s.sudo_as_login = o.sudo_as_login;
  s.session_uuid = o.session_uuid;
  s.ca_file = o.ca_file;
  s.verify_tls = !o.no_verify;
  s.connect_timeout = std::chrono::milliseconds(static_cast<long long>(o.connect_timeout * 1000));
  s.request_timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout * 1000));
  if (s.base_url.empty()) {
    return tl::unexpected(std::string(
        "no server: give --server, SGEVENTD_SERVER, or a config file with [shotgun] server"));
  }
  return s;
}

::sgeventd::Expected<sg::Client, SiteFailure> connect_site(const SiteFlags& flags) {
  auto settings = site_settings(flags);
  if (!settings) return tl::unexpected(SiteFailure{kExitUsage, settings.error()});
  auto client = sg::Client::create(std::move(*settings));
  if (!client) {
    const bool refused = client.error().kind == sg::ErrorKind::kInvalidArgument;
    return tl::unexpected(
        SiteFailure{refused ? kExitUsage : kExitFailure, client.error().describe()});
  }
  return std::move(*client);
}

}  // namespace sgeventd::cli
