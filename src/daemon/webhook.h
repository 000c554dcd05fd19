// What a verified webhook delivery says (docs/webhooks.md): only which event ids it names.
// The daemon takes no event from a webhook: the ids tell the poller what to look for, and
// the events come from its read of the event log, so a lost, late, repeated or forged
// delivery can neither lose nor invent one.
#pragma once

#include <cstdint>
#include <string_view>

namespace sgeventd::daemon {

struct WebhookNews {
  int deliveries = 0;          // events the body names (a batch names up to 50)
  std::int64_t newest_id = 0;  // the highest event_log_entry_id named; 0: none
  bool readable = false;       // false: not the site's format (still a wake-up if signed)
};

// Both of the site's formats: one delivery {"data": {"event_log_entry_id": N, ...}} and a
// batch {"data": {"deliveries": [{"event_log_entry_id": N, ...}, ...]}} (each delivery may
// also come wrapped in its own {"data": ...}).
WebhookNews read_webhook(std::string_view body);

}  // namespace sgeventd::daemon
