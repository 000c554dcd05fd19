// The JSON a ShotGrid site POSTs for each EventLogEntry it writes (a "webhook delivery",
// sg-protocol.md section 11 item (l)), built from the sandbox's event records. Kept apart
// from the sender (webhook_sender.h) so the format is tested without sockets or threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/event_log.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

// One event as it waits in the sender's queue. Taken from the store at commit time, under its
// lock, so it copies the pool's strings out; the meta text is parsed later, on the sender's
// thread, to keep that work off the write path.
struct PendingDelivery {
  Dict data;         // the delivery's "data" object without "meta", in the site's key order
  std::string meta;  // the event's meta as compact JSON
};

// "create" for _New, "update" for _Change, "delete" for _Retirement, "revive" for _Revival;
// empty for any other (custom) event type, whose delivery then has no "operation" key.
std::string_view webhook_operation(std::string_view event_type);

// `webhook_number` is the first part of the delivery id "<webhook number>.<event id>.0".
PendingDelivery make_pending_delivery(const EventRecord& record, const StringPool& pool,
                                      std::int64_t webhook_number);

// The complete "data" object of one delivery (meta parsed and appended).
Value delivery_data(PendingDelivery delivery);

// {"data": <delivery data>, "timestamp": "YYYY-MM-DDTHH:MM:SSZ"}
std::string single_delivery_body(Value data, std::chrono::system_clock::time_point now);
// {"timestamp": "YYYY-MM-DDTHH:MM:SS.mmmZ", "data": {"deliveries": [<delivery data>...]}}
std::string batched_delivery_body(List deliveries, std::chrono::system_clock::time_point now);

// "YYYY-MM-DD HH:MM:SS.ffffff", UTC: the delivery's created_at (events keep whole seconds, so
// the fraction is zeros).
std::string webhook_created_at(std::int64_t unix_seconds);

}  // namespace sgeventd::sandbox
