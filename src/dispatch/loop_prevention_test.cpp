#include "dispatch/loop_prevention.h"

#include <gtest/gtest.h>

#include "sgeventd/json.h"

namespace sgeventd::dispatch {
namespace {

Value event(const std::string& json) {
  auto v = parse_json(json);
  EXPECT_TRUE(v) << json;
  return v ? *v : Value();
}

const Value kByWriter = event(
    R"({"id": 1, "user": {"type": "ApiUser", "id": 3, "name": "writer_script"}, "meta": {}})");
const Value kSudoByWriter = event(
    R"({"id": 2, "user": {"type": "HumanUser", "id": 5, "name": "Ann"},
        "meta": {"sudo_actual_user": {"type": "ApiUser", "id": 3, "name": "writer_script"}}})");
const Value kByPerson =
    event(R"({"id": 3, "user": {"type": "HumanUser", "id": 5, "name": "writer_script"}})");
const std::set<std::string> kDaemonScripts{"sandbox", "writer_script", "watcher_script"};

TEST(LoopPrevention, AuthorsAreTheScriptsAnEventWasMadeBy) {
  EXPECT_EQ(authors_of(kByWriter).script, "writer_script");
  EXPECT_EQ(authors_of(kSudoByWriter).script, "");
  EXPECT_EQ(authors_of(kSudoByWriter).sudo_script, "writer_script");
  EXPECT_FALSE(authors_of(kByPerson).is("writer_script")) << "a person named like a script";
  EXPECT_FALSE(authors_of(event(R"({"id": 4})")).any_of({""}));
}

TEST(LoopPrevention, PerCallbackWithholdsAnEventOnlyFromTheScriptThatMadeIt) {
  for (const Value& e : {kByWriter, kSudoByWriter}) {
    const EventAuthors a = authors_of(e);
    EXPECT_TRUE(withheld(LoopPrevention::kPerCallback, a, "writer_script", kDaemonScripts));
    EXPECT_FALSE(withheld(LoopPrevention::kPerCallback, a, "watcher_script", kDaemonScripts))
        << "a chain: the next plugin reacts to the writer's change";
  }
}

TEST(LoopPrevention, DaemonWideWithholdsEveryDaemonScriptsEventFromEveryone) {
  const EventAuthors a = authors_of(kByWriter);
  EXPECT_TRUE(withheld(LoopPrevention::kDaemon, a, "watcher_script", kDaemonScripts));
  EXPECT_FALSE(withheld(LoopPrevention::kDaemon, authors_of(kByPerson), "x", kDaemonScripts));
  EXPECT_FALSE(withheld(LoopPrevention::kDaemon, a, "x", {"someone_else"}));
}

TEST(LoopPrevention, OffWithholdsNothing) {
  EXPECT_FALSE(
      withheld(LoopPrevention::kOff, authors_of(kByWriter), "writer_script", kDaemonScripts));
}

}  // namespace
}  // namespace sgeventd::dispatch
