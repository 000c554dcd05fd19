#include "daemon/logging_options.h"

#include "workers/credentials.h"

namespace sgeventd::daemon {

log::LoggingOptions logging_options(const Config& config, bool foreground) {
  const DaemonSettings& d = config.daemon;
  log::LoggingOptions options;
  options.mode = d.log_mode;
  options.log_path = d.log_path;
  options.log_file = d.log_file;
  options.files = d.log_files;
  options.level = d.log_level;
  options.timing_log = d.timing_log;
  options.console = foreground;
  options.json = d.log_json;

  const daemon::EmailSettings& e = config.emails;
  options.email.enabled =
      e.enabled && !e.server.empty() && !e.from.empty() && !e.to.empty() && !e.subject.empty();
  options.email.smtp.server = e.server;
  options.email.smtp.port = e.port;
  options.email.smtp.use_tls = e.use_tls;
  options.email.smtp.username = e.username;
  options.email.smtp.password = e.password;
  options.email.from = e.from;
  options.email.to = e.to;
  options.email.subject = e.subject;

  options.secrets = {config.shotgun.key, e.password, config.admin.token,
                     config.admin.webhook_secret,
                     workers::proxy_password(config.shotgun.proxy_server)};
  return options;
}

}  // namespace sgeventd::daemon
