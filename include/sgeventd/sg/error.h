// Errors of the ShotGrid client, one kind per class the official client raises
// (sg-protocol.md section 3), plus the transport failures it lets escape.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::sg {

enum class ErrorKind {
  kInvalidArgument,      // the call itself is wrong (Python ValueError); nothing was sent
  kShotgunError,         // refused by the client: unsupported by the server's version, bad filters
  kFault,                // the server answered {"exception": true} with another or no error_code
  kAuthenticationFault,  // error_code 102
  kMissingTwoFactorAuthenticationFault,  // error_code 106
  kUserCredentialsNotAllowedForSSO,      // error_code 108
  kUserCredentialsNotAllowedForOxygen,   // error_code 110 (Autodesk Identity)
  kProtocolError,                        // HTTP status >= 300 (after the 502/504 retries)
  kResponseError,    // a body the protocol does not allow: not JSON, truncated, too large,
                     // missing keys
  kTimeout,          // no answer within the configured time; never retried by the client
  kConnectionError,  // refused, reset, DNS, proxy failures; never retried by the client
  kTlsError,         // TLS handshake or certificate failure, after 3 attempts
};

struct Error {
  ErrorKind kind = ErrorKind::kFault;
  std::string message;
  int error_code = 0;                                        // the server's error_code for faults
  int http_status = 0;                                       // for protocol errors
  std::vector<std::pair<std::string, std::string>> headers;  // response headers, lower-cased

  // True for every fault kind (the server refused the request).
  bool is_fault() const;
  // True for timeouts, connection and TLS errors: the request may or may not have run.
  bool is_transport() const;
  // "<Kind>: <message>"; never contains credentials.
  std::string describe() const;
};

// The official client's class name for a kind ("AuthenticationFault", "ProtocolError", ...).
const char* kind_name(ErrorKind kind);

template <typename T>
using Result = Expected<T, Error>;

inline tl::unexpected<Error> make_error(ErrorKind kind, std::string message) {
  return tl::unexpected(Error{kind, std::move(message), 0, 0, {}});
}

}  // namespace sgeventd::sg
