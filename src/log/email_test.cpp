// Error mails end to end: Logging -> digest -> sender thread -> libcurl -> a real SMTP
// responder on loopback.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "log/log_test_support.h"

#include "log/logging.h"
#include "log/test_smtp_server.h"

namespace sgeventd::log {
namespace {

using testing::contains;
using testing::read;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ReceivedMail;
using testing::TestSmtpServer;

std::string header(const ReceivedMail& mail, std::string_view name) {
  std::istringstream lines(mail.data);
  for (std::string line; std::getline(lines, line);) {
    if (line == "\r") break;
    if (line.rfind(std::string(name) + ": ", 0) == 0) {
      std::string value = line.substr(name.size() + 2);
      if (!value.empty() && value.back() == '\r') value.pop_back();
      return value;
    }
  }
  return {};
}

class EmailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("sgeventd_email_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.log_path = dir_;
    options_.log_file = "daemon.log";
    options_.mode = 1;
    EmailOptions& e = options_.email;
    e.enabled = true;
    e.smtp.server = "127.0.0.1";
    e.smtp.port = server_.port();
    e.smtp.username = "mailer";
    e.smtp.password = "smtp-Pa55word";
    e.from = "daemon@example.com";
    e.to = {"ops@example.com", "oncall@example.com"};
    e.subject = "[SG]";
    e.retry_backoff = 10ms;
  }
  void TearDown() override {
    logging_.reset();
    fs::remove_all(dir_);
  }

  Logging& open() {
    auto opened = Logging::open(options_);
    EXPECT_TRUE(opened.has_value()) << (opened ? "" : opened.error());
    logging_ = std::move(*opened);
    return *logging_;
  }

