// One mail over SMTP with libcurl: smtp:// (STARTTLS required when use_tls), or smtps://
// (TLS from the first byte) when the server is given with that scheme; AUTH with the
// username and password when a username is set.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::log {

struct SmtpSettings {
  std::string server;  // "host", "host:port", "smtp://host[:port]" or "smtps://host[:port]"
  int port = 25;       // used when the server names none (smtps:// with 25 means 465)
  bool use_tls = false;
  std::string username;
  std::string password;
  std::chrono::milliseconds connect_timeout{5000};  // the original's smtplib timeout
  std::chrono::milliseconds timeout{20000};         // the whole exchange
};

struct Mail {
  std::string from;
  std::vector<std::string> to;
  std::string subject;
  std::string body;  // "\n" line ends; sent as CRLF
  std::chrono::system_clock::time_point date;
};

// The URL libcurl is given, e.g. "smtp://mail.example.com:25".
std::string smtp_url(const SmtpSettings& settings);

// Headers (Date, From, To, Subject, MIME) and the body, CRLF line ends, lines longer than SMTP's
// limit broken.
std::string compose_message(const Mail& mail);

// Sends one mail. `should_abort` is polled during the exchange (shutdown). The error never
// contains the password (libcurl does not echo it).
::sgeventd::Expected<void, std::string> send_mail(const SmtpSettings& settings, const Mail& mail,
                                                  const std::function<bool()>& should_abort = {});

}  // namespace sgeventd::log
