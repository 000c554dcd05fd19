// The worker protocol v1 (docs/plugin-protocol.md) as C++ types: what the daemon writes and
// what it accepts back. Pure functions on lines; no I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "sgeventd/value.h"

namespace sgeventd::workers {

inline constexpr int kProtocolVersion = 1;

// ---- daemon to worker ----

struct HelloInfo {
  std::string daemon = "sgeventd";  // "sgeventd 0.1.0"
  Value site = Dict{};              // {"url", "proxy", "use_session_uuid"}
  Value config = Dict{};            // config sections as strings
  std::string worker_id;            // plugin path (per=plugin) or folder (per=path)
  std::string worker_per = "plugin";
  // The timing log is on: result entries should say when each callback started.
  bool timing = false;
};

struct PluginRef {
  std::string name;  // file name without extension
  std::string path;
  // Where the worker notes the events it finished (feature "completions", completion_log.h);
  // sent in `load` only to a worker that has the feature.
  std::string completions;
};

// One callback an event is for: event.callbacks[] in the protocol.
struct CallbackRef {
  std::string plugin;
  int index = 0;
  friend bool operator==(const CallbackRef&, const CallbackRef&) = default;
};

std::string encode_hello(const HelloInfo& hello);
std::string encode_load(const PluginRef& plugin);
// `event_json` is the EventLogEntry already serialized (compact JSON): the dispatcher
// serializes an event once and sends it to every worker it matches.
std::string encode_event(std::uint64_t seq, bool late, std::string_view event_json,
                         const std::vector<CallbackRef>& callbacks);
// The same, appended to `out` (the worker's output buffer).
void append_event(std::string& out, std::uint64_t seq, bool late, std::string_view event_json,
                  const std::vector<CallbackRef>& callbacks);
std::string encode_ping(std::uint64_t seq);
std::string encode_shutdown(std::int64_t grace_ms);

// ---- worker to daemon ----

struct WorkerHello {
  int protocol = 0;
  std::string worker;   // "sgeventd-python-worker 0.1.0"
  std::string runtime;  // optional
  // Optional abilities (docs/plugin-protocol.md): "stop_on_error" = the worker itself stops a
  // plugin whose stopOnError callback raised, so the daemon may keep pipelining to it.
  // "completions" = it notes each finished event in the file `load` names (completion_log.h).
  std::vector<std::string> features;
  bool has_feature(std::string_view name) const {
    for (const auto& f : features)
      if (f == name) return true;
    return false;
  }
};

struct CallbackInfo {
  int index = 0;
  std::string name;
  Value match_events;  // null or {} = every event (dispatch::EventMatcher reads it)
  bool stop_on_error = true;
  std::string script_name;
};

struct Loaded {
  std::string plugin;
  Value emails = true;  // true, false, or a list of addresses
  std::vector<CallbackInfo> callbacks;
  // Strings the daemon masks in everything it writes from now on: the script keys the plugin
  // registered its callbacks with (the worker has them; the daemon would not know them).
  std::vector<std::string> secrets;
};

struct LoadFailed {
  std::string plugin;
  std::string error;
  std::string traceback;
  std::vector<std::string> secrets;  // as Loaded::secrets: keys registered before the failure
};

struct CallbackResult {
  std::string plugin;
  int index = 0;
  bool ok = true;
  double duration_ms = 0;
  // When the callback started, in seconds since the epoch by the worker's clock; 0 when the
  // worker did not say (it is asked to only while the timing log is on).
  double started = 0;
  std::string error;      // when !ok
  std::string traceback;  // when !ok
  std::string locals;     // when !ok, if the worker knows them
  bool skipped = false;   // not run: its plugin stopped after an error (feature stop_on_error)
};

struct Result {
  std::uint64_t seq = 0;
  std::vector<CallbackResult> results;
};

struct Pong {
  std::uint64_t seq = 0;
};

struct LogMessage {
  std::string plugin;
  std::string logger;
  int level = 20;  // Python's numbers
  std::string message;
  double time = 0;            // seconds since the epoch; 0 when the worker did not say
  std::int64_t event_id = 0;  // the event whose callback logged it; 0: none said
};

struct Bye {};

struct ErrorMessage {
  std::string message;
};

// A type this daemon does not know (a newer worker's): logged and ignored, so workers can add
// messages without breaking older daemons.
struct UnknownMessage {
  std::string type;
};

using WorkerMessage = std::variant<WorkerHello, Loaded, LoadFailed, Result, Pong, LogMessage, Bye,
                                   ErrorMessage, UnknownMessage>;

// Parses one line from a worker. An error (not JSON, not an object, no type, a required key
// missing or of the wrong type) is a protocol error; its text says what was wrong.
::sgeventd::Expected<WorkerMessage, std::string> parse_worker_message(std::string_view line);

namespace detail {
// The common result line ({"type":"result","seq":N,"results":[{plugin, index, ok,
// duration_ms}...]}, plain ASCII strings) read without building a Value: results are most of
// what the daemon reads, so this halves its CPU per event. nullopt for anything else, which
// then takes the general path; for what it accepts it agrees with parse_worker_message.
std::optional<Result> parse_result_fast(std::string_view line);
}  // namespace detail

}  // namespace sgeventd::workers
