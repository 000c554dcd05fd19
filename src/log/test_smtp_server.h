// A tiny SMTP server for tests: 127.0.0.1 on a free port, one connection at a time, the line
// dialogue of RFC 5321 that libcurl speaks (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT),
// recording what it was told. No TLS: STARTTLS is not offered.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sgeventd::log::testing {

struct ReceivedMail {
  std::string auth_mechanism;  // "PLAIN", "LOGIN" or empty
  std::string username;
  std::string password;
  std::string mail_from;  // the address inside <>
  std::vector<std::string> rcpt_to;
  std::string data;  // the message, dot-unstuffed, CRLF kept
};

class TestSmtpServer {
 public:
  TestSmtpServer();
  ~TestSmtpServer();
  TestSmtpServer(const TestSmtpServer&) = delete;
  TestSmtpServer& operator=(const TestSmtpServer&) = delete;

  int port() const { return port_; }
  std::vector<ReceivedMail> mails() const;
  std::vector<std::string> dialogue() const;  // every line the client sent
  // Bounded wait for at least `count` mails.
  bool wait_for_mails(std::size_t count, std::chrono::milliseconds timeout) const;

 private:
  void serve();
  void handle(int fd);

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<ReceivedMail> mails_;
  std::vector<std::string> dialogue_;
  std::thread thread_;
};

// A loopback port with nothing listening on it (bound, then closed).
int unused_port();

}  // namespace sgeventd::log::testing
