#include "daemon/metrics.h"

#include <initializer_list>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "daemon/status_fields.h"

namespace sgeventd::daemon {
namespace {

// One series per plugin, read from the plugin's status field of the same meaning.
struct PluginSeries {
  const char* name;
  const char* help;
  const char* field;
};

constexpr PluginSeries kPluginCounters[] = {
    {"sgeventd_plugin_events_handled_total", "Events whose callbacks ran, per plugin", "handled"},
    {"sgeventd_plugin_callback_errors_total", "Callbacks that failed, per plugin", "errors"},
    {"sgeventd_plugin_dead_letters_total", "Events parked as dead letters, per plugin",
     "dead_letters"},
    {"sgeventd_plugin_retries_total", "Failed events sent again by the retry policy, per plugin",
     "retries"},
    {"sgeventd_plugin_worker_restarts_total",
     "Worker processes started after the first (crashes, reloads, limits), per plugin",
     "worker_restarts"},
};

constexpr PluginSeries kPluginGauges[] = {
    {"sgeventd_plugin_cursor_event_id", "The id every event up to which the plugin has resolved",
     "cursor"},
    {"sgeventd_plugin_committed_event_id",
     "The cursor as last written to the state (a restart resumes there)", "committed"},
    {"sgeventd_plugin_lag_event_ids", "Event ids between the feed's head and the plugin's cursor",
     "lag"},
    {"sgeventd_plugin_queued_events", "Events waiting for the plugin's worker", "queued"},
    {"sgeventd_plugin_lag_events",
     "Matching events read and not resolved yet (queued, at the worker, or to be retried)",
     "in_flight"},
    {"sgeventd_plugin_gap_event_ids",
     "Missing event ids below the cursor the plugin still waits for (open gaps)", "gaps"},
};

// A histogram from the status' {"bounds", "counts" (per bucket, +Inf last), "sum"}; false
// when the field is not one.
bool observe_histogram(prometheus::Family<prometheus::Histogram>& family,
                       const prometheus::Labels& labels, const Value& h) {
  const List* bounds = h["bounds"].if_list();
  const List* counts = h["counts"].if_list();
  if (!bounds || !counts || counts->size() != bounds->size() + 1) return false;
  prometheus::Histogram::BucketBoundaries b;
  for (const Value& v : *bounds) b.push_back(field_number(v));
  std::vector<double> increments;
  for (const Value& v : *counts) increments.push_back(field_number(v));
  family.Add(labels, b).ObserveMultiple(increments, field_number(h["sum"]));
  return true;
}

// A state set: one series per possible state of `field`, 1 for the current one.
struct PluginStateSet {
  const char* name;
  const char* help;
  const char* field;
  std::initializer_list<const char*> states;
};

const PluginStateSet kPluginStateSets[] = {
    {"sgeventd_plugin_state",
     "1 for the plugin's state (active, deactivated, disabled, not loaded, waiting)",
     "state",
     {"active", "deactivated", "disabled", "not loaded", "waiting"}},
    {"sgeventd_plugin_worker_state",
     "1 for the state of the plugin's worker process",
     "worker",
     {"starting", "running", "restarting", "quarantined"}},
};

void add_plugins(prometheus::Registry& registry, const List& plugins) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  for (const PluginSeries& series : kPluginCounters) {
    auto& family = BuildCounter().Name(series.name).Help(series.help).Register(registry);
    for (const Value& p : plugins) {
      family.Add({{"plugin", field_text(p["name"])}}).Increment(field_number(p[series.field]));
    }
  }
  for (const PluginSeries& series : kPluginGauges) {
    auto& family = BuildGauge().Name(series.name).Help(series.help).Register(registry);
    for (const Value& p : plugins) {
      family.Add({{"plugin", field_text(p["name"])}}).Set(field_number(p[series.field]));
    }
  }
  // Only where it is known (see the status' lag_seconds): 0 would claim it keeps up.
  auto& lag_seconds = BuildGauge()
                          .Name("sgeventd_plugin_lag_seconds")
                          .Help(
                              "The newest event read minus the newest the plugin is done "
                              "with, by their created_at")
                          .Register(registry);
  for (const Value& p : plugins) {
    if (p["lag_seconds"].is_number()) {
      lag_seconds.Add({{"plugin", field_text(p["name"])}}).Set(field_number(p["lag_seconds"]));
    }
  }
  auto& durations = prometheus::BuildHistogram()
                        .Name("sgeventd_plugin_callback_duration_seconds")
                        .Help("How long each callback run took, as its worker measured it")
                        .Register(registry);
  for (const Value& p : plugins) {
    observe_histogram(durations, {{"plugin", field_text(p["name"])}}, p["callback_seconds"]);
  }
  for (const PluginStateSet& set : kPluginStateSets) {
    auto& family = BuildGauge().Name(set.name).Help(set.help).Register(registry);
    for (const Value& p : plugins) {
      if (p[set.field].is_null()) continue;  // a plugin waiting for its state has no worker
      const std::string name = field_text(p["name"]);
      const std::string current = field_text(p[set.field]);
      for (const char* state : set.states) {
        family.Add({{"plugin", name}, {"state", state}}).Set(current == state ? 1 : 0);
      }
    }
  }
}

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
  if (!status.is_dict()) return prometheus::TextSerializer().Serialize(registry.Collect());

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
  auto counter = [&](const char* name, const char* help, double value) {
    BuildCounter().Name(name).Help(help).Register(registry).Add({}).Increment(value);
  };
  counter("sgeventd_polls_total", "Polls of the event log (each one or a few api3 requests)",
          field_number(status["polls"]));
  counter("sgeventd_events_read_total", "Events the polls read from the event log",
          field_number(status["events_read"]));
  counter("sgeventd_site_read_bytes_total",
          "Bytes of api3 response bodies read from the site (the feed's and catch-up reads)",
          field_number(status["bytes_read"]));
  gauge("sgeventd_gap_event_ids",
        "Missing event ids the feed passed over and still waits for (open gaps)",
        field_number(status["gap_ids"]));
  // Only while there is a gap: an age of 0 would claim one just opened.
  if (status["oldest_gap_s"].is_number()) {
    gauge("sgeventd_gap_oldest_age_seconds", "How long the longest-waiting open gap has waited",
          field_number(status["oldest_gap_s"]));
  }
  gauge("sgeventd_poll_interval_seconds",
        "The pause planned after the last read (adaptive polling: it follows the site's activity)",
        field_number(status["poll_pause_ms"]) / 1000.0);
  counter("sgeventd_webhook_reads_total", "Reads of the event log a webhook caused",
          field_number(status["webhook_reads"]));
  counter("sgeventd_webhook_ids_unseen_total",
          "Event ids webhooks named that the event log had not shown after the chase",
          field_number(status["webhook_ids_unseen"]));
  // A shared state (PostgreSQL): alert on no leader, or on two (which the fencing makes
  // harmless, but means a lease misconfigured).
  if (const auto* role = status["role"].if_string()) {
    gauge("sgeventd_leader",
          "1 while this daemon holds the state's lease and delivers, 0 standing by",
          *role == "leader" ? 1.0 : 0.0);
    if (*role == "leader") {
      gauge("sgeventd_lease_epoch", "The epoch of the lease held (it rises with each takeover)",
            field_number(status["lease_epoch"]));
      gauge("sgeventd_lease_remaining_seconds",
            "How long the lease runs unrenewed before this daemon stops dispatching",
            field_number(status["lease_remaining_ms"]) / 1000.0);
    }
  }
  if (const Dict* hooks = status["webhooks"].if_dict()) {
    auto& deliveries = BuildCounter()
                           .Name("sgeventd_webhooks_total")
                           .Help(
                               "Webhook requests received, by result (accepted, rejected: "
                               "bad signature, unreadable: signed but not the site's format)")
                           .Register(registry);
    for (const auto& [result, n] : *hooks) {
      deliveries.Add({{"result", result}}).Increment(field_number(n));
    }
  }
  auto& errors = BuildCounter()
                     .Name("sgeventd_poll_errors_total")
                     .Help("Failed reads of the event log, by the client's error kind")
                     .Register(registry);
  if (const Dict* kinds = status["poll_errors"].if_dict()) {
    for (const auto& [kind, n] : *kinds) errors.Add({{"kind", kind}}).Increment(field_number(n));
  }
  auto& commits = prometheus::BuildHistogram()
                      .Name("sgeventd_state_commit_duration_seconds")
                      .Help("How long each state transaction took (cursors, gaps, dead letters)")
                      .Register(registry);
  observe_histogram(commits, {}, status["state_commit_seconds"]);
  if (const List* plugins = status["plugins"].if_list()) add_plugins(registry, *plugins);
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace sgeventd::daemon
