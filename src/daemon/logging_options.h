// The logging options the config asks for (the log layer knows nothing of the config file).
#pragma once

#include "daemon/config.h"
#include "log/logging.h"

namespace sgeventd::daemon {

// Emails are on when [emails] enabled is true and server, from, to and subject are all set (the
// original's condition). The script key, the SMTP password and a proxy password are registered
// as secrets.
log::LoggingOptions logging_options(const Config& config, bool foreground);

}  // namespace sgeventd::daemon
