// The HTTP seam of the client: one POST at a time over a kept-alive connection. The real one
// uses libcurl (sg/curl_transport.h); tests inject scripted ones.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::sg {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string url;
  HeaderList headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  HeaderList headers;  // names lower-cased
  std::string body;    // decompressed

  // The first header with that (lower-case) name, or "".
  std::string_view header(std::string_view name) const;
};

enum class TransportErrorKind {
  kTimeout,      // connect or request time limit reached
  kConnection,   // refused, reset, closed without an answer, DNS, proxy
  kTls,          // handshake or certificate failure
  kTruncated,    // the connection closed before the whole body arrived
  kTooLarge,     // the body exceeded the configured limit
  kBadEncoding,  // a compressed body that does not decompress
  kOther,
};

struct TransportError {
  TransportErrorKind kind = TransportErrorKind::kOther;
  std::string message;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual ::sgeventd::Expected<HttpResponse, TransportError> post(const HttpRequest& request) = 0;
  // Drops the kept-alive connection; the next post opens a new one.
  virtual void close_connection() {}
};

}  // namespace sgeventd::sg
