#include "daemon/systemd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace sgeventd::daemon {
namespace {

// A datagram socket in the abstract namespace, as systemd's may be ("@name").
class Listener {
 public:
  Listener() {
    name_ = "sgeventd-notify-test-" + std::to_string(getpid());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + 1, name_.data(), name_.size());
    bind(fd_, reinterpret_cast<sockaddr*>(&a),
         static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size()));
  }
  ~Listener() { close(fd_); }
  std::string env_name() const { return "@" + name_; }
  // The next datagram, or "" when none is waiting.
  std::string next() {
    char buf[512];
    const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  int fd_ = -1;
  std::string name_;
};

TEST(SystemdNotifier, WithoutNotifySocketItIsOffAndSendsNothing) {
  SystemdNotifier n = SystemdNotifier::from_environment({});
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.ready());
  EXPECT_FALSE(n.watchdog_interval());
  EXPECT_FALSE(SystemdNotifier::from_environment({{"NOTIFY_SOCKET", "relative/path"}}).enabled());
}

TEST(SystemdNotifier, SendsEachAssignmentAsOneDatagramToAnAbstractSocket) {
  Listener l;
  SystemdNotifier n = SystemdNotifier::from_environment(
      {{"NOTIFY_SOCKET", l.env_name()}, {"WATCHDOG_USEC", "3000000"}});
  ASSERT_TRUE(n.enabled());
  ASSERT_TRUE(n.watchdog_interval());
  EXPECT_EQ(n.watchdog_interval()->count(), 3'000'000);
  EXPECT_TRUE(n.ready());
  EXPECT_EQ(l.next(), "READY=1");
  EXPECT_TRUE(n.status("polling\nREADY=0"));
  EXPECT_EQ(l.next(), "STATUS=polling READY=0") << "a status cannot smuggle in an assignment";
  EXPECT_TRUE(n.status("polling\nREADY=0"));
  EXPECT_EQ(l.next(), "") << "an unchanged status is not sent again";
  EXPECT_TRUE(n.watchdog());
  EXPECT_EQ(l.next(), "WATCHDOG=1");
  EXPECT_TRUE(n.stopping());
  EXPECT_EQ(l.next(), "STOPPING=1");
}

TEST(SystemdNotifier, TheWatchdogIsForTheProcessItNames) {
  Listener l;
  const std::string me = std::to_string(getpid());
  EXPECT_TRUE(
      SystemdNotifier::from_environment(
          {{"NOTIFY_SOCKET", l.env_name()}, {"WATCHDOG_USEC", "1000"}, {"WATCHDOG_PID", me}})
          .watchdog_interval());
  EXPECT_FALSE(
      SystemdNotifier::from_environment(
          {{"NOTIFY_SOCKET", l.env_name()}, {"WATCHDOG_USEC", "1000"}, {"WATCHDOG_PID", "1"}})
          .watchdog_interval());
  EXPECT_FALSE(SystemdNotifier::from_environment(
                   {{"NOTIFY_SOCKET", l.env_name()}, {"WATCHDOG_USEC", "soon"}})
                   .watchdog_interval());
}

}  // namespace
}  // namespace sgeventd::daemon
