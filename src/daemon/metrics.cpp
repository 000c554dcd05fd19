#include "daemon/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "daemon/status_fields.h"

namespace sgeventd::daemon {
namespace {

// The plugin states a state-set metric has one series for (1 for the current one).
constexpr const char* kPluginStates[] = {"active", "deactivated", "not loaded", "waiting"};
constexpr const char* kWorkerStates[] = {"starting", "running", "restarting", "quarantined"};

}  // namespace

std::string metrics_text(const Value& status, const std::string& version) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  prometheus::Registry registry;
  BuildGauge()
      .Name("sgeventd_build_info")
      .Help("Always 1; the version in a label")
      .Register(registry)
      .Add({{"version", version}})
      .Set(1);
  if (status.is_dict()) {
    auto gauge = [&](const char* name, const char* help, double value) {
      BuildGauge().Name(name).Help(help).Register(registry).Add({}).Set(value);
    };
    gauge("sgeventd_feed_head_event_id", "The newest event id the poll has read",
          field_number(status["feed_head"]));
    gauge("sgeventd_poll_failures", "Failed reads of the event log in a row (0: reading)",
          field_number(status["poll_failures"]));
    gauge("sgeventd_site_read_seconds", "How long the read in progress has taken, once slow",
          field_number(status["site_read_s"]));
    gauge("sgeventd_state_writable", "1 while the state commits, 0 while it cannot be written",
          status["state_writable"].is_bool() ? field_number(status["state_writable"]) : 1.0);
    BuildCounter()
        .Name("sgeventd_site_requests_total")
        .Help("api3 requests made to read the event log")
        .Register(registry)
        .Add({})
        .Increment(field_number(status["requests"]));

    auto& handled = BuildCounter()
                        .Name("sgeventd_plugin_events_handled_total")
                        .Help("Events whose callbacks ran, per plugin")
                        .Register(registry);
    auto& errors = BuildCounter()
                       .Name("sgeventd_plugin_callback_errors_total")
                       .Help("Callbacks that failed, per plugin")
                       .Register(registry);
    auto& letters = BuildCounter()
                        .Name("sgeventd_plugin_dead_letters_total")
                        .Help("Events parked as dead letters, per plugin")
                        .Register(registry);
    auto& cursor = BuildGauge()
                       .Name("sgeventd_plugin_cursor_event_id")
                       .Help("The id every event up to which the plugin has resolved")
                       .Register(registry);
    auto& committed = BuildGauge()
                          .Name("sgeventd_plugin_committed_event_id")
                          .Help("The cursor as last written to the state (a restart resumes there)")
                          .Register(registry);
    auto& lag = BuildGauge()
                    .Name("sgeventd_plugin_lag_event_ids")
                    .Help("Event ids between the feed's head and the plugin's cursor")
                    .Register(registry);
    auto& queued = BuildGauge()
                       .Name("sgeventd_plugin_queued_events")
                       .Help("Events waiting for the plugin's worker")
                       .Register(registry);
    auto& in_flight = BuildGauge()
                          .Name("sgeventd_plugin_in_flight_events")
                          .Help("Events sent to the worker and not answered yet")
                          .Register(registry);
    auto& state = BuildGauge()
                      .Name("sgeventd_plugin_state")
                      .Help("1 for the plugin's state (active, deactivated, not loaded, waiting)")
                      .Register(registry);
    auto& worker = BuildGauge()
                       .Name("sgeventd_plugin_worker_state")
                       .Help("1 for the state of the plugin's worker process")
                       .Register(registry);
    if (const List* plugins = status["plugins"].if_list()) {
      for (const Value& p : *plugins) {
        const std::string name = field_text(p["name"]);
        const prometheus::Labels labels{{"plugin", name}};
        handled.Add(labels).Increment(field_number(p["handled"]));
        errors.Add(labels).Increment(field_number(p["errors"]));
        letters.Add(labels).Increment(field_number(p["dead_letters"]));
        cursor.Add(labels).Set(field_number(p["cursor"]));
        committed.Add(labels).Set(field_number(p["committed"]));
        lag.Add(labels).Set(field_number(p["lag"]));
        queued.Add(labels).Set(field_number(p["queued"]));
        in_flight.Add(labels).Set(field_number(p["in_flight"]));
        for (const char* s : kPluginStates) {
          state.Add({{"plugin", name}, {"state", s}}).Set(field_text(p["state"]) == s ? 1 : 0);
        }
        if (!p["worker"].is_null()) {
          for (const char* s : kWorkerStates) {
            worker.Add({{"plugin", name}, {"state", s}}).Set(field_text(p["worker"]) == s ? 1 : 0);
          }
        }
      }
    }
  }
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace sgeventd::daemon
