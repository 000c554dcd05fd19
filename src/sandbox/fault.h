// Errors the sandbox answers with: the api3 fault JSON {"exception": true, "error_code",
// "message"} that sites send with HTTP 200 (sg-protocol.md section 2). Every layer returns
// them as values (tl::expected), so a bad request can never turn into an HTTP 500.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::sandbox {

// error_code values the sandbox sends (sg-protocol.md section 3).
constexpr int kFaultAuthentication = 102;   // bad script, key, login or session
constexpr int kFaultValidation = 103;       // bad field, type, operator or value
constexpr int kFaultUnknownMethod = 10000;  // what sgmock answers for a method it lacks

struct Fault {
  int error_code = kFaultValidation;
  std::string message;
};

template <typename T>
using Expected = ::sgeventd::Expected<T, Fault>;

inline tl::unexpected<Fault> fault(std::string message, int error_code = kFaultValidation) {
  return tl::unexpected(Fault{error_code, std::move(message)});
}

}  // namespace sgeventd::sandbox
