#include "source/fake_event_log.h"

namespace sgeventd::source {
namespace {

Value make_event(std::int64_t id) {
  return Dict{{"type", "EventLogEntry"},
              {"id", static_cast<long long>(id)},
              {"event_type", "Shotgun_Shot_Change"},
              {"attribute_name", "code"}};
}

// Whether id satisfies one recheck condition: ["id", "in", [..]] or ["id", "between", a, b].
bool satisfies(std::int64_t id, const Value& condition) {
  const List& c = condition.as_list();
  if (c[1] == Value("in")) {
    for (const Value& v : c[2].as_list()) {
      if (v == Value(static_cast<long long>(id))) return true;
    }
    return false;
  }
  return id >= c[2].as_int() && id <= c[3].as_int();
}

}  // namespace

void FakeEventLog::add(std::int64_t id,
                       std::optional<std::chrono::system_clock::time_point> visible_at) {
  events_[id] = visible_at.value_or(clock_.wall_now());
}

bool FakeEventLog::visible(std::int64_t id) const {
  auto it = events_.find(id);
  return it != events_.end() && it->second <= clock_.wall_now();
}

std::optional<sg::Error> FakeEventLog::failure() {
  if (failures_ <= 0) return std::nullopt;
  --failures_;
  return sg::Error{sg::ErrorKind::kProtocolError, "503 Service Unavailable", 0, 503, {}};
}

sg::Result<List> FakeEventLog::read_after(std::int64_t after_id, int limit) {
  ++read_after_calls;
  if (auto f = failure()) return tl::unexpected(*f);
  List out;
  for (auto it = events_.upper_bound(after_id); it != events_.end(); ++it) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (shown(it->first)) out.push_back(make_event(it->first));
  }
  rows_returned += static_cast<std::int64_t>(out.size());
  return out;
}

sg::Result<List> FakeEventLog::read_between(std::int64_t after_id, std::int64_t upto, int limit) {
  auto page = read_after(after_id, limit);
  if (!page) return page;
  List out;
  for (Value& e : *page) {
    if (e["id"].as_int() <= upto) out.push_back(std::move(e));
  }
  return out;
}

sg::Result<List> FakeEventLog::read_matching(const List& any_of, int limit) {
  ++read_matching_calls;
  if (auto f = failure()) return tl::unexpected(*f);
  List out;
  for (const auto& [id, when] : events_) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (!shown(id)) continue;
    for (const Value& condition : any_of) {
      if (satisfies(id, condition)) {
        out.push_back(make_event(id));
        break;
      }
    }
  }
  rows_returned += static_cast<std::int64_t>(out.size());
  return out;
}

sg::Result<std::vector<std::int64_t>> FakeEventLog::ids_between(std::int64_t after_id,
                                                                std::int64_t upto, int limit) {
  ++id_reads;
  if (auto f = failure()) return tl::unexpected(*f);
  std::vector<std::int64_t> out;
  for (auto it = events_.upper_bound(after_id); it != events_.end() && it->first <= upto; ++it) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (visible(it->first)) out.push_back(it->first);
  }
  return out;
}

sg::Result<std::vector<std::int64_t>> FakeEventLog::ids_matching(const List& any_of, int limit) {
  ++id_reads;
  if (auto f = failure()) return tl::unexpected(*f);
  std::vector<std::int64_t> out;
  for (const auto& [id, when] : events_) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (!visible(id)) continue;
    for (const Value& condition : any_of) {
      if (satisfies(id, condition)) {
        out.push_back(id);
        break;
      }
    }
  }
  return out;
}

sg::Result<std::int64_t> FakeEventLog::newest_id() {
  std::int64_t newest = 0;
  for (const auto& [id, when] : events_) {
    if (visible(id)) newest = id;
  }
  return newest;
}

}  // namespace sgeventd::source
