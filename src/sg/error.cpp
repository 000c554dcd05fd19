#include "sgeventd/sg/error.h"

#include "sgeventd/sg/transport.h"

namespace sgeventd::sg {

const char* kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "ValueError";
    case ErrorKind::kShotgunError:
      return "ShotgunError";
    case ErrorKind::kFault:
      return "Fault";
    case ErrorKind::kAuthenticationFault:
      return "AuthenticationFault";
    case ErrorKind::kMissingTwoFactorAuthenticationFault:
      return "MissingTwoFactorAuthenticationFault";
    case ErrorKind::kUserCredentialsNotAllowedForSSO:
      return "UserCredentialsNotAllowedForSSOAuthenticationFault";
    case ErrorKind::kUserCredentialsNotAllowedForOxygen:
      return "UserCredentialsNotAllowedForOxygenAuthenticationFault";
    case ErrorKind::kProtocolError:
      return "ProtocolError";
    case ErrorKind::kResponseError:
      return "ResponseError";
    case ErrorKind::kTimeout:
      return "Timeout";
    case ErrorKind::kConnectionError:
      return "ConnectionError";
    case ErrorKind::kTlsError:
      return "TlsError";
  }
  return "Error";
}

bool Error::is_fault() const {
  switch (kind) {
    case ErrorKind::kFault:
    case ErrorKind::kAuthenticationFault:
    case ErrorKind::kMissingTwoFactorAuthenticationFault:
    case ErrorKind::kUserCredentialsNotAllowedForSSO:
    case ErrorKind::kUserCredentialsNotAllowedForOxygen:
      return true;
    default:
      return false;
  }
}

bool Error::is_transport() const {
  return kind == ErrorKind::kTimeout || kind == ErrorKind::kConnectionError ||
         kind == ErrorKind::kTlsError;
}

std::string Error::describe() const { return std::string(kind_name(kind)) + ": " + message; }

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

}  // namespace sgeventd::sg
