// Error mails, sent off the logging thread. Records are handed over in O(1) under a mutex;
// a sender thread applies the digest policy (digest.h) and talks SMTP. The queue of mails is
// bounded; a mail that cannot be sent after a few attempts, or that finds the queue full, is
// dropped and reported as a WARNING through `warn` (never emailed: warnings are below ERROR).
// Nothing here ever blocks the daemon on the network.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "log/digest.h"
#include "log/smtp.h"

namespace sgeventd::log {

struct EmailOptions {
  bool enabled = false;
  SmtpSettings smtp;
  std::string from;
  Recipients to;        // the config's `to`: the default recipients
  std::string subject;  // the prefix
  DigestPolicy digest;
  int attempts = 3;                               // per mail
  std::chrono::milliseconds retry_backoff{2000};  // doubled per attempt
  std::size_t queue_limit = 64;                   // mails waiting for the sender
};

// Sends one mail (tests substitute it); polls should_abort during the exchange.
using MailSender = std::function<::sgeventd::Expected<void, std::string>(
    const Mail& mail, const std::function<bool()>& should_abort)>;

class EmailAlerts {
 public:
  // `warn` receives the sender's problems (already free of the SMTP password).
  EmailAlerts(EmailOptions options, std::function<void(const std::string&)> warn,
              MailSender sender = {});
  ~EmailAlerts();  // stop({}): pending digests get no grace
  EmailAlerts(const EmailAlerts&) = delete;
  EmailAlerts& operator=(const EmailAlerts&) = delete;

  const Recipients& default_recipients() const { return options_.to; }

  // Never waits for the network. Ignored after stop() and for an empty recipient list.
  void submit(const Recipients& to, Alert alert);

  // Sends pending digests and queued mails for at most `grace`, then abandons the rest.
  void stop(std::chrono::milliseconds grace);

  std::size_t mails_sent() const { return sent_; }
  std::size_t mails_dropped() const { return dropped_; }

 private:
  void run();
  void enqueue_locked(OutgoingMail mail);
  bool send_with_retries(const OutgoingMail& mail, std::unique_lock<std::mutex>& lock);
  bool abandon_locked() const;

  EmailOptions options_;
  std::function<void(const std::string&)> warn_;
  MailSender sender_;

  std::mutex mutex_;
  std::condition_variable wake_;
  DigestBatcher batcher_;
  std::deque<OutgoingMail> queue_;
  std::size_t dropped_unreported_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  std::atomic<std::size_t> sent_{0};
  std::atomic<std::size_t> dropped_{0};
  std::thread thread_;
};

}  // namespace sgeventd::log
