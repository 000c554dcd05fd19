#include "dispatch/pipeline_window.h"

#include <algorithm>

namespace sgeventd::dispatch {

void PipelineWindow::observe(double event_ms) {
  if (!(event_ms >= 0)) return;  // NaN or negative: a worker's bad number is not a speed
  // Weighted towards recent events, so a plugin that turns slow (a site that slows down, a
  // bigger shot) shrinks its window within a few events, and one slow event does not.
  average_ms_ = average_ms_ < 0 ? event_ms : 0.75 * average_ms_ + 0.25 * event_ms;
}

std::size_t PipelineWindow::size() const {
  if (average_ms_ < 0) return std::min(max_, kFirstWindow);
  const double budget = static_cast<double>(kInFlightBudget.count());
  // Under a microsecond an event is as good as free: the full window.
  const double by_time = budget / std::max(average_ms_, 1e-3);
  if (by_time >= static_cast<double>(max_)) return max_;
  return std::max<std::size_t>(1, static_cast<std::size_t>(by_time));
}

}  // namespace sgeventd::dispatch
