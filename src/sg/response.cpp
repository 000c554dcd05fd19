#include "sg/response.h"

#include <algorithm>
#include <cctype>

#include "sgeventd/json.h"

namespace sgeventd::sg {
namespace {

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// Python's str() of a JSON value, for fault messages that are not strings.
std::string message_text(const Value& message) {
  if (const std::string* s = message.if_string()) return *s;
  if (message.is_null()) return "None";
  return to_json(message);
}

Error fault_from(const Dict& response) {
  struct Kind {
    int code;
    ErrorKind kind;
    const char* default_message;
  };
  static constexpr Kind kKinds[] = {
      {102, ErrorKind::kAuthenticationFault, "Unknown Authentication Error"},
      {106, ErrorKind::kMissingTwoFactorAuthenticationFault, "Unknown 2FA Authentication Error"},
      {108, ErrorKind::kUserCredentialsNotAllowedForSSO,
       "Authentication using username/password is not allowed for an SSO-enabled Flow "
       "Production Tracking site"},
      {110, ErrorKind::kUserCredentialsNotAllowedForOxygen,
       "Authentication using username/password is not allowed for an Autodesk Identity "
       "enabled Flow Production Tracking site"},
  };
  const Value& code = response.get("error_code");
  Error error{ErrorKind::kFault, "Unknown Error", 0, 0, {}};
  if (auto c = code.if_int()) error.error_code = static_cast<int>(*c);
  for (const Kind& k : kKinds) {
    if (code == Value(k.code)) {
      error.kind = k.kind;
      error.message = k.default_message;
    }
  }
  if (const Value* message = response.find("message")) error.message = message_text(*message);
  return error;
}

}  // namespace

Error protocol_error(const std::string& server, const HttpResponse& response) {
  std::string reason = response.reason;
  if (response.status == 503) {
    reason =
        "Flow Production Tracking is currently down for maintenance or too busy to reply. "
        "Please try again later.";
  } else if (response.status == 403) {
    reason += ": " + response.body;
  }
  Error error{ErrorKind::kProtocolError,
              "ProtocolError for " + server + ": " + std::to_string(response.status) + " " + reason,
              0, response.status, response.headers};
  return error;
}

Result<Value> decode_response(const HttpResponse& response) {
  if (response.body.empty()) return Value(std::string());
  std::string_view content_type = response.header("content-type");
  if (content_type.empty()) content_type = "application/json";
  if (!starts_with_ci(content_type, "application/json") &&
      !starts_with_ci(content_type, "text/javascript")) {
    return Value(response.body);
  }
  auto parsed = parse_json(response.body, {.datetimes = true});
  if (!parsed) {
    return make_error(ErrorKind::kResponseError,
                      "the server's response is not valid JSON (" + parsed.error().message + ", " +
                          std::to_string(response.body.size()) + " bytes)");
  }
  if (const Dict* dict = parsed->if_dict()) {
    if (dict->get("exception").truthy()) return tl::unexpected(fault_from(*dict));
    if (Value* results = parsed->as_dict().find("results")) return std::move(*results);
  }
  return std::move(*parsed);
}

Error transport_error(const TransportError& error) {
  switch (error.kind) {
    case TransportErrorKind::kTimeout:
      return Error{ErrorKind::kTimeout, error.message, 0, 0, {}};
    case TransportErrorKind::kConnection:
    case TransportErrorKind::kOther:
      return Error{ErrorKind::kConnectionError, error.message, 0, 0, {}};
    case TransportErrorKind::kTls:
      return Error{ErrorKind::kTlsError, error.message, 0, 0, {}};
    case TransportErrorKind::kTruncated:
    case TransportErrorKind::kTooLarge:
    case TransportErrorKind::kBadEncoding:
      return Error{ErrorKind::kResponseError, error.message, 0, 0, {}};
  }
  return Error{ErrorKind::kConnectionError, error.message, 0, 0, {}};
}

}  // namespace sgeventd::sg
