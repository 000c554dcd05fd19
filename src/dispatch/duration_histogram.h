// Durations counted into fixed buckets, for the admin API's Prometheus histograms (callback
// durations per plugin, state commits). Plain data on the dispatcher thread; the status
// snapshot carries it to the metrics endpoint as {"bounds", "counts", "sum"}.
#pragma once

#include <array>
#include <cstdint>

#include "sgeventd/value.h"

namespace sgeventd::dispatch {

class DurationHistogram {
 public:
  // Upper bounds in seconds: from a millisecond callback to one at the usual time limits.
  static constexpr std::array<double, 10> kBounds{0.001, 0.005, 0.01, 0.05, 0.1,
                                                  0.5,   1.0,   5.0,  10.0, 60.0};

  void observe(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++counts_[i];  // the last one is +Inf
    sum_ += seconds;
  }
  std::uint64_t count() const {
    std::uint64_t n = 0;
    for (auto c : counts_) n += c;
    return n;
  }
  // {"bounds": [...], "counts": [per bucket, not cumulative, +Inf last], "sum": seconds}.
  Value to_value() const {
    List bounds, counts;
    for (double b : kBounds) bounds.emplace_back(b);
    for (auto c : counts_) counts.emplace_back(static_cast<long long>(c));
    return Dict{{"bounds", std::move(bounds)}, {"counts", std::move(counts)}, {"sum", sum_}};
  }

 private:
  std::array<std::uint64_t, kBounds.size() + 1> counts_{};
  double sum_ = 0;
};

}  // namespace sgeventd::dispatch
