// Fuzz target: any bytes the server might send must decode to a value or a typed error, never
// crash, hang or leak; and whatever decodes must survive a write/parse round trip unchanged.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "sg/response.h"
#include "sgeventd/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sgeventd;
  sg::HttpResponse response;
  response.status = 200;
  response.headers.emplace_back("content-type", "application/json");
  response.body.assign(reinterpret_cast<const char*>(data), size);
  (void)sg::decode_response(response);

  auto parsed = parse_json(response.body, {.datetimes = true});
  if (parsed) {
    const std::string written = to_json(*parsed);
    auto again = parse_json(written, {.datetimes = true});
    if (!again || !(*again == *parsed)) std::abort();  // the round trip lost something
  }
  return 0;
}
