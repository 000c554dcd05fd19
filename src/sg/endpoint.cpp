#include "sg/endpoint.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace sgeventd::sg {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

struct SplitUrl {
  std::string scheme;
  std::string netloc;
  std::string path;
};

SplitUrl split_url(const std::string& url) {
  SplitUrl out;
  std::string rest = url;
  if (const auto colon = rest.find("://"); colon != std::string::npos) {
    out.scheme = rest.substr(0, colon);
    rest = rest.substr(colon + 3);
  }
  const auto path_start = rest.find_first_of("/?#");
  out.netloc = rest.substr(0, path_start);
  if (path_start != std::string::npos && rest[path_start] == '/') {
    const auto path_end = rest.find_first_of("?#", path_start);
    out.path = rest.substr(path_start, path_end - path_start);
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  while (i + 2 < bytes.size()) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[n >> 18 & 63]);
    out.push_back(kAlphabet[n >> 12 & 63]);
    out.push_back(kAlphabet[n >> 6 & 63]);
    out.push_back(kAlphabet[n & 63]);
    i += 3;
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[n >> 18 & 63]);
    out.push_back(kAlphabet[n >> 12 & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[n >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<Endpoint> parse_base_url(const std::string& base_url) {
  const SplitUrl lowered = split_url(lower(base_url));
  if (lowered.scheme != "http" && lowered.scheme != "https") {
    return make_error(ErrorKind::kInvalidArgument,
                      "base_url must use http or https got '" + base_url + "'");
  }
  // Credentials keep their case; the host is lower-cased (what urlparse's hostname gives).
  const SplitUrl original = split_url(base_url);
  std::string host_port = original.netloc;
  std::string userinfo;
  if (const auto at = host_port.rfind('@'); at != std::string::npos) {
    userinfo = host_port.substr(0, at);
    host_port = host_port.substr(at + 1);
  }
  if (host_port.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "base_url has no host: '" + base_url + "'");
  }
  Endpoint endpoint;
  endpoint.scheme = lowered.scheme;
  endpoint.server = lower(host_port);
  // urljoin(urljoin(path or "/", "api3/"), "json"): replace the last path segment.
  std::string folder = lowered.path.empty() ? "/" : lowered.path;
  folder.erase(folder.rfind('/') + 1);
  endpoint.api_path = folder + "api3/json";
  endpoint.url = endpoint.scheme + "://" + endpoint.server + endpoint.api_path;
  if (!userinfo.empty()) {
    endpoint.authorization = "Basic " + base64_encode(percent_decode(userinfo));
  }
  return endpoint;
}

Result<std::optional<Proxy>> parse_proxy(const std::string& http_proxy) {
  if (http_proxy.empty()) return std::optional<Proxy>();
  Proxy proxy;
  std::string address = http_proxy;
  if (const auto at = http_proxy.rfind('@'); at != std::string::npos) {
    const std::string credentials = http_proxy.substr(0, at);
    const auto colon = credentials.find(':');
    if (colon == std::string::npos) {
      return make_error(ErrorKind::kInvalidArgument,
                        "Invalid http_proxy: credentials must be 'user:password@host[:port]'");
    }
    proxy.user = credentials.substr(0, colon);
    proxy.password = credentials.substr(colon + 1);
    address = http_proxy.substr(at + 1);
  }
  const auto colon = address.find(':');
  proxy.host = address.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string port = address.substr(colon + 1);
    const bool numeric =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!numeric || std::stoi(port) > 65535) {
      // The address is echoed without the credentials part.
      return make_error(ErrorKind::kInvalidArgument,
                        "Invalid http_proxy address '" + address +
                            "'. Valid format is '123.456.789.012' or '123.456.789.012:3456'. "
                            "If no port is specified, a default of 8080 will be used.");
    }
    proxy.port = std::stoi(port);
  }
  if (proxy.host.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "Invalid http_proxy: no host");
  }
  return std::optional<Proxy>(proxy);
}

}  // namespace sgeventd::sg
