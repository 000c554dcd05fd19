#include "sandbox/webhook_payload.h"

#include <cstdio>

#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// "YYYY-MM-DDTHH:MM:SSZ", the api3 wire form: the base of every time a delivery carries.
std::string wire_time(std::int64_t unix_seconds) {
  return DateTime{std::chrono::sys_seconds(std::chrono::seconds(unix_seconds))}.to_wire();
}

// Sites write links in webhooks as {"id", "type"}, without the "name" a read adds.
Value site_link(const Value& ref) {
  if (!ref.is_entity()) return Value();
  return Dict{{"id", ref["id"]}, {"type", ref["type"]}};
}

}  // namespace

std::string_view webhook_operation(std::string_view event_type) {
  if (ends_with(event_type, "_New")) return "create";
  if (ends_with(event_type, "_Change")) return "update";
  if (ends_with(event_type, "_Retirement")) return "delete";
  if (ends_with(event_type, "_Revival")) return "revive";
  return {};
}

std::string webhook_created_at(std::int64_t unix_seconds) {
  std::string text = wire_time(unix_seconds);  // "YYYY-MM-DD HH:MM:SS.000000"
  text[10] = ' ';
  text.back() = '.';
  return text + "000000";
}

PendingDelivery make_pending_delivery(const EventRecord& record, const StringPool& pool,
                                      std::int64_t webhook_number) {
  // The same accessors a read of EventLogEntry uses, so the values match what a poll returns.
  // Links are taken as written (not resolved): a Retirement still names its entity, as the
  // site's delivery does, although a later read shows it as null.
  const EventView view(record, pool);
  const Value event_type = view.get("event_type");
  PendingDelivery d;
  d.data.reserve(11);
  d.data.append("id", std::to_string(webhook_number) + "." + std::to_string(record.id) + ".0");
  d.data.append("event_log_entry_id", Value(static_cast<long long>(record.id)));
  d.data.append("event_type", event_type);
  const std::string_view operation =
      webhook_operation(event_type.is_string() ? event_type.as_string() : std::string());
  if (!operation.empty()) d.data.append("operation", Value(operation));
  d.data.append("attribute_name", view.get("attribute_name"));
  d.data.append("created_at", webhook_created_at(record.created_at));
  d.data.append("session_uuid", view.get("session_uuid"));
  d.data.append("user", site_link(view.get("user")));
  d.data.append("entity", site_link(view.get("entity")));
  d.data.append("project", site_link(view.get("project")));
  d.meta = record.meta;
  return d;
}

Value delivery_data(PendingDelivery delivery) {
  // Parsed as EventView::get("meta") parses it: strings stay strings.
  auto meta = parse_json(delivery.meta);
  delivery.data.append("meta", meta ? std::move(*meta) : Value());
  return Value(std::move(delivery.data));
}

std::string single_delivery_body(Value data, std::chrono::system_clock::time_point now) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
  const Value body =
      Dict{{"data", std::move(data)}, {"timestamp", wire_time(seconds.time_since_epoch().count())}};
  return to_json(body, kCompactJson);
}

std::string batched_delivery_body(List deliveries, std::chrono::system_clock::time_point now) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - seconds).count();
  char fraction[16];
  std::snprintf(fraction, sizeof(fraction), ".%03dZ", static_cast<int>(millis));
  std::string timestamp = wire_time(seconds.time_since_epoch().count());
  timestamp.pop_back();  // the "Z", after the milliseconds
  const Value body = Dict{{"timestamp", timestamp + fraction},
                          {"data", Dict{{"deliveries", std::move(deliveries)}}}};
  return to_json(body, kCompactJson);
}

}  // namespace sgeventd::sandbox
