#include "daemon/webhook.h"

#include <algorithm>

#include "sgeventd/json.h"

namespace sgeventd::daemon {
namespace {

// One delivery's id: its own "event_log_entry_id", or that of its "data".
std::int64_t delivery_id(const Value& delivery) {
  const Value* d = &delivery;
  if ((*d)["event_log_entry_id"].is_null() && (*d)["data"].is_dict()) d = &(*d)["data"];
  const Value& id = (*d)["event_log_entry_id"];
  if (id.is_bool()) return 0;
  return id.if_int().value_or(0);
}

}  // namespace

WebhookNews read_webhook(std::string_view body) {
  WebhookNews news;
  auto parsed = parse_json(body);
  if (!parsed || !parsed->is_dict()) return news;
  const Value& data = (*parsed)["data"];
  if (!data.is_dict()) return news;
  if (const List* deliveries = data["deliveries"].if_list()) {
    news.readable = true;
    for (const Value& d : *deliveries) {
      ++news.deliveries;
      news.newest_id = std::max(news.newest_id, delivery_id(d));
    }
    return news;
  }
  const std::int64_t id = delivery_id(data);
  news.readable = id > 0;
  news.deliveries = 1;
  news.newest_id = std::max<std::int64_t>(id, 0);
  return news;
}

}  // namespace sgeventd::daemon
