// What an exec plugin's hello leaves out (docs/plugin-protocol.md: hello, Exec plugins). The
// daemon's own credentials (its script key, the SMTP password, the proxy's password) are in the
// config sections and the site it hands every worker. A Python plugin gets them as shotgunEvents
// gave its plugins the whole config; an exec plugin, any program at all, gets only those its
// manifest names (`credentials = shotgun.key, emails.password`).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "sgeventd/workers/protocol.h"

namespace sgeventd::workers {

// "section.key" of every config value that is a credential. shotgun.proxy_server counts for
// its password only: without it, the proxy stays, as user@host.
inline constexpr std::array<std::string_view, 3> kCredentialNames = {
    "shotgun.key", "shotgun.proxy_server", "emails.password"};

bool is_credential_name(std::string_view name);

// "http://user:secret@proxy:3128" -> "secret"; empty without a password (the scheme is
// optional, as in api3's http_proxy "user:secret@proxy:3128").
std::string proxy_password(std::string_view proxy);
// "http://user:secret@proxy:3128" -> "http://user@proxy:3128"; unchanged without a password.
std::string proxy_without_password(std::string_view proxy);

// `hello` without the credentials `keep` does not name: their config values removed (the
// proxy's password only), and the site's proxy without its password.
HelloInfo without_credentials(HelloInfo hello, const std::vector<std::string>& keep);

}  // namespace sgeventd::workers
