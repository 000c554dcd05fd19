#include "workers/credentials.h"

#include <algorithm>
#include <optional>

namespace sgeventd::workers {

bool is_credential_name(std::string_view name) {
  return std::find(kCredentialNames.begin(), kCredentialNames.end(), name) !=
         kCredentialNames.end();
}

namespace {

// Where the password of "[scheme://]user:password@host" sits: [colon + 1, at).
struct PasswordSpan {
  std::size_t colon = 0, at = 0;
};

std::optional<PasswordSpan> find_password(std::string_view proxy) {
  const auto scheme = proxy.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto at = proxy.rfind('@');
  if (at == std::string_view::npos || at < start) return std::nullopt;
  const auto colon = proxy.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::nullopt;
  return PasswordSpan{colon, at};
}

}  // namespace

std::string proxy_password(std::string_view proxy) {
  const auto span = find_password(proxy);
  return span ? std::string(proxy.substr(span->colon + 1, span->at - span->colon - 1)) : "";
}

std::string proxy_without_password(std::string_view proxy) {
  const auto span = find_password(proxy);
  if (!span) return std::string(proxy);
  return std::string(proxy.substr(0, span->colon)) + std::string(proxy.substr(span->at));
}

HelloInfo without_credentials(HelloInfo hello, const std::vector<std::string>& keep) {
  auto kept = [&keep](std::string_view name) {
    return std::find(keep.begin(), keep.end(), name) != keep.end();
  };
  if (hello.config.is_dict()) {
    for (std::string_view name : kCredentialNames) {
      if (kept(name)) continue;
      const auto dot = name.find('.');
      const std::string section(name.substr(0, dot)), key(name.substr(dot + 1));
      Value* values = hello.config.as_dict().find(section);
      if (values == nullptr || !values->is_dict()) continue;
      Value* value = values->as_dict().find(key);
      if (value == nullptr) continue;
      if (name == "shotgun.proxy_server" && value->is_string()) {
        *value = proxy_without_password(value->as_string());
      } else {
        values->as_dict().erase(key);
      }
    }
  }
  if (!kept("shotgun.proxy_server") && hello.site.is_dict()) {
    if (Value* proxy = hello.site.as_dict().find("proxy"); proxy && proxy->is_string()) {
      *proxy = proxy_without_password(proxy->as_string());
    }
  }
  return hello;
}

}  // namespace sgeventd::workers
