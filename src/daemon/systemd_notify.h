// The systemd service notification protocol (sd_notify(3), "Type=notify"): READY=1 once the
// daemon polls, WATCHDOG=1 while its loops are alive, STATUS= lines, STOPPING=1 on a clean
// stop (docs/deploy.md).
//
// Written here rather than linking libsystemd's sd_notify: the protocol is one datagram of
// "KEY=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for
// the abstract namespace), documented as a stable interface; a dozen lines of code spare
// every install (containers, non-systemd hosts) a library it would not use.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <optional>
#include <string>

#include "config/ini.h"

namespace sgeventd::daemon {

class SystemdNotifier {
 public:
  // From NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (the watchdog only when it names this
  // process, or no process). Without NOTIFY_SOCKET every call does nothing.
  static SystemdNotifier from_environment(const config::IniFile::Environment& env);
  SystemdNotifier() = default;
  SystemdNotifier(SystemdNotifier&& other) noexcept;
  SystemdNotifier& operator=(SystemdNotifier&& other) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;
  ~SystemdNotifier();

  bool enabled() const { return fd_ >= 0; }
  // What systemd asked for (WatchdogSec=): ping at half of it.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  // One datagram of newline-separated "KEY=value" assignments; false when it was not sent.
  bool send(const std::string& assignments);
  bool ready() { return send("READY=1"); }
  bool stopping() { return send("STOPPING=1"); }
  bool watchdog() { return send("WATCHDOG=1"); }
  // Sent only when it differs from the last one sent.
  bool status(const std::string& text);

 private:
  int fd_ = -1;
  sockaddr_un address_{};
  socklen_t address_length_ = 0;
  std::optional<std::chrono::microseconds> watchdog_;
  std::string last_status_;
};

}  // namespace sgeventd::daemon
