// The flags that say which site to talk to and how, shared by the commands that read a site
// (api, schema dump, record): command line, then environment, then a config file's [shotgun]
// section, the same precedence everywhere (docs/cli.md).
#pragma once

#include <string>

#include "sgeventd/result.h"
#include "sgeventd/sg/client.h"

namespace CLI {
class App;
}

namespace sgeventd::cli {

struct SiteFlags {
  std::string config_file;
  std::string server;
  std::string script_name;
  std::string script_key;
  std::string session_token;
  std::string login;
  std::string password;
  std::string sudo_as_login;
  std::string session_uuid;
  std::string proxy;
  std::string ca_file;
  bool no_verify = false;
  double connect_timeout = 10;
  double timeout = 60;
};

// Adds --config, --server, --script-name ... to SUB. WRITES: whether the command can write
// (api): read-only commands leave out --sudo-as-login and --session-uuid.
void add_site_flags(CLI::App& sub, SiteFlags& flags, bool writes);

// The help text's paragraph on where the settings come from.
extern const char* const kSiteFlagsFooter;

// The settings, or a usage error (a config file that cannot be read, no server).
::sgeventd::Expected<sg::ConnectionSettings, std::string> site_settings(const SiteFlags& flags);

struct SiteFailure {
  int exit_code;  // kExitUsage for settings the client refuses, else kExitFailure
  std::string message;
};

// A client for these flags (no request made yet).
::sgeventd::Expected<sg::Client, SiteFailure> connect_site(const SiteFlags& flags);

}  // namespace sgeventd::cli
