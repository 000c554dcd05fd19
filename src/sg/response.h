// Turning an HTTP answer into a result or an error, exactly as shotgun_api3's _call_rpc does
// after the retries: status check, content-type, JSON, the exception check, "results".
#pragma once

#include <string>

#include "sgeventd/sg/error.h"
#include "sgeventd/sg/transport.h"
#include "sgeventd/value.h"

namespace sgeventd::sg {

// HTTP status >= 300 as a ProtocolError (503 gets the maintenance text, 403 the body).
Error protocol_error(const std::string& server, const HttpResponse& response);

// The decoded body: JSON (datetimes converted) when the content type says JSON or is missing,
// else the raw text as a string; an empty body is "". A truthy "exception" becomes the fault
// for its error_code; a dict with "results" is unwrapped to it. Never throws, whatever the
// bytes.
Result<Value> decode_response(const HttpResponse& response);

// A transport failure as a client error.
Error transport_error(const TransportError& error);

}  // namespace sgeventd::sg
