// Where requests go: the base URL and proxy rules of shotgun_api3 (sg-protocol.md section 1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sgeventd/sg/error.h"

namespace sgeventd::sg {

struct Endpoint {
  std::string scheme;         // "http" or "https"
  std::string server;         // host[:port], the host lower-cased
  std::string api_path;       // "/api3/json", or under the base URL's folder
  std::string url;            // scheme://server/api_path
  std::string authorization;  // "Basic ..." when the URL had user[:pass]@, else ""
};

// The URL is lower-cased for the scheme and path, as the official client does; "https://h/sg"
// posts to /api3/json and "https://h/sg/" to /sg/api3/json. Only http and https are allowed.
Result<Endpoint> parse_base_url(const std::string& base_url);

struct Proxy {
  std::string host;
  int port = 8080;
  std::string user;
  std::string password;
};

// "[user:pass@]host[:port]"; an empty string is no proxy (nullopt inside the Result).
Result<std::optional<Proxy>> parse_proxy(const std::string& http_proxy);

// RFC 4648 base64 of bytes (for Basic authorization).
std::string base64_encode(std::string_view bytes);

}  // namespace sgeventd::sg
