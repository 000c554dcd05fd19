// Test controls (only with --test-controls; docs/sandbox.md): fault injection on the api3
// endpoint, request counters, and the event-log manipulations that reproduce what a daemon
// must survive (transaction gaps, bulk and steady load).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "sandbox/event_writer.h"
#include "sandbox/fault.h"
#include "sandbox/store.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

struct FaultPlan {
  enum class Kind { kStatus, kHang, kClose, kReset, kTruncate, kNotJson, kBadJson, kSlow };
  Kind kind = Kind::kStatus;
  int status = 503;
  int retry_after = -1;                // seconds, for 429 and 503 (Retry-After header)
  std::chrono::milliseconds delay{0};  // slow: added latency; hang: how long (default 60 s)
  int remaining = 1;                   // requests still to fault; -1: until `until`
  std::chrono::steady_clock::time_point until{};
  std::set<std::string> methods;  // empty: every method
  bool after = false;             // run the request first, then fail the reply

  static Expected<FaultPlan> parse(const Dict& params);
};

// Counts api3 requests by method and hands out queued faults. Thread-safe.
class FaultInjector {
 public:
  void add(FaultPlan plan);
  void clear();
  // Counts the request and returns the fault to apply to it, if any.
  std::optional<FaultPlan> on_request(const std::string& method);
  Value counters() const;
  void reset_counters();
  // The body of an answer sent (before compression): counters' "reply_bytes".
  void count_reply(std::size_t bytes);

 private:
  mutable std::mutex mutex_;
  std::deque<FaultPlan> plans_;
  std::map<std::string, std::uint64_t> by_method_;
  std::uint64_t total_ = 0;
  std::uint64_t faults_ = 0;
  std::uint64_t reply_bytes_ = 0;
};

// The method_name of an api3 body, found without parsing it all ("" when absent).
std::string sniff_method(std::string_view body);

// {"count", "entity_type"?, "entity_id"?}: writes `count` Shotgun_<Type>_Change events about
// one entity (made if needed), fast, in one transaction. Returns {"first_id","last_id",...}.
Expected<Value> generate_events(Store& store, const Actor& actor, std::chrono::sys_seconds now,
                                const Dict& params);

// {"ids": [...], "event_type"?, "entity"?, "project"?, "meta"?, "description"?}: publishes
// events under reserved ids (a late transaction committing).
Expected<Value> commit_reserved(Store& store, const Actor& actor, std::chrono::sys_seconds now,
                                const Dict& params);

}  // namespace sgeventd::sandbox
