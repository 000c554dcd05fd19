#include "dispatch/pipeline_window.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sgeventd::dispatch {
namespace {

TEST(PipelineWindow, StartsSmallUntilTheWorkerHasAnswered) {
  EXPECT_EQ(PipelineWindow(128).size(), PipelineWindow::kFirstWindow);
  EXPECT_EQ(PipelineWindow(4).size(), 4u);  // never above the configured window
  EXPECT_EQ(PipelineWindow(0).size(), 1u);  // 0 is taken as 1
}

TEST(PipelineWindow, FastWorkersGetTheWholeWindow) {
  PipelineWindow w(128);
  for (int i = 0; i < 20; ++i) w.observe(0.03);  // 30 µs per event
  EXPECT_EQ(w.size(), 128u);
  PipelineWindow instant(128);
  instant.observe(0);
  EXPECT_EQ(instant.size(), 128u);
}

TEST(PipelineWindow, SlowWorkersHoldAboutTheBudgetInFlight) {
  PipelineWindow w(128);
  for (int i = 0; i < 20; ++i) w.observe(100);  // 100 ms per event
  EXPECT_EQ(w.size(), 2u);                      // 250 ms of work
  PipelineWindow slower(128);
  for (int i = 0; i < 20; ++i) slower.observe(5000);
  EXPECT_EQ(slower.size(), 1u);  // never 0: it must still get events
  PipelineWindow medium(128);
  for (int i = 0; i < 20; ++i) medium.observe(10);
  EXPECT_EQ(medium.size(), 25u);
}

TEST(PipelineWindow, FollowsAChangeOfSpeedWithinAFewEvents) {
  PipelineWindow w(128);
  for (int i = 0; i < 20; ++i) w.observe(0.05);
  ASSERT_EQ(w.size(), 128u);
  w.observe(100);  // one slow event already narrows it ...
  EXPECT_LT(w.size(), 128u);
  for (int i = 0; i < 10; ++i) w.observe(100);  // ... and a slow streak brings it to ~2
  EXPECT_LE(w.size(), 3u);
  for (int i = 0; i < 40; ++i) w.observe(0.05);  // fast again: the whole window again
  EXPECT_EQ(w.size(), 128u);
}

TEST(PipelineWindow, IgnoresNonsenseDurations) {
  PipelineWindow w(128);
  w.observe(-5);
  w.observe(std::nan(""));
  EXPECT_EQ(w.size(), PipelineWindow::kFirstWindow);
}

}  // namespace
}  // namespace sgeventd::dispatch
