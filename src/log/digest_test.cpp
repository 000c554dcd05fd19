#include "log/digest.h"

#include <gtest/gtest.h>

#include "log/log_test_support.h"

namespace sgeventd::log {
namespace {

using testing::contains;

using std::chrono::minutes;
using std::chrono::seconds;
using Time = DigestBatcher::Time;

Alert alert(std::string logger, std::string message,
            spdlog::level::level_enum level = spdlog::level::err) {
  Alert a;
  a.time = std::chrono::system_clock::now();
  a.level = level;
  a.logger = std::move(logger);
  a.message = std::move(message);
  return a;
}

const Recipients kOps{"ops@example.com"};
const Recipients kDev{"dev@example.com", "lead@example.com"};

TEST(AlertMail, OriginalSubjectAndBody) {
  EXPECT_EQ(alert_subject("[SG]", spdlog::level::err), "[SG] ERROR - SG event daemon.");
  EXPECT_EQ(alert_subject("[SG]", spdlog::level::critical), "[SG] CRITICAL - SG event daemon.");
  Alert a = alert("plugin.x.cb", "boom\nTraceback...");
  a.path = "/plugins/x.py";
  a.function = "cb";
  a.line = 42;
  std::string body = alert_body(a);
  EXPECT_TRUE(contains(body,
                       "Logger: plugin.x.cb\nPath: /plugins/x.py\nFunction: cb\nLine: 42\n\n"
                       "boom\nTraceback..."));
  EXPECT_EQ(body.rfind("Time: ", 0), 0u);
  EXPECT_FALSE(contains(alert_body(alert("engine", "m")), "Path:"));
}

TEST(DigestBatcher, FirstAlertIsMailedAtOnce) {
  DigestBatcher batcher({}, "[SG]");
  Time t0{};
  auto mail = batcher.add(kOps, alert("engine", "first"), t0);
  ASSERT_TRUE(mail.has_value());
  EXPECT_EQ(mail->to, kOps);
  EXPECT_EQ(mail->subject, "[SG] ERROR - SG event daemon.");
  EXPECT_TRUE(contains(mail->body, "first"));
  EXPECT_EQ(mail->records, 1u);
}

TEST(DigestBatcher, AStormBecomesOneDigestPerWindow) {
  DigestPolicy policy;
  policy.window = minutes(5);
  policy.samples = 3;
  DigestBatcher batcher(policy, "[SG]");
  Time t0{};
  std::vector<OutgoingMail> mails;
  // 1000 errors in a burst, then nothing.
  for (int i = 0; i < 1000; ++i) {
    if (auto mail = batcher.add(kOps, alert("plugin.x.cb", "error " + std::to_string(i)), t0)) {
      mails.push_back(*mail);
    }
  }
  EXPECT_EQ(mails.size(), 1u);
  EXPECT_TRUE(batcher.due(t0 + minutes(4)).empty());
  EXPECT_EQ(batcher.next_deadline(), t0 + minutes(5));
  auto digests = batcher.due(t0 + minutes(5));
  ASSERT_EQ(digests.size(), 1u);
  const OutgoingMail& digest = digests[0];
  EXPECT_EQ(digest.records, 999u);
  EXPECT_EQ(digest.subject, "[SG] ERROR - SG event daemon. (digest of 999)");
  EXPECT_TRUE(
      contains(digest.body, "999 more ERROR or CRITICAL records since the last mail (1000 since"));
  EXPECT_TRUE(contains(digest.body, "plugin.x.cb: 999"));
  EXPECT_TRUE(contains(digest.body, "error 1\n"));
  EXPECT_TRUE(contains(digest.body, "error 3\n"));
  EXPECT_FALSE(contains(digest.body, "error 4\n"));  // only 3 samples
  EXPECT_TRUE(contains(digest.body, "996 more not shown"));
  // A quiet window ends the storm: the next error is mailed at once again.
  EXPECT_TRUE(batcher.due(t0 + minutes(10)).empty());
  EXPECT_FALSE(batcher.next_deadline().has_value());
  EXPECT_TRUE(batcher.add(kOps, alert("engine", "later"), t0 + minutes(11)).has_value());
}

TEST(DigestBatcher, AContinuousStormSendsOneMailPerWindow) {
  DigestBatcher batcher({.window = minutes(5)}, "");
  Time t{};
  int mails = 0;
  std::size_t reported = 0;
  // One error a second for an hour.
  for (int second = 0; second < 3600; ++second, t += seconds(1)) {
    if (auto mail = batcher.add(kOps, alert("engine", "e"), t)) {
      ++mails;
      reported += mail->records;
    }
    for (auto& mail : batcher.due(t)) {
      ++mails;
      reported += mail.records;
    }
  }
  for (auto& mail : batcher.drain()) {
    ++mails;
    reported += mail.records;
  }
  EXPECT_LE(mails, 13);  // 1 at once + 12 five-minute digests
  EXPECT_EQ(reported, 3600u);
}

TEST(DigestBatcher, RecipientSetsHaveTheirOwnWindows) {
  DigestBatcher batcher({}, "");
  Time t0{};
  EXPECT_TRUE(batcher.add(kOps, alert("engine", "a"), t0).has_value());
  EXPECT_TRUE(batcher.add(kDev, alert("plugin.x", "b"), t0).has_value());
  EXPECT_FALSE(batcher.add(kOps, alert("engine", "c"), t0).has_value());
  auto drained = batcher.drain();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].to, kOps);
}

TEST(DigestBatcher, CriticalInADigestMakesItACriticalMail) {
  DigestBatcher batcher({}, "[SG]");
  Time t0{};
  batcher.add(kOps, alert("engine", "a"), t0);
  batcher.add(kOps, alert("engine", "b"), t0);
  batcher.add(kOps, alert("engine", "c", spdlog::level::critical), t0);
  auto drained = batcher.drain();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].subject, "[SG] CRITICAL - SG event daemon. (digest of 2)");
  EXPECT_TRUE(contains(drained[0].body, "By level: ERROR 1, CRITICAL 1"));
}

TEST(DigestBatcher, ManyLoggersAreCountedWithinABound) {
  DigestBatcher batcher({.max_loggers = 2}, "");
  Time t0{};
  batcher.add(kOps, alert("first", "x"), t0);
  for (int i = 0; i < 10; ++i) batcher.add(kOps, alert("logger" + std::to_string(i), "x"), t0);
  auto drained = batcher.drain();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_TRUE(contains(drained[0].body, "(other loggers): 8"));
}

TEST(DigestBatcher, NoRecipientsNoMail) {
  DigestBatcher batcher({}, "");
  EXPECT_FALSE(batcher.add({}, alert("engine", "x"), Time{}).has_value());
  EXPECT_TRUE(batcher.drain().empty());
}

}  // namespace
}  // namespace sgeventd::log
