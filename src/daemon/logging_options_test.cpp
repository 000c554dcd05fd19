#include "daemon/logging_options.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sgeventd::daemon {
namespace {

TEST(LoggingOptionsFromConfig, MapsKeysAndCollectsSecrets) {
  Config config;
  config.daemon.log_mode = 0;
  config.daemon.log_path = "/var/log/sg";
  config.daemon.log_file = "ev";
  config.daemon.log_level = 10;
  config.daemon.timing_log = true;
  config.daemon.log_json = true;
  config.shotgun.key = "scriptkey";
  config.shotgun.proxy_server = "user:proxypass@proxy:8080";
  config.emails.enabled = true;
  config.emails.server = "smtp.example.com";
  config.emails.port = 587;
  config.emails.use_tls = true;
  config.emails.username = "u";
  config.emails.password = "smtppass";
  config.emails.from = "daemon@example.com";
  config.emails.to = {"a@example.com", "b@example.com"};
  config.emails.subject = "[SG]";
  log::LoggingOptions o = logging_options(config, true);
  EXPECT_EQ(o.mode, 0);
  EXPECT_EQ(o.log_path, "/var/log/sg");
  EXPECT_EQ(o.log_file, "ev");
  EXPECT_EQ(o.level, 10);
  EXPECT_TRUE(o.timing_log);
  EXPECT_TRUE(o.json);
  EXPECT_TRUE(o.console);
  EXPECT_TRUE(o.email.enabled);
  EXPECT_EQ(o.email.smtp.port, 587);
  EXPECT_TRUE(o.email.smtp.use_tls);
  EXPECT_EQ(o.email.to.size(), 2u);
  EXPECT_NE(std::find(o.secrets.begin(), o.secrets.end(), "scriptkey"), o.secrets.end());
  EXPECT_NE(std::find(o.secrets.begin(), o.secrets.end(), "smtppass"), o.secrets.end());
  EXPECT_NE(std::find(o.secrets.begin(), o.secrets.end(), "proxypass"), o.secrets.end());

  config.emails.subject.clear();  // the original sends nothing without every field
  EXPECT_FALSE(logging_options(config, false).email.enabled);
}

}  // namespace
}  // namespace sgeventd::daemon
