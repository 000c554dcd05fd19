#include "daemon/metrics.h"

#include <gtest/gtest.h>

#include <chrono>

#include "dispatch/duration_histogram.h"

namespace sgeventd::daemon {
namespace {

// Three callbacks: 2 ms, 3 ms and 2 s.
Value callback_seconds() {
  dispatch::DurationHistogram h;
  h.observe(0.002);
  h.observe(0.003);
  h.observe(2.0);
  return h.to_value();
}

Value status_of(int plugins) {
  List list;
  for (int i = 0; i < plugins; ++i) {
    list.push_back(Value(Dict{{"name", "p" + std::to_string(i)},
                              {"state", i == 0 ? "deactivated" : "active"},
                              {"worker", "running"},
                              {"cursor", 120},
                              {"committed", 100},
                              {"lag", 7},
                              {"queued", 3},
                              {"in_flight", 1},
                              {"handled", 42},
                              {"errors", 2},
                              {"dead_letters", 1},
                              {"retries", 4},
                              {"worker_restarts", 2},
                              {"gaps", 3},
                              // Known for p1 only (p0 trails without a finished event).
                              {"lag_seconds", i == 1 ? Value(12.5) : Value()},
                              {"callback_seconds", callback_seconds()}}));
  }
  return Value(Dict{{"feed_head", 127},
                    {"poll_failures", 0},
                    {"requests", 9},
                    {"polls", 8},
                    {"events_read", 300},
                    {"bytes_read", 123456},
                    {"gap_ids", 4},
                    {"oldest_gap_s", 31.5},
                    {"poll_errors", Dict{{"ConnectionError", 2}, {"ProtocolError", 1}}},
                    {"state_commit_seconds", callback_seconds()},
                    {"state_writable", true},
                    {"plugins", std::move(list)}});
}

TEST(Metrics, ThePluginsProgressAsPrometheusText) {
  const std::string text = metrics_text(status_of(2), "1.2.3");
  for (const char* line :
       {"sgeventd_build_info{version=\"1.2.3\"} 1",
        "sgeventd_feed_head_event_id 127",
        "sgeventd_site_requests_total 9",
        "sgeventd_polls_total 8",
        "sgeventd_events_read_total 300",
        "sgeventd_site_read_bytes_total 123456",
        "sgeventd_gap_event_ids 4",
        "sgeventd_gap_oldest_age_seconds 31.5",
        "sgeventd_plugin_lag_events{plugin=\"p1\"} 1",
        "sgeventd_poll_errors_total{kind=\"ConnectionError\"} 2",
        "sgeventd_poll_errors_total{kind=\"ProtocolError\"} 1",
        "sgeventd_state_commit_duration_seconds_count 3",
        "sgeventd_plugin_events_handled_total{plugin=\"p1\"} 42",
        "sgeventd_plugin_callback_errors_total{plugin=\"p1\"} 2",
        "sgeventd_plugin_lag_event_ids{plugin=\"p0\"} 7",
        "sgeventd_plugin_committed_event_id{plugin=\"p1\"} 100",
        "sgeventd_plugin_state{plugin=\"p0\",state=\"deactivated\"} 1",
        "sgeventd_plugin_state{plugin=\"p1\",state=\"deactivated\"} 0",
        "sgeventd_plugin_worker_state{plugin=\"p1\",state=\"running\"} 1",
        "sgeventd_plugin_retries_total{plugin=\"p1\"} 4",
        "sgeventd_plugin_worker_restarts_total{plugin=\"p1\"} 2",
        "sgeventd_plugin_gap_event_ids{plugin=\"p1\"} 3",
        "sgeventd_plugin_lag_seconds{plugin=\"p1\"} 12.5",
        "sgeventd_plugin_callback_duration_seconds_count{plugin=\"p1\"} 3",
        "sgeventd_plugin_callback_duration_seconds_bucket{plugin=\"p1\",le=\"0.001\"} 0",
        "sgeventd_plugin_callback_duration_seconds_bucket{plugin=\"p1\",le=\"0.005\"} 2",
        "sgeventd_plugin_callback_duration_seconds_bucket{plugin=\"p1\",le=\"1\"} 2",
        "sgeventd_plugin_callback_duration_seconds_bucket{plugin=\"p1\",le=\"5\"} 3",
        "sgeventd_plugin_callback_duration_seconds_bucket{plugin=\"p1\",le=\"+Inf\"} 3",
        "sgeventd_plugin_callback_duration_seconds_sum{plugin=\"p1\"} 2.005"}) {
    EXPECT_NE(text.find(std::string("\n") + line + "\n"), std::string::npos) << line << "\n"
                                                                             << text;
  }
  EXPECT_NE(text.find("# TYPE sgeventd_plugin_events_handled_total counter"), std::string::npos);
  EXPECT_EQ(text.find("sgeventd_plugin_lag_seconds{plugin=\"p0\"}"), std::string::npos)
      << "unknown is absent, not 0";
}

TEST(Metrics, NoGapAgeWithoutAGap) {
  Value status = status_of(1);
  status.as_dict().erase("oldest_gap_s");
  status.as_dict()["gap_ids"] = 0;
  const std::string text = metrics_text(status, "1");
  EXPECT_NE(text.find("\nsgeventd_gap_event_ids 0\n"), std::string::npos);
  EXPECT_EQ(text.find("sgeventd_gap_oldest_age_seconds"), std::string::npos);
}

TEST(Metrics, WhileStartingOnlyTheBuildInfo) {
  const std::string text = metrics_text(Value(), "1.2.3");
  EXPECT_NE(text.find("sgeventd_build_info"), std::string::npos);
  EXPECT_EQ(text.find("sgeventd_plugin"), std::string::npos);
}

TEST(Metrics, AHundredPluginsScrapeInMilliseconds) {
  const Value status = status_of(100);
  const auto start = std::chrono::steady_clock::now();
  const std::string text = metrics_text(status, "1");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(text.find("plugin=\"p99\""), std::string::npos);
  // The issue asks for 20 ms; under the sanitizers everything is several times slower.
  EXPECT_LT(took, std::chrono::milliseconds(200));
}

}  // namespace
}  // namespace sgeventd::daemon