  fs::path dir_;
  TestSmtpServer server_;
  LoggingOptions options_;
  std::unique_ptr<Logging> logging_;
};

TEST_F(EmailTest, OneErrorSendsOneMail) {
  Logging& logging = open();
  logging.engine()->error("Could not connect to the site");
  ASSERT_TRUE(server_.wait_for_mails(1, 10s));
  logging.shutdown(5s);
  auto mails = server_.mails();
  ASSERT_EQ(mails.size(), 1u);
  const ReceivedMail& mail = mails[0];
  EXPECT_EQ(mail.mail_from, "daemon@example.com");
  EXPECT_EQ(mail.rcpt_to, (std::vector<std::string>{"ops@example.com", "oncall@example.com"}));
  EXPECT_EQ(mail.username, "mailer");
  EXPECT_EQ(mail.password, "smtp-Pa55word");
  EXPECT_EQ(header(mail, "Subject"), "[SG] ERROR - SG event daemon.");
  EXPECT_EQ(header(mail, "From"), "daemon@example.com");
  EXPECT_EQ(header(mail, "To"), "ops@example.com, oncall@example.com");
  EXPECT_FALSE(header(mail, "Date").empty());
  EXPECT_TRUE(contains(mail.data, "\r\nTime: "));
  EXPECT_TRUE(contains(mail.data, "\r\nLogger: engine\r\n"));
  EXPECT_TRUE(contains(mail.data, "\r\n\r\nCould not connect to the site\r\n"));
  EXPECT_EQ(logging.mails_sent(), 1u);
}

TEST_F(EmailTest, CriticalHasTheCriticalSubjectAndSourceLocation) {
  Logging& logging = open();
  logging.log({.logger = "plugin.notify.onStatusChange",
               .level = 50,
               .message = "An error occured processing an event.\n\nTraceback\n.leading dot",
               .path = "/plugins/notify.py",
               .function = "onStatusChange",
               .line = 31});
  ASSERT_TRUE(server_.wait_for_mails(1, 10s));
  auto mail = server_.mails()[0];
  EXPECT_EQ(header(mail, "Subject"), "[SG] CRITICAL - SG event daemon.");
  EXPECT_TRUE(contains(mail.data,
                       "Logger: plugin.notify.onStatusChange\r\nPath: /plugins/notify.py\r\n"
                       "Function: onStatusChange\r\nLine: 31\r\n\r\nAn error occured"));
  EXPECT_TRUE(contains(mail.data, "\r\n.leading dot\r\n"));  // dot-stuffing round trip
}

TEST_F(EmailTest, WarningsAreNotMailed) {
  Logging& logging = open();
  logging.engine()->warn("just a warning");
  logging.engine()->error("an error");
  ASSERT_TRUE(server_.wait_for_mails(1, 10s));
  logging.shutdown(5s);
  ASSERT_EQ(server_.mails().size(), 1u);
  EXPECT_TRUE(contains(server_.mails()[0].data, "an error"));
}

TEST_F(EmailTest, AThousandErrorsSendAHandfulOfMailsCountingAll) {
  Logging& logging = open();
  for (int i = 0; i < 1000; ++i) logging.plugin("storm")->error("failure {}", i);
  logging.shutdown(10s);  // the pending digest goes out now instead of at the window's end
  auto mails = server_.mails();
  ASSERT_GE(mails.size(), 2u);
  EXPECT_LE(mails.size(), 3u);
  EXPECT_TRUE(contains(mails[0].data, "failure 0"));
  const std::string& digest = mails.back().data;
  EXPECT_EQ(header(mails.back(), "Subject"), "[SG] ERROR - SG event daemon. (digest of 999)");
  EXPECT_TRUE(
      contains(digest, "999 more ERROR or CRITICAL records since the last mail (1000 since"));
  EXPECT_TRUE(contains(digest, "plugin.storm: 999"));
  // Every record is still in the plugin's log file.
  std::string file = read(dir_ / "plugin.storm");
  EXPECT_TRUE(contains(file, "failure 0\n"));
  EXPECT_TRUE(contains(file, "failure 999\n"));
}

TEST_F(EmailTest, PluginRecipientsTrueFalseAndList) {
  Logging& logging = open();
  logging.set_plugin_emails("listed", PluginEmails::to({"artist@example.com"}));
  logging.set_plugin_emails("silent", PluginEmails::none());
  logging.plugin("silent")->error("silent error");
  logging.log({.logger = "plugin.silent.cb", .level = 50, .message = "silent worker critical"});
  logging.plugin("listed")->error("listed error");
  logging.plugin("default")->error("default error");
  logging.shutdown(10s);
  auto mails = server_.mails();
  ASSERT_EQ(mails.size(), 2u);
  for (const auto& mail : mails) EXPECT_FALSE(contains(mail.data, "silent"));
  auto listed = std::find_if(mails.begin(), mails.end(), [](const ReceivedMail& m) {
    return contains(m.data, "listed error");
  });
  ASSERT_NE(listed, mails.end());
  EXPECT_EQ(listed->rcpt_to, std::vector<std::string>{"artist@example.com"});
  auto defaults = std::find_if(mails.begin(), mails.end(), [](const ReceivedMail& m) {
    return contains(m.data, "default error");
  });
  ASSERT_NE(defaults, mails.end());
  EXPECT_EQ(defaults->rcpt_to, options_.email.to);
}

TEST_F(EmailTest, RecipientsChangedAfterTheLoggerExists) {
  Logging& logging = open();
  logging.plugin("p")->info("made");
  logging.set_plugin_emails("p", PluginEmails::none());
  logging.plugin("p")->error("after False");
  logging.set_plugin_emails("p", PluginEmails::to({"x@example.com"}));
  logging.plugin("p")->error("after list");
  logging.shutdown(10s);
  auto mails = server_.mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_TRUE(contains(mails[0].data, "after list"));
  EXPECT_EQ(mails[0].rcpt_to, std::vector<std::string>{"x@example.com"});
}

TEST_F(EmailTest, ServerDownNeverBlocksAndLeavesAWarning) {
  options_.email.smtp.port = testing::unused_port();
  options_.email.attempts = 2;
  Logging& logging = open();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) logging.engine()->error("error {}", i);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 1s);  // the logging thread never waits for SMTP

  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    logging.flush();
    text = read(dir_ / "daemon.log");
    if (contains(text, "could not send the alert mail")) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(contains(text, " - engine - WARNING - could not send the alert mail")) << text;
  EXPECT_FALSE(contains(text, "smtp-Pa55word"));
  auto stop_start = std::chrono::steady_clock::now();
  logging.shutdown(500ms);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, 5s);
  EXPECT_GE(logging.mails_dropped(), 1u);
}

