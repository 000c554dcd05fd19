#include "daemon/systemd_notify.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace sgeventd::daemon {
namespace {

std::string get(const config::IniFile::Environment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

}  // namespace

SystemdNotifier SystemdNotifier::from_environment(const config::IniFile::Environment& env) {
  SystemdNotifier n;
  const std::string socket_name = get(env, "NOTIFY_SOCKET");
  // A path or an abstract name ("@..."), at most sun_path's size.
  if (socket_name.size() < 2 || socket_name.size() >= sizeof(n.address_.sun_path) ||
      (socket_name[0] != '/' && socket_name[0] != '@')) {
    return n;
  }
  n.address_.sun_family = AF_UNIX;
  std::memcpy(n.address_.sun_path, socket_name.data(), socket_name.size());
  if (socket_name[0] == '@') n.address_.sun_path[0] = '\0';
  n.address_length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_name.size());
  n.fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (n.fd_ < 0) return n;

  const std::string usec = get(env, "WATCHDOG_USEC");
  const std::string pid = get(env, "WATCHDOG_PID");
  char* end = nullptr;
  const long long interval = usec.empty() ? 0 : std::strtoll(usec.c_str(), &end, 10);
  const bool for_us = pid.empty() || std::atoll(pid.c_str()) == static_cast<long long>(getpid());
  if (interval > 0 && end && *end == '\0' && for_us) {
    n.watchdog_ = std::chrono::microseconds(interval);
  }
  return n;
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept { *this = std::move(other); }

SystemdNotifier& SystemdNotifier::operator=(SystemdNotifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    address_ = other.address_;
    address_length_ = other.address_length_;
    watchdog_ = other.watchdog_;
    last_status_ = std::move(other.last_status_);
  }
  return *this;
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) close(fd_);
}

bool SystemdNotifier::send(const std::string& assignments) {
  if (fd_ < 0) return false;
  ssize_t n;
  do {
    n = sendto(fd_, assignments.data(), assignments.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&address_), address_length_);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(assignments.size());
}

bool SystemdNotifier::status(const std::string& text) {
  if (text == last_status_) return true;
  last_status_ = text;
  // A status is one line: a newline would start another assignment.
  std::string line = text;
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  return send("STATUS=" + line);
}

}  // namespace sgeventd::daemon
