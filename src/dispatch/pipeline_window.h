// How many events a worker may have in flight (sent, not answered). A deep pipeline lets a
// fast worker take a batch per wake-up instead of one event per round trip; for a slow one it
// only adds risk: a clean stop waits for everything in flight (up to shutdown_grace), and a
// crash or a kill -9 of the daemon sends it all again. So the window a worker gets is sized by
// time: about kInFlightBudget of its recent work, never more than `pipeline_window`.
#pragma once

#include <chrono>
#include <cstddef>

namespace sgeventd::dispatch {

class PipelineWindow {
 public:
  // Work a worker may have queued in it, judged from its recent events' durations.
  static constexpr std::chrono::milliseconds kInFlightBudget{250};
  // Until a worker has answered anything its speed is unknown: it gets this many at most.
  static constexpr std::size_t kFirstWindow = 8;

  explicit PipelineWindow(std::size_t max_window) : max_(max_window ? max_window : 1) {}

  // An answered event: how long the worker took over it.
  void observe(double event_ms);
  // The events the worker may have in flight now (1 to max_window).
  std::size_t size() const;

 private:
  std::size_t max_;
  double average_ms_ = -1;  // moving average of event durations; < 0: none seen yet
};

}  // namespace sgeventd::dispatch
