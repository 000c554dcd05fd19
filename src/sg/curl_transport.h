// The real transport: libcurl, one easy handle and so one kept-alive connection per client,
// gzip/deflate accepted and decoded, optional proxy, timeouts and TLS settings.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "sg/endpoint.h"
#include "sgeventd/sg/transport.h"

namespace sgeventd::sg {

struct CurlTransportOptions {
  std::optional<Proxy> proxy;
  std::chrono::milliseconds connect_timeout{0};  // 0: libcurl's default connect limit
  std::chrono::milliseconds request_timeout{0};  // 0: none
  std::string ca_file;
  bool verify_tls = true;
  std::size_t max_response_bytes = std::size_t{512} << 20;
  // When it becomes true, a request in progress ends within ~100 ms as a connection error
  // (the daemon's stop must not wait for a hung site).
  std::shared_ptr<const std::atomic<bool>> cancel;
};

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  ::sgeventd::Expected<HttpResponse, TransportError> post(const HttpRequest& request) override;
  void close_connection() override;

  // The TLS library libcurl uses, e.g. "OpenSSL/3.0.19", for the user agent.
  static std::string ssl_version();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgeventd::sg
