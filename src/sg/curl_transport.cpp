#include "sg/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace sgeventd::sg {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

TransportErrorKind classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return TransportErrorKind::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return TransportErrorKind::kTls;
    case CURLE_PARTIAL_FILE:
      return TransportErrorKind::kTruncated;
    case CURLE_BAD_CONTENT_ENCODING:
      return TransportErrorKind::kBadEncoding;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_PROXY:
      return TransportErrorKind::kConnection;
    default:
      return TransportErrorKind::kOther;
  }
}

}  // namespace

struct CurlTransport::Impl {
  CurlTransportOptions options;
  CURL* handle = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
  HttpResponse response;
  bool too_large = false;

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Impl*>(user);
    const size_t n = size * count;
    if (self->response.body.size() + n > self->options.max_response_bytes) {
      self->too_large = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    self->response.body.append(data, n);
    return n;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Impl*>(user);
    const size_t n = size * count;
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line (after a 100 Continue, or a proxy's answer): start over.
      self->response.headers.clear();
      self->response.reason.clear();
      const auto first_space = line.find(' ');
      const auto second_space =
          first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
      if (second_space != std::string_view::npos) {
        self->response.reason = std::string(line.substr(second_space + 1));
      }
      return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    self->response.headers.emplace_back(std::move(name), std::string(value));
    return n;
  }

  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* impl = static_cast<const Impl*>(self);
    return impl->options.cancel && impl->options.cancel->load() ? 1 : 0;
  }

  void open() {
    handle = curl_easy_init();
    if (options.cancel) {
      curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &Impl::on_progress);
      curl_easy_setopt(handle, CURLOPT_XFERINFODATA, this);
      curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, this);
    // What httplib2 sends and decodes; libcurl then decompresses for us.
    curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
    // HTTP/1.1 with keep-alive, as the official client speaks it.
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    if (options.connect_timeout.count() > 0) {
      curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(options.connect_timeout.count()));
    }
    if (options.request_timeout.count() > 0) {
      curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                       static_cast<long>(options.request_timeout.count()));
    }
    if (!options.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
    if (!options.verify_tls) {
      curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (options.proxy) {
      const std::string proxy_url =
          "http://" + options.proxy->host + ":" + std::to_string(options.proxy->port);
      curl_easy_setopt(handle, CURLOPT_PROXY, proxy_url.c_str());
      if (!options.proxy->user.empty()) {
        curl_easy_setopt(handle, CURLOPT_PROXYUSERNAME, options.proxy->user.c_str());
        curl_easy_setopt(handle, CURLOPT_PROXYPASSWORD, options.proxy->password.c_str());
      }
    } else {
      // Only the configured proxy is used: not http_proxy and friends from the environment.
      curl_easy_setopt(handle, CURLOPT_PROXY, "");
    }
  }
};

CurlTransport::CurlTransport(CurlTransportOptions options) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->options = std::move(options);
  impl_->open();
}

CurlTransport::~CurlTransport() {
  if (impl_ && impl_->handle) curl_easy_cleanup(impl_->handle);
}

void CurlTransport::close_connection() {
  // A fresh handle drops the connection cache of the old one.
  curl_easy_cleanup(impl_->handle);
  impl_->open();
}

::sgeventd::Expected<HttpResponse, TransportError> CurlTransport::post(const HttpRequest& request) {
  CURL* h = impl_->handle;
  impl_->response = HttpResponse{};
  impl_->too_large = false;
  impl_->error_buffer[0] = '\0';

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // libcurl's own additions that the official client does not send.
  headers = curl_slist_append(headers, "Accept:");
  headers = curl_slist_append(headers, "Expect:");

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  const CURLcode code = curl_easy_perform(h);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);

  if (code != CURLE_OK) {
    TransportError error;
    if (impl_->too_large) {
      error.kind = TransportErrorKind::kTooLarge;
      error.message =
          "response larger than " + std::to_string(impl_->options.max_response_bytes) + " bytes";
    } else {
      error.kind = classify(code);
      error.message = impl_->error_buffer[0] ? impl_->error_buffer : curl_easy_strerror(code);
    }
    // After a failure the connection's state is unknown: never reuse it.
    close_connection();
    return tl::unexpected(std::move(error));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  impl_->response.status = static_cast<int>(status);
  return std::move(impl_->response);
}

std::string CurlTransport::ssl_version() {
  global_init();
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  return info && info->ssl_version ? info->ssl_version : "none";
}

}  // namespace sgeventd::sg
