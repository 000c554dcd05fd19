// Fuzz target: any line a worker writes must parse to a message or a protocol error, never
// crash or hang. And the result fast path (detail::parse_result_fast) must agree with the
// general parser wherever it answers, as protocol.h promises: same seq, same results.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "sgeventd/workers/protocol.h"

namespace {

using namespace sgeventd::workers;

void same_entry(const CallbackResult& a, const CallbackResult& b) {
  if (a.plugin != b.plugin || a.index != b.index || a.ok != b.ok ||
      a.duration_ms != b.duration_ms || a.started != b.started || a.error != b.error ||
      a.traceback != b.traceback || a.locals != b.locals || a.skipped != b.skipped) {
    std::abort();
  }
}

// `general` must be a Result equal to `fast`.
void agrees(const Result& fast, const tl::expected<WorkerMessage, std::string>& general) {
  if (!general) std::abort();  // the fast path accepted a line the general parser refuses
  const auto* r = std::get_if<Result>(&*general);
  if (!r) std::abort();
  if (r->seq != fast.seq || r->results.size() != fast.results.size()) std::abort();
  for (std::size_t i = 0; i < r->results.size(); ++i) same_entry(fast.results[i], r->results[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  auto message = parse_worker_message(line);
  if (!message) {
    if (message.error().empty()) std::abort();  // an error says what was wrong
  } else if (const auto* unknown = std::get_if<UnknownMessage>(&*message)) {
    (void)unknown->type.size();
  }

  if (auto fast = detail::parse_result_fast(line)) {
    agrees(*fast, message);
    // parse_worker_message itself takes the fast path for lines starting {"type":"result";
    // a leading space sends the same line through parse_json and the field readers instead.
    agrees(*fast, parse_worker_message(" " + std::string(line)));
  }
  return 0;
}