TEST_F(EmailTest, TlsRequiredButNotOfferedSendsNothingInClear) {
  options_.email.smtp.use_tls = true;
  options_.email.attempts = 1;
  Logging& logging = open();
  logging.engine()->error("secret-ish error");
  logging.shutdown(10s);
  EXPECT_TRUE(server_.mails().empty());
  for (const auto& line : server_.dialogue()) {
    EXPECT_EQ(line.find("AUTH"), std::string::npos) << line;  // credentials never sent in clear
  }
  EXPECT_TRUE(contains(read(dir_ / "daemon.log"), "could not send the alert mail"));
}

TEST_F(EmailTest, SecretsAreRedactedInMails) {
  options_.secrets = {"scriptKEY42"};
  Logging& logging = open();
  logging.engine()->error("request failed: key scriptKEY42, smtp password smtp-Pa55word");
  ASSERT_TRUE(server_.wait_for_mails(1, 10s));
  auto data = server_.mails()[0].data;
  EXPECT_FALSE(contains(data, "scriptKEY42"));
  EXPECT_FALSE(contains(data, "smtp-Pa55word"));
  EXPECT_TRUE(contains(data, "key ********, smtp password ********"));
}

TEST_F(EmailTest, NoAuthWithoutUsername) {
  options_.email.smtp.username.clear();
  options_.email.smtp.password.clear();
  Logging& logging = open();
  logging.engine()->error("x");
  ASSERT_TRUE(server_.wait_for_mails(1, 10s));
  EXPECT_TRUE(server_.mails()[0].auth_mechanism.empty());
}

TEST(SmtpUrl, SchemesAndPorts) {
  SmtpSettings s;
  s.server = "mail.example.com";
  EXPECT_EQ(smtp_url(s), "smtp://mail.example.com:25");
  s.port = 587;
  EXPECT_EQ(smtp_url(s), "smtp://mail.example.com:587");
  s.server = "smtps://mail.example.com";
  s.port = 25;
  EXPECT_EQ(smtp_url(s), "smtps://mail.example.com:465");
  s.server = "smtp://mail.example.com:2525/";
  EXPECT_EQ(smtp_url(s), "smtp://mail.example.com:2525");
  s.server = "[::1]";
  EXPECT_EQ(smtp_url(s), "smtp://[::1]:25");
}

TEST(ComposeMessage, HeadersCrlfAndLongLines) {
  Mail mail{"a@x",
            {"b@x", "c@x"},
            "subject\r\nBcc: evil@x",
            "line1\nline2\n" + std::string(2000, 'z'),
            std::chrono::system_clock::from_time_t(1704164645)};
  std::string text = compose_message(mail);
  EXPECT_TRUE(contains(text, "Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n"));
  EXPECT_TRUE(contains(text, "To: b@x, c@x\r\n"));
  EXPECT_TRUE(contains(text, "Subject: subject  Bcc: evil@x\r\n"));  // no header injection
  EXPECT_TRUE(contains(text, "\r\n\r\nline1\r\nline2\r\n"));
  EXPECT_TRUE(contains(text, std::string(990, 'z') + "\r\n"));
  EXPECT_FALSE(contains(text, std::string(991, 'z')));
}

}  // namespace
}  // namespace sgeventd::log
